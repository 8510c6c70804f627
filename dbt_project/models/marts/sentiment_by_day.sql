-- Sentiment per day over every watchlist key (weighted by tweets), for the newest model version scored.
with latest as (
    select model_version from {{ source('lake', 'sentiment_daily') }}
    group by 1 order by max(day) desc, model_version desc limit 1
)
select
    d.day,
    d.model_version,
    sum(d.tweets) as tweets,
    sum(d.positive_share * d.tweets) / sum(d.tweets) as positive_share,
    sum(d.negative_share * d.tweets) / sum(d.tweets) as negative_share,
    sum(d.mean_score * d.tweets) / sum(d.tweets) as mean_score
from {{ source('lake', 'sentiment_daily') }} d
join latest using (model_version)
group by 1, 2
