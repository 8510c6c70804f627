"""How the collection of one (key, day) partition ended: what a researcher needs to trust a day.

- ``complete``: X's end was reached: the timeline ran out (no next cursor, a repeated cursor, two empty
  pages) or, for an account's timeline, it was paged back past the day;
- ``truncated``: the key's budget (its ``budget`` parameter, by default ``XGET_X_MAX_PAGES_PER_PARTITION``
  pages) was spent and X still had a next page: the day holds more than the lake does. A key with the
  budget ``all`` is never truncated;
- ``failed``: the collection stopped on an error (no usable account, X failing past the retries, the
  circuit open, an unknown account, X serving unreadable pages at one cursor, the run interrupted).

The outcome is of the partition, not of one run: a session resumed over several runs (``scrape.py``)
reports the whole session: its pages and items are counted over every run it took, and its outcome is how
the last run ended it. A re-run of a partition whose session had finished is a new session, a new
observation of the day: its outcome replaces the old one.

What the outcome judges is the day's tweets (the search, or the account's timeline or search by author).
A ``list:`` or ``community:`` key judges each of its timelines (``judged_all``): members, moderators and
the community's info in today's partition, the day's tweets always; the worst of them is the outcome. A
``followers:``/``following:`` key judges its snapshot's crawl: ``complete`` in the run that reached X's end
of the list, ``truncated`` while the snapshot continues next run, and ``items`` counts the snapshot's users
so far (``follow_crawl.py``).
An ``@account``'s profile page and today's Followers/Following pages are counted in ``pages`` but never
make a partition truncated: the follow pages are a sample of now capped on purpose
(``XGET_X_FOLLOW_PAGES``), not a part of the day left behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from xget_pipelines.core.x.pagination import Stop

COMPLETE = "complete"
TRUNCATED = "truncated"
FAILED = "failed"
OUTCOMES = (COMPLETE, TRUNCATED, FAILED)


@dataclass(frozen=True)
class CollectionOutcome:
    """The latest outcome of one (watch_key, day) partition; one row of ``ops/coverage``.

    ``pages``: pages the partition's session stored, over every run it took (the profile and follow pages
    of an ``@account`` included). ``items``: distinct tweets of the day those pages landed in the lake: a
    search's results, an account's own tweets (and retweets) created that day. ``max_pages``: the pages the
    day's timeline was allowed (0: no page bound, the budget ``all``); ``budget``: the key's budget in
    words (``50 pages``, ``2000 items``, ``all``; None on rows written before budgets existed).
    ``reason`` says in words why it ended (the error, for ``failed``).
    """

    watch_key: str
    day: dt.date
    outcome: str
    reason: str
    pages: int
    items: int
    max_pages: int
    session_id: str
    run_id: str
    resumed: bool
    finished_at: dt.datetime
    budget: str | None = None


def judged(stop: Stop | None, budget: object) -> tuple[str, str]:
    """(outcome, reason) of a day's timeline that stopped for ``stop``; ``budget`` as it reads (``50 pages``,
    ``watch.Budget``)."""
    if stop is Stop.END:
        return COMPLETE, "X's end of the timeline reached"
    if stop is Stop.LOWER_BOUND:
        return COMPLETE, "the timeline was paged back past the day"
    if stop is Stop.BUDGET:
        return TRUNCATED, f"stopped at the budget ({budget}) with more to fetch"
    if stop is Stop.MALFORMED:
        return FAILED, "X kept serving unreadable pages at one cursor"
    return FAILED, "the timeline was not collected"


def judged_all(stops: dict[str, Stop | None], budget: object) -> tuple[str, str]:
    """(outcome, reason) of a key with several timelines (``{operation: why it stopped}``): failed if one
    failed, else truncated if one stopped at the budget, else complete; the reason names the operations."""
    verdicts = {op: judged(stop, budget) for op, stop in stops.items()}
    for name in (FAILED, TRUNCATED):
        hit = [op for op, (outcome, _) in verdicts.items() if outcome == name]
        if hit:
            return name, f"{verdicts[hit[0]][1]}: {', '.join(hit)}"
    return COMPLETE, f"X's end reached for {', '.join(stops)}"
