-- Detected hashtag bursts per day (global and per watchlist key), strongest first.
select
    cast(bucket_start at time zone 'UTC' as date) as day,
    scope,
    name as hashtag,
    count(*) as burst_buckets,
    sum("count") as tweets,
    max(z) as peak_z,
    min(bucket_start) as first_bucket
from {{ source('lake', 'analytics_trends') }}
where burst and kind = 'hashtag'
group by 1, 2, 3
