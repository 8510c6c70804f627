-- Merged tweets that are not native retweets, with their engagement and the UTC day they were posted.
select
    tweet_id,
    author_id,
    created_at,
    cast(created_at at time zone 'UTC' as date) as created_day,
    lang,
    text,
    is_quote,
    reply_to_tweet_id is not null as is_reply,
    like_count,
    retweet_count,
    reply_count,
    quote_count,
    coalesce(view_count, 0) as view_count,
    like_count + retweet_count + reply_count + quote_count as engagement,
    tombstone is not null as is_gone
from {{ source('lake', 'entities_tweets') }}
where not is_retweet
