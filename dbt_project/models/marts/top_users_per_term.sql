-- The 10 most engaging authors of each watchlist key (ties broken by tweets, then user id).
with per_author as (
    select h.watch_key, t.author_id, count(*) as tweets, sum(t.engagement) as engagement
    from {{ ref('stg_watch_hits') }} h
    join {{ ref('stg_tweets') }} t using (tweet_id)
    group by 1, 2
),
ranked as (
    select *, row_number() over (partition by watch_key order by engagement desc, tweets desc, author_id) as rank
    from per_author
)
select r.watch_key, r.rank, r.author_id, u.username, u.followers_count, r.tweets, r.engagement
from ranked r
left join {{ ref('stg_users') }} u on u.user_id = r.author_id
where r.rank <= 10
