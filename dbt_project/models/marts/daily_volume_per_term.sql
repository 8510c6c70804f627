-- Tweets, authors and engagement per watchlist key and UTC day (the day the tweets were posted).
select
    h.watch_key,
    t.created_day as day,
    count(*) as tweets,
    count(distinct t.author_id) as authors,
    sum(t.engagement) as engagement,
    sum(case when t.is_reply then 1 else 0 end) as replies,
    sum(case when t.is_gone then 1 else 0 end) as gone
from {{ ref('stg_watch_hits') }} h
join {{ ref('stg_tweets') }} t using (tweet_id)
group by 1, 2
