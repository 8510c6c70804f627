"""Watchlist keys and the X requests that collect one (key, day) partition.

A key is one of these kinds (``WatchKey.kind``):

- ``search``: anything that is not one of the kinds below: ``python``, ``#ai``, ``"exact phrase"``, or any
  X search expression such as ``climate lang:en min_faves:5``. SearchTimeline (Latest) for
  ``<key> since:<day> until:<day+1>``, paged to the end;
- ``account``: ``@handle``. UserByScreenName (the profile), then the account's tweets of the day. For the
  most recent days (``timeline_days``, default 2: today and yesterday) that is UserTweetsAndReplies paged
  back until a page holds nothing from the day (UserTweets would miss the replies); it also has the
  account's retweets and pinned tweet. Older days use SearchTimeline ``from:<handle> since:<day>
  until:<day+1>``: paging a timeline back N days costs pages in proportion to N for every partition,
  which does not scale to backfills;
- ``list``: ``list:<numeric id>`` (the digits of ``x.com/i/lists/<id>``). In today's partition the list's
  members (ListMembers, a snapshot of now, never for past days), and every day the list's tweets of the
  day: ListLatestTweetsTimeline paged back until a page holds nothing from the day (X has no search by
  list id that reaches old days, so an old day costs pages in proportion to its age);
- ``community``: ``community:<numeric id>`` (``x.com/i/communities/<id>``). In today's partition the
  community itself (CommunityQuery), its members and its moderators (membersSliceTimeline_Query,
  moderatorsSliceTimeline_Query: snapshots of now), and every day the posts made to it that day
  (CommunityTweetsTimeline with ``rankingMode: Recency``, newest first, paged back past the day);
- ``followers`` / ``following``: ``followers:@handle``, ``following:@handle``. A full snapshot of the
  account's follower (or following) list, crawled over as many runs of today's partition as it takes
  (``follow_crawl.py``): each run continues the current snapshot within the key's budget; when X's end is
  reached the snapshot is complete and dated, and the next run starts a new one. Past days collect
  nothing (a list of followers has no history on X).

``list:``, ``community:``, ``followers:`` and ``following:`` make a key of those kinds only when the whole key
is that one word: ``list:123 python`` stays a search (X's own ``list:`` search operator).

A key carries its collection parameters (``KeyParams``, stored with the watchlist entry, never in the key:
changing a budget must not make new partitions):

- ``budget``: how much of a day to collect: ``N pages`` (``N`` alone means pages), ``N items`` (tweets of
  the day's timeline), or ``all`` (to X's end, however many pages that takes). Unset: the deployment's
  ``XGET_X_MAX_PAGES_PER_PARTITION``. A day cut at its budget is recorded ``truncated`` in ``ops/coverage``;
- ``product``: the search tab, ``Latest`` (every tweet, newest first: what completeness means) or ``Top``
  (X's ranked selection). It applies to every SearchTimeline the key runs, an account's older days too.

- ``expand``: what else to collect around the day's tweets (``expand.py``), a list of:
  ``conversations:N`` (the whole reply tree under every collected tweet of the day with at least ``N``
  replies, N >= 1, default 1: TweetDetail paged to its end, then TweetDetail of every reply whose replies
  were not all shown), ``quotes`` (every tweet quoting a collected tweet with quotes: a search
  ``quoted_tweet_id:<id>``), ``retweeters:N`` (Retweeters of collected tweets with at least ``N``
  retweets, default 1) and ``media`` (an ``@account`` key's UserMedia tab of the day). Each runs after the
  day's main timeline in the same session, with a budget of its own equal to the key's budget.

For a list or a community the budget bounds each of its timelines (members, moderators, the day's tweets)
on its own; for a follower snapshot it is what one run may fetch (``all``: the whole list in one run).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from xget_pipelines.core.errors import InvalidField

_HANDLE = re.compile(r"^@[A-Za-z0-9_]{1,15}$")
_KIND_PREFIX = re.compile(r"^(list|community|followers|following):(\S*)$", re.IGNORECASE)
KINDS = ("search", "account", "list", "community", "followers", "following")
FOLLOW_KINDS = ("followers", "following")
# Characters Dagster refuses in partition keys, and separators of multi-partition keys.
_FORBIDDEN = ("|", ",", "[", "]", "\n", "\r", "\t", "...")


@dataclass(frozen=True)
class WatchKey:
    key: str
    kind: str  # one of KINDS (module docstring)

    @property
    def handle(self) -> str:
        """The account's handle without ``@`` (account, followers and following keys)."""
        return self.key.rsplit("@", 1)[1]

    @property
    def target_id(self) -> str:
        """The list's or community's numeric id (list and community keys)."""
        return self.key.split(":", 1)[1]


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
    prefixed = _KIND_PREFIX.match(text)
    if prefixed:
        return _prefixed_key(prefixed.group(1).lower(), prefixed.group(2), text)
    return WatchKey(text, "search")


