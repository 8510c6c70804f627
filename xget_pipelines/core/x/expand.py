"""A key's expansions (``watch.KeyParams.expand``): what is collected around the day's tweets.

They run in ``scrape_partition`` after the day's main timeline, in the same session, so they resume like
the rest: their pages go to ``raw/x_pages`` with targets of their own (``expand:<kind>:<what>``, never a
key's timeline: they count neither as the day's items nor as its main timeline's pages when resuming).

- ``conversations:N``: for every collected tweet of the day with at least N replies (``reply_count`` as
  collected), TweetDetail with it as the focal post, paged to X's end: the replies come as
  ``conversationthread-`` modules, the next page behind a Bottom or ``ShowMoreThreads`` ("Show more
  replies") cursor (raw_tweet_details.json, card_poll.json). A module shows a reply with at most a few of
  its own replies; X hides the rest behind a "Show replies" item (``ShowMore`` cursor inside the module,
  card_poll.json, _issue_56.json) that opens the reply's own thread. XGet opens that thread the way a
  reader's click does: TweetDetail with the reply as the focal post, for every reply of the conversation
  whose ``reply_count`` is above the replies of it already collected, until none is. Every reply of the
  tree is then collected once per focal page it shows on (cleaning keeps one row per tweet);
- ``quotes``: for every collected tweet with quotes, the search ``quoted_tweet_id:<id>`` (the key's
  product) paged to the end: the quote tweets of any day, as tweets with ``quoted_tweet_id``;
- ``retweeters:N``: Retweeters of every collected tweet with at least N retweets, paged to the end;
- ``media``: an ``@account`` key's UserMedia tab paged back until past the day.

Budget: each expansion has a budget of its own, equal to the key's (``N pages``: N pages over all the
expansion's requests; ``N items``: N content entries; ``all``: none), so an expansion can neither starve
the day's timeline nor another expansion. An expansion that stops at its budget with more to fetch makes
the day ``truncated``, its reason naming the expansion (``outcome.judged_all``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow.compute as pc

from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import FetchedPage, XClient
from xget_pipelines.core.x.cursors import summarize_page
from xget_pipelines.core.x.pagination import Stop
from xget_pipelines.core.x.raw_pages import EXPAND_PREFIX, ITEM_OPERATIONS, RAW_TABLE, Resume, newest_tweet
from xget_pipelines.core.x.watch import Budget, Expansion, KeyParams, WatchKey

OPERATIONS = {
    "conversations": "TweetDetail",
    "quotes": "SearchTimeline",
    "retweeters": "Retweeters",
    "media": "UserMedia",
}


def target(kind: str, what: object) -> str:
    """The ``target`` of an expansion's pages in ``raw/x_pages``."""
    return f"{EXPAND_PREFIX}{kind}:{what}"


@dataclass(frozen=True)
class DayTweet:
    """A tweet of the day's main timeline and its counts as collected (the largest seen)."""

    tweet_id: int
    replies: int
    retweets: int
    quotes: int


def day_tweets(lake: Lake, day: dt.date, key: str, session_id: str, author_id: str | None) -> list[DayTweet]:
    """The tweets of ``day`` on the session's main-timeline pages (an account's: its own, retweets left out:
    a retweet's replies and quotes are its original's), ascending id."""
    from xget_pipelines.core.x.parse import parse_page

    pages = lake.read(
        RAW_TABLE,
        {"day": day, "watch_key": key, "session_id": session_id, "operation": list(ITEM_OPERATIONS)},
        columns=["operation", "target", "malformed", "body"],
    )
    found: dict[int, DayTweet] = {}
    for row in pages.to_pylist() if pages is not None else []:
        if row["malformed"] or (row["target"] or "").startswith(EXPAND_PREFIX):
            continue
        tweets = parse_page(row["body"], row["operation"]).tweets
        for t in tweets.filter(pc.equal(tweets["via"], "timeline")).to_pylist():
            created = t["created_at"]
            if t["is_retweet"] or created is None or created.astimezone(dt.UTC).date() != day:
                continue
            if author_id is not None and str(t["author_id"]) != author_id:
                continue
            old = found.get(t["tweet_id"])
            replies, retweets, quotes = t["reply_count"], t["retweet_count"], t["quote_count"]
            if old is not None:
                replies, retweets = max(replies, old.replies), max(retweets, old.retweets)
                quotes = max(quotes, old.quotes)
            found[t["tweet_id"]] = DayTweet(t["tweet_id"], replies, retweets, quotes)
    return [found[i] for i in sorted(found)]


