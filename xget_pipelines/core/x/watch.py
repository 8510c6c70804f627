"""Watchlist keys and the X requests that collect one (key, day) partition.

A key is either a tracked account (``@handle``) or a search (anything else: ``python``, ``#ai``,
``"exact phrase"``, or any X search expression such as ``climate lang:en min_faves:5``).

- search keys: SearchTimeline (Latest) for ``<key> since:<day> until:<day+1>``, paged to the end;
- account keys: UserByScreenName (the profile), then the account's tweets of the day. For the most
  recent days (``timeline_days``, default 2: today and yesterday) that is UserTweetsAndReplies paged
  back until a page holds nothing from the day (UserTweets would miss the replies); it also has the
  account's retweets and pinned tweet. Older days
  use SearchTimeline ``from:<handle> since:<day> until:<day+1>``: paging a timeline back N days costs
  pages in proportion to N for every partition, which does not scale to backfills.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_HANDLE = re.compile(r"^@[A-Za-z0-9_]{1,15}$")
# Characters Dagster refuses in partition keys, and separators of multi-partition keys.
_FORBIDDEN = ("|", ",", "[", "]", "\n", "\r", "\t", "...")


@dataclass(frozen=True)
class WatchKey:
    key: str
    kind: str  # "search" | "account"

    @property
    def handle(self) -> str:
        return self.key[1:]


def parse_watch_key(key: str) -> WatchKey:
    """Validate a watchlist key; raises ValueError naming the problem."""
    text = key.strip()
    if not text:
        raise ValueError("a watchlist key cannot be empty: give a search term or an @handle")
    if len(text) > 200:
        raise ValueError(f"watchlist key too long ({len(text)} chars, at most 200): {text[:40]!r}...")
    bad = [c for c in _FORBIDDEN if c in text]
    if bad:
        raise ValueError(f"watchlist key {text!r} contains {bad[0]!r}, which partition keys cannot hold")
    if text.startswith("@"):
        if not _HANDLE.match(text):
            raise ValueError(f"{text!r} is not an X handle: 1-15 letters, digits or underscores after @")
        return WatchKey(text, "account")
    return WatchKey(text, "search")


def use_timeline(day: dt.date, timeline_days: int, today: dt.date | None = None) -> bool:
    today = today or dt.datetime.now(dt.UTC).date()
    return (today - day).days < timeline_days


def search_query(key: WatchKey, day: dt.date) -> str:
    term = f"from:{key.handle}" if key.kind == "account" else key.key
    return f"{term} since:{day.isoformat()} until:{(day + dt.timedelta(days=1)).isoformat()}"


def search_variables(query: str, count: int) -> dict:
    return {"rawQuery": query, "count": count, "product": "Latest", "querySource": "typed_query"}


def user_by_screen_name_variables(handle: str) -> dict:
    return {"screen_name": handle, "withSafetyModeUserFields": True}


def follows_variables(user_id: str, count: int) -> dict:
    """Variables of Followers and Following (the same shape for both)."""
    return {"userId": str(user_id), "count": count, "includePromotedContent": False}


def user_tweets_variables(user_id: str, count: int) -> dict:
    return {
        "userId": str(user_id),
        "count": count,
        "includePromotedContent": False,
        "withQuickPromoteEligibilityTweetFields": True,
        "withVoice": True,
        "withV2Timeline": True,
    }


def about_account_variables(handle: str) -> dict:
    """AboutAccountQuery's variables: the handle only (what X's web client and twscrape's ``user_about``
    send)."""
    return {"screenName": handle.lstrip("@")}