def _prefixed_key(kind: str, value: str, text: str) -> WatchKey:
    """``list:<id>``, ``community:<id>``, ``followers:@handle`` or ``following:@handle``, normalised."""
    if kind in FOLLOW_KINDS:
        handle = value if value.startswith("@") else f"@{value}"
        if not _HANDLE.match(handle):
            raise ValueError(
                f"{text!r} names no X handle: write {kind}:@handle (1-15 letters, digits or underscores)"
            )
        return WatchKey(f"{kind}:{handle}", kind)
    page = "lists" if kind == "list" else "communities"
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise ValueError(
            f"{text!r} is not a {kind} key: give the {kind}'s numeric id, the digits of "
            f"x.com/i/{page}/<id> (e.g. {kind}:1494877848087187461)"
        )
    return WatchKey(f"{kind}:{int(value)}", kind)


PRODUCTS = ("Latest", "Top")
MAX_BUDGET = 1_000_000  # pages or items of one day: beyond any day X serves; "all" has no bound at all
_BUDGET = re.compile(r"^(\d+)\s*(pages?|items?|tweets?)?$")


class InvalidParams(InvalidField, ValueError):
    """A key parameter that cannot be used; ``field`` names it (``budget``, ``product``...)."""


@dataclass(frozen=True)
class Budget:
    """How much of one day a key collects: ``pages`` or ``items`` (exactly one), or neither: ``all``."""

    pages: int | None = None
    items: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.pages is None and self.items is None

    @property
    def page_limit(self) -> int | None:
        """Pages the day's timeline may take; None for ``all`` and for an item budget, which stops the paging
        once its items are counted (X fills its pages unevenly: a page count derived from items would stop
        short). The last page may hold a few more items than asked."""
        return self.pages

    def __str__(self) -> str:
        if self.pages is not None:
            return f"{self.pages} pages"
        if self.items is not None:
            return f"{self.items} items"
        return "all"


def parse_budget(value: object) -> Budget:
    """``all``, ``N``/``N pages`` or ``N items`` (an int is pages); InvalidParams otherwise."""
    text = str(value).strip().lower()
    if isinstance(value, bool):
        text = "?"
    if text == "all":
        return Budget()
    m = _BUDGET.match(text)
    if not m:
        raise InvalidParams(
            f"budget {value!r} is not a budget: use 'all', a number of pages ('50' or '50 pages') or of "
            "items ('2000 items')",
            "budget",
        )
    n = int(m.group(1))
    if not 1 <= n <= MAX_BUDGET:
        raise InvalidParams(
            f"budget {value!r} is out of range: between 1 and {MAX_BUDGET:,}, or 'all' for no bound",
            "budget",
        )
    return Budget(items=n) if (m.group(2) or "p").startswith(("i", "t")) else Budget(pages=n)


EXPANSIONS = ("conversations", "quotes", "retweeters", "media")
_THRESHOLDS = ("conversations", "retweeters")  # the expansions that take ``:N``
MAX_THRESHOLD = 100_000_000
# Kinds of key whose partitions collect tweets of the day (the ones the tweet expansions start from), and
# the kind whose account has a media tab.
TWEET_KINDS = ("search", "account", "list", "community")


@dataclass(frozen=True, order=True)
class Expansion:
    """One of ``EXPANSIONS``; ``threshold`` is the N of ``conversations:N`` / ``retweeters:N`` (replies or
    retweets a collected tweet needs to be expanded), 0 for the two that take none."""

    kind: str
    threshold: int = 0

    def __str__(self) -> str:
        return f"{self.kind}:{self.threshold}" if self.kind in _THRESHOLDS else self.kind