class Allowance:
    """What one expansion may still fetch: the key's budget, spent over all the expansion's requests (the
    pages a resumed session already stored included)."""

    def __init__(self, budget: Budget, pages: int = 0, items: int = 0):
        self.budget, self.pages, self.items = budget, pages, items

    @property
    def pages_left(self) -> int | None:
        return None if self.budget.pages is None else max(self.budget.pages - self.pages, 0)

    @property
    def items_left(self) -> int | None:
        return None if self.budget.items is None else max(self.budget.items - self.items, 0)

    @property
    def spent(self) -> bool:
        return self.pages_left == 0 or self.items_left == 0

    def spend(self, page: FetchedPage) -> None:
        self.pages += 1
        self.items += 0 if page.malformed else page.summary.content_entries


@dataclass
class _Tree:
    """The replies seen so far: parent and ``reply_count`` of each tweet, and how many of its replies were
    collected."""

    parent: dict[int, int | None] = field(default_factory=dict)
    replies: dict[int, int] = field(default_factory=dict)
    children: dict[int, set[int]] = field(default_factory=dict)

    def add(self, body: bytes) -> None:
        from xget_pipelines.core.x.parse import MalformedPage, parse_page

        try:
            tweets = parse_page(body, "TweetDetail").tweets
        except MalformedPage:
            return
        for t in tweets.filter(pc.equal(tweets["via"], "timeline")).to_pylist():
            tid, parent = t["tweet_id"], t["reply_to_tweet_id"]
            self.parent[tid] = parent
            self.replies[tid] = max(self.replies.get(tid, 0), t["reply_count"] or 0)
            if parent is not None:
                self.children.setdefault(parent, set()).add(tid)

    def under(self, tid: int, root: int) -> bool:
        seen = set()
        while tid is not None and tid not in seen:
            if tid == root:
                return True
            seen.add(tid)
            tid = self.parent.get(tid)
        return False

    def unopened(self, root: int) -> list[int]:
        """Tweets under ``root`` (itself included) with replies X counts and the tree does not hold yet."""
        return sorted(
            tid
            for tid, count in self.replies.items()
            if count > len(self.children.get(tid, ())) and self.under(tid, root)
        )


