"""When posts happen: a daily rhythm over the world's days, injected bursts, snowflake ids."""

from __future__ import annotations

import itertools
import random

from . import vocab
from .model import SENTIMENTS, Burst, snowflake

_HOUR_MS = 3_600_000
# Relative posting rate per UTC hour: quiet at night, busiest in the afternoon and evening.
# fmt: off
_HOURLY = (2.0, 1.6, 1.2, 1.0, 1.0, 1.3, 2.0, 3.0, 4.0, 4.6, 5.0, 5.0,
           5.0, 5.0, 5.0, 5.0, 5.0, 5.2, 5.4, 5.4, 5.0, 4.4, 3.6, 2.6)
# fmt: on


def tweet_times(rng: random.Random, count: int, start_ms: int, days: int) -> list[int]:
    """`count` timestamps over `days` days, denser in the (UTC) afternoon."""
    hours = rng.choices(range(24 * days), cum_weights=list(itertools.accumulate(_HOURLY * days)), k=count)
    return [start_ms + h * _HOUR_MS + rng.randrange(_HOUR_MS) for h in hours]


def plan_bursts(rng: random.Random, count: int, size: int, start_ms: int, end_ms: int) -> list[Burst]:
    """`count` bursts of `size` extra posts, each on its own term, lasting 2-6 hours."""
    terms = list(vocab.BURST_TERMS)
    rng.shuffle(terms)
    bursts = []
    for i in range(count):
        term = terms[i % len(terms)] + (str(i // len(terms) + 1) if i >= len(terms) else "")
        duration = rng.randrange(2 * _HOUR_MS, 6 * _HOUR_MS)
        begin = rng.randrange(start_ms, max(start_ms + 1, end_ms - duration))
        bias = rng.choice(SENTIMENTS)
        bursts.append(
            Burst(term="#" + term, start_ms=begin, end_ms=begin + duration, tweets=size, sentiment_bias=bias)
        )
    return bursts


def burst_times(rng: random.Random, burst: Burst) -> list[int]:
    peak = burst.start_ms + (burst.end_ms - burst.start_ms) * 0.3
    return [
        min(burst.end_ms - 1, int(rng.triangular(burst.start_ms, burst.end_ms, peak)))
        for _ in range(burst.tweets)
    ]


def assign_ids(times: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Sorts (ms, tag) pairs and gives each a snowflake id unique within its millisecond."""
    times.sort()
    out, last_ms, seq = [], None, 0
    for ms, tag in times:
        seq = seq + 1 if ms == last_ms else 0
        last_ms = ms
        out.append((snowflake(ms, seq), ms, tag))
    return out