def parse_expansion(value: object) -> Expansion:
    """``conversations[:N]``, ``quotes``, ``retweeters[:N]`` or ``media``; InvalidParams otherwise."""
    text = str(value).strip().lower() if isinstance(value, str) else None
    if not text:
        raise InvalidParams(
            f"expand entry {value!r} is not an expansion: use one of {', '.join(_EXAMPLES)}", "expand"
        )
    kind, sep, number = text.partition(":")
    if kind not in EXPANSIONS:
        raise InvalidParams(
            f"expand entry {value!r} names no expansion: use one of {', '.join(_EXAMPLES)}", "expand"
        )
    if kind not in _THRESHOLDS:
        if sep:
            raise InvalidParams(
                f"expand entry {value!r}: {kind} takes no number, write just {kind}", "expand"
            )
        return Expansion(kind)
    if not sep:
        return Expansion(kind, 1)
    if not number.isascii() or not number.isdigit() or not 1 <= int(number) <= MAX_THRESHOLD:
        what = "replies" if kind == "conversations" else "retweets"
        raise InvalidParams(
            f"expand entry {value!r}: N in {kind}:N is the {what} a tweet needs, a whole number from 1 to "
            f"{MAX_THRESHOLD:,}",
            "expand",
        )
    return Expansion(kind, int(number))


_EXAMPLES = ("conversations:N", "quotes", "retweeters:N", "media")


def parse_expand(value: object) -> tuple[Expansion, ...]:
    """A list of expansions (strings), each kind at most once, in ``EXPANSIONS`` order."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise InvalidParams(
            f'expand {value!r} is not a list: give a list of expansions, e.g. ["conversations:5", '
            '"media"] (the CLI: --expand conversations:5 --expand media)',
            "expand",
        )
    if len(value) > len(EXPANSIONS):
        raise InvalidParams(
            f"expand lists {len(value)} entries: there are {len(EXPANSIONS)} expansions "
            f"({', '.join(_EXAMPLES)}), give each at most once",
            "expand",
        )
    parsed = [parse_expansion(v) for v in value]
    kinds = [e.kind for e in parsed]
    twice = sorted({k for k in kinds if kinds.count(k) > 1})
    if twice:
        raise InvalidParams(f"expand names {twice[0]} more than once: give each expansion once", "expand")
    return tuple(sorted(parsed, key=lambda e: EXPANSIONS.index(e.kind)))


@dataclass(frozen=True)
class KeyParams:
    """A key's collection parameters (module docstring); the defaults collect as XGet always did."""

    budget: Budget | None = None  # None: the deployment's XGET_X_MAX_PAGES_PER_PARTITION pages
    product: str = "Latest"
    expand: tuple[Expansion, ...] = ()

    def expansion(self, kind: str) -> Expansion | None:
        return next((e for e in self.expand if e.kind == kind), None)

    def budget_or(self, default_pages: int) -> Budget:
        return self.budget if self.budget is not None else Budget(pages=default_pages)

    def to_json(self) -> dict:
        """The stored form (only what differs from the defaults)."""
        out: dict = {}
        if self.budget is not None:
            out["budget"] = str(self.budget)
        if self.product != "Latest":
            out["product"] = self.product
        if self.expand:
            out["expand"] = [str(e) for e in self.expand]
        return out


PARAM_NAMES = ("budget", "product", "expand")


def parse_params(values: Mapping[str, object] | None) -> KeyParams:
    """Validate a key's parameters (from the CLI, the API or the database); InvalidParams names the one
    at fault. Unknown names are refused: a parameter XGet would ignore must not look accepted."""
    values = dict(values or {})
    unknown = sorted(set(values) - set(PARAM_NAMES))
    if unknown:
        raise InvalidParams(
            f"unknown key parameter {unknown[0]!r}: the parameters are {', '.join(PARAM_NAMES)}", unknown[0]
        )
    budget = values.get("budget")
    product = values.get("product")
    if product is None:
        product = "Latest"
    matched = [p for p in PRODUCTS if str(product).strip().lower() == p.lower()]
    if not matched:
        tabs = " or ".join(PRODUCTS)
        raise InvalidParams(f"product {product!r} is not a search tab: use {tabs}", "product")
    return KeyParams(
        budget=None if budget is None else parse_budget(budget),
        product=matched[0],
        expand=parse_expand(values.get("expand")),
    )