class Expander:
    """Runs a key's expansions for one (key, day) session (module docstring)."""

    def __init__(
        self,
        client: XClient,
        lake: Lake,
        resume: Resume,
        *,
        key: WatchKey,
        day: dt.date,
        session_id: str,
        params: KeyParams,
        budget: Budget,
        page_size: int,
        record: Callable[[FetchedPage, str], None],
    ):
        self.client, self.lake, self.resume = client, lake, resume
        self.key, self.day, self.session_id = key, day, session_id
        self.params, self.budget, self.page_size, self.record = params, budget, page_size, record

    def run(self, user_id: str | None) -> dict[str, Stop | None]:
        """``{expansion: why it stopped}`` for every expansion of the key."""
        stops: dict[str, Stop | None] = {}
        tweets: list[DayTweet] | None = None
        for exp in self.params.expand:
            allowance = self._allowance(exp.kind)
            if exp.kind == "media":
                stops[str(exp)] = self._media(user_id, allowance)
                continue
            if tweets is None:
                author = user_id if self.key.kind == "account" else None
                tweets = day_tweets(self.lake, self.day, self.key.key, self.session_id, author)
            expand = {"conversations": self._conversations, "quotes": self._quotes}.get(exp.kind)
            stops[str(exp)] = (expand or self._retweeters)(exp, tweets, allowance)
        return stops

    # -- the expansions ---------------------------------------------------------------------------------

    def _conversations(self, exp: Expansion, tweets: list[DayTweet], allowance: Allowance) -> Stop | None:
        tree = _Tree()
        for body in self._stored_bodies("conversations"):
            tree.add(body)
        asked: set[int] = set()  # focal posts asked for: a collected reply under another root is asked once
        for root in (t.tweet_id for t in tweets if t.replies >= exp.threshold):
            queue = [] if root in asked else [root]
            while queue:
                focal = queue.pop(0)
                asked.add(focal)
                stop = self._page(
                    "TweetDetail",
                    watch.tweet_detail_variables(focal),
                    target("conversations", focal),
                    allowance,
                    observe=tree.add,
                )
                if stop is not Stop.END:
                    return stop
                queue = [t for t in tree.unopened(root) if t not in asked]
        return Stop.END

    def _quotes(self, exp: Expansion, tweets: list[DayTweet], allowance: Allowance) -> Stop | None:
        for t in tweets:
            if t.quotes < 1:
                continue
            query = watch.quotes_query(t.tweet_id)
            variables = watch.search_variables(query, self.page_size, self.params.product)
            stop = self._page("SearchTimeline", variables, target("quotes", t.tweet_id), allowance)
            if stop is not Stop.END:
                return stop
        return Stop.END

    def _retweeters(self, exp: Expansion, tweets: list[DayTweet], allowance: Allowance) -> Stop | None:
        for t in tweets:
            if t.retweets < exp.threshold:
                continue
            variables = watch.retweeters_variables(t.tweet_id, self.page_size)
            stop = self._page("Retweeters", variables, target("retweeters", t.tweet_id), allowance)
            if stop is not Stop.END:
                return stop
        return Stop.END

    def _media(self, user_id: str | None, allowance: Allowance) -> Stop | None:
        if user_id is None:  # an account key without its profile: the collection failed before this
            return None
        start = dt.datetime.combine(self.day, dt.time(), dt.UTC)
        stop = self._page(
            "UserMedia",
            watch.user_media_variables(user_id, self.page_size),
            target("media", self.key.key),
            allowance,
            reaches=lambda body: newest_tweet(body, "UserMedia") >= start,
        )
        return Stop.END if stop is Stop.LOWER_BOUND else stop

    # -- paging -----------------------------------------------------------------------------------------

    def _page(
        self,
        operation: str,
        variables: dict,
        where: str,
        allowance: Allowance,
        reaches: Callable[[bytes], bool] | None = None,
        observe: Callable[[bytes], None] | None = None,
    ) -> Stop | None:
        """Page one timeline of an expansion from where the session left it, within ``allowance``."""
        cursor, _, empty_before, stopped = self.resume.point(operation, None, reaches, where)
        if stopped is not None:
            return stopped
        if allowance.spent:
            return Stop.BUDGET
        pages = self.client.paginate(
            operation,
            variables,
            cursor=cursor,
            max_pages=allowance.pages_left,
            keep_going=None if reaches is None else (lambda page: reaches(page.body)),
            empty_before=empty_before,
            max_items=allowance.items_left,
        )
        for page in pages:
            self.record(page, where)
            allowance.spend(page)
            if observe is not None and not page.malformed:
                observe(page.body)
        return pages.stop

    def _stored(self, kind: str):
        done = self.resume.done
        if done is None or not done.num_rows:
            return None
        prefix = target(kind, "")
        return done.filter(pc.starts_with(done["target"].fill_null(""), prefix))

    def _allowance(self, kind: str) -> Allowance:
        """The expansion's budget less what the session's stored pages of it already spent."""
        mine = self._stored(kind)
        if mine is None or not mine.num_rows:
            return Allowance(self.budget)
        items = 0
        if self.budget.items is not None:
            items = sum(summarize_page(b).content_entries for b in self._bodies(mine["seq"].to_pylist()))
        return Allowance(self.budget, pages=mine.num_rows, items=items)

    def _stored_bodies(self, kind: str) -> list[bytes]:
        mine = self._stored(kind)
        if mine is None or not mine.num_rows:
            return []
        mine = mine.filter(pc.invert(mine["malformed"]))
        return self._bodies(mine["seq"].to_pylist())

    def _bodies(self, seqs: list[int]) -> list[bytes]:
        if not seqs:
            return []
        where = {"day": self.day, "watch_key": self.key.key, "session_id": self.session_id, "seq": seqs}
        table = self.lake.read(RAW_TABLE, where, columns=["seq", "body"])
        return [] if table is None else table.sort_by("seq")["body"].to_pylist()
