-- One row per conversation a key's conversations:N expansion collected (cleaned_conversations): the shape of
-- its reply tree. A conversation collected by several keys or days counts each tweet once. depth is null for
-- a reply whose chain up to the root was not collected (a deleted or protected reply in between): such
-- replies count in replies and unlinked_replies, not in max_depth.
with tweets as (
    select
        conversation_id,
        tweet_id,
        any_value(parent_id) as parent_id,
        max(depth) as depth,
        any_value(author_id) as author_id,
        min(created_at) as created_at
    from {{ source('lake', 'cleaned_conversations') }}
    group by conversation_id, tweet_id
),

roots as (
    select conversation_id, author_id as root_author_id, created_at as root_created_at
    from tweets
    where tweet_id = conversation_id
)

select
    t.conversation_id,
    r.root_author_id,
    r.root_created_at,
    count(*) filter (where t.tweet_id <> t.conversation_id) as replies,
    count(*) filter (where t.depth = 1) as direct_replies,
    coalesce(max(t.depth), 0) as max_depth,
    count(distinct t.author_id) filter (where t.tweet_id <> t.conversation_id) as distinct_repliers,
    count(*) filter (
        where t.tweet_id <> t.conversation_id and t.author_id = r.root_author_id
    ) as root_author_replies,
    count(*) filter (where t.depth is null) as unlinked_replies,
    max(t.created_at) filter (where t.tweet_id <> t.conversation_id) as last_reply_at
from tweets as t
left join roots as r using (conversation_id)
group by t.conversation_id, r.root_author_id, r.root_created_at
