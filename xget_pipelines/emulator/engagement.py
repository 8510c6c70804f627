"""Engagement counts as a deterministic, monotone function of a tweet and the fetch time.

Two terms, both non-decreasing in time, so a count never goes down between fetches:
  * a saturating term: a post collects most of its final likes in its first day;
  * a growth term proportional to the time since the server started, scaled by
    `growth_per_hour`, so even old posts visibly change while a pipeline is running
    (tests use a large rate to see growth within seconds).
Counts of replies, quotes and retweets never fall below the number the world really holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Tweet

_HOUR_MS = 3_600_000.0
_HALF_LIFE_H = 6.0


@dataclass(frozen=True, slots=True)
class Counts:
    likes: int
    retweets: int
    replies: int
    quotes: int
    bookmarks: int
    views: int


class Engagement:
    def __init__(self, started_ms: int, growth_per_hour: float = 1.0):
        self.started_ms = started_ms
        self.growth_per_hour = growth_per_hour

    def _factors(self, tweet: Tweet, now_ms: int) -> tuple[float, float]:
        age_h = max(0.0, (now_ms - tweet.ms) / _HOUR_MS)
        saturation = age_h / (age_h + _HALF_LIFE_H)
        growth = self.growth_per_hour * max(0.0, (now_ms - self.started_ms) / _HOUR_MS)
        return saturation, growth

    def counts(self, tweet: Tweet, now_ms: int) -> Counts:
        if tweet.retweeted is not None:
            # A retweet wrapper shows the original's retweet count and nothing of its own.
            original = self.counts(tweet.retweeted, now_ms)
            sat, growth = self._factors(tweet, now_ms)
            return Counts(0, original.retweets, 0, 0, 0, int(original.views * 0.01 * sat + growth))
        sat, growth = self._factors(tweet, now_ms)
        pop = tweet.pop
        followers = len(tweet.author.followers)
        return Counts(
            likes=int(pop * sat + pop * 0.02 * growth),
            retweets=len(tweet.retweeters) + int(pop * 0.15 * sat + pop * 0.004 * growth),
            replies=len(tweet.replies) + int(pop * 0.05 * sat + pop * 0.001 * growth),
            quotes=tweet.n_quotes + int(pop * 0.02 * sat + pop * 0.0005 * growth),
            bookmarks=int(pop * 0.04 * sat + pop * 0.001 * growth),
            views=1 + int((pop * 30 + followers * 2) * sat + (pop * 0.6 + 1) * growth),
        )