def check_for_key(key: str, params: KeyParams) -> None:
    """InvalidParams (``expand``) when an expansion cannot apply to ``key``'s kind: ``media`` needs an
    ``@account`` key; the tweet expansions need a key whose days collect tweets (not a follower snapshot)."""
    kind = parse_watch_key(key).kind
    for e in params.expand:
        if e.kind == "media" and kind != "account":
            raise InvalidParams(
                f"expand media is an account's media tab: it needs an @handle key, and {key!r} is a "
                f"{kind} key",
                "expand",
            )
        if e.kind != "media" and kind not in TWEET_KINDS:
            raise InvalidParams(
                f"expand {e} starts from the day's tweets, and a {kind}: key collects none: drop it",
                "expand",
            )


def use_timeline(day: dt.date, timeline_days: int, today: dt.date | None = None) -> bool:
    today = today or dt.datetime.now(dt.UTC).date()
    return (today - day).days < timeline_days


def search_query(key: WatchKey, day: dt.date) -> str:
    term = f"from:{key.handle}" if key.kind == "account" else key.key
    return f"{term} since:{day.isoformat()} until:{(day + dt.timedelta(days=1)).isoformat()}"


def search_variables(query: str, count: int, product: str = "Latest") -> dict:
    return {"rawQuery": query, "count": count, "product": product, "querySource": "typed_query"}


def user_by_screen_name_variables(handle: str) -> dict:
    return {"screen_name": handle, "withSafetyModeUserFields": True}


def list_members_variables(list_id: str, count: int) -> dict:
    return {"listId": str(list_id), "count": count}


def list_tweets_variables(list_id: str, count: int) -> dict:
    return {"listId": str(list_id), "count": count}


def community_variables(community_id: str) -> dict:
    return {"communityId": str(community_id)}


def community_slice_variables(community_id: str, count: int) -> dict:
    """Variables of membersSliceTimeline_Query and moderatorsSliceTimeline_Query."""
    return {"communityId": str(community_id), "count": count, "includePromotedContent": False}


def community_tweets_variables(community_id: str, count: int) -> dict:
    """CommunityTweetsTimeline newest first (``Recency``): ``Relevance``, the web client's default, ranks by
    likes, and only a newest-first timeline can be paged back until it is past a day. ``Recency`` with
    ``displayLocation: Community`` is what gallery-dl's twitter extractor sends for a community's posts."""
    return {
        "communityId": str(community_id),
        "count": count,
        "displayLocation": "Community",
        "rankingMode": "Recency",
        "withCommunity": True,
        "includePromotedContent": False,
        "withQuickPromoteEligibilityTweetFields": True,
        "withVoice": True,
        "withV2Timeline": True,
    }


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


def tweet_detail_variables(tweet_id: str | int) -> dict:
    """TweetDetail of a post and its replies: the request of the capture raw_tweet_thread.json (twscrape's
    ``tweet_thread``: ``referrer=profile``, no injections). It takes no ``count``: X sets the page size."""
    return {
        "focalTweetId": str(tweet_id),
        "referrer": "profile",
        "with_rux_injections": False,
        "includePromotedContent": False,
        "withCommunity": True,
        "withQuickPromoteEligibilityTweetFields": True,
        "withBirdwatchNotes": True,
        "withVoice": True,
        "withV2Timeline": True,
    }


def retweeters_variables(tweet_id: str | int, count: int) -> dict:
    return {"tweetId": str(tweet_id), "count": count, "includePromotedContent": False}


def quotes_query(tweet_id: str | int) -> str:
    """X's search operator for the posts quoting one post (igorbrigadir/twitter-advanced-search#15,
    JustAnotherArchivist/snscrape#540)."""
    return f"quoted_tweet_id:{tweet_id}"


def user_media_variables(user_id: str, count: int) -> dict:
    return {
        "userId": str(user_id),
        "count": count,
        "includePromotedContent": False,
        "withClientEventToken": False,
        "withBirdwatchNotes": False,
        "withVoice": True,
        "withV2Timeline": True,
    }
