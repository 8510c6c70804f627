-- Which watchlist key collected which tweet (its own search hits and timeline entries), once per pair.
select distinct watch_key, tweet_id
from {{ source('lake', 'cleaned_tweets') }}
where via = 'timeline'
