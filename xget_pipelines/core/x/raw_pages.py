"""``raw/x_pages``: every page X served, stored as served, and what a session's stored pages tell.

The scrape (``scrape.py``) appends pages here in small batches (``RawWriter``) and reads its own session's
pages back: the cursors to resume from (``stored_pages``, ``Resume``), the profile a resumed ``@account``
session already fetched (``stored_user_id``) and the tweets of the day that landed (``landed_items``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x.client import FetchedPage
from xget_pipelines.core.x.cursors import summarize_page
from xget_pipelines.core.x.pagination import Stop

RAW_TABLE = "raw/x_pages"
RAW_SCHEMA = pa.schema(
    [
        ("page_key", pa.string()),
        ("session_id", pa.string()),
        ("run_id", pa.string()),
        ("watch_key", pa.string()),
        ("operation", pa.string()),
        ("target", pa.string()),
        ("variables", pa.string()),
        ("cursor_in", pa.string()),
        ("cursor_out", pa.string()),
        ("seq", pa.int32()),
        ("http_status", pa.int32()),
        ("account", pa.string()),
        ("proxy", pa.string()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("malformed", pa.bool_()),
        ("body", pa.large_binary()),
        ("day", pa.date32()),
    ]
)


def page_key(page: FetchedPage, target: str) -> str:
    raw = f"{page.operation}|{target}|{page.cursor_in or ''}|{page.fetched_at.isoformat()}"
    return hashlib.sha1(raw.encode()).hexdigest()[:24]


class RawWriter:
    """Buffers fetched pages and appends them to the lake every ``flush_every`` pages."""

    def __init__(
        self, lake: Lake, session_id: str, run_id: str, key: str, day: dt.date, flush_every: int, seq: int
    ):
        self.lake, self.session_id, self.run_id, self.key, self.day = lake, session_id, run_id, key, day
        self.flush_every = flush_every
        self.rows: list[dict] = []
        self.seq = seq

    def add(self, page: FetchedPage, target: str) -> None:
        self.rows.append(
            {
                "page_key": page_key(page, target),
                "session_id": self.session_id,
                "run_id": self.run_id,
                "watch_key": self.key,
                "operation": page.operation,
                "target": target,
                "variables": orjson.dumps(page.variables).decode(),
                "cursor_in": page.cursor_in,
                "cursor_out": page.cursor_out,
                "seq": self.seq,
                "http_status": page.status,
                "account": page.account,
                "proxy": None,
                "fetched_at": page.fetched_at,
                "malformed": page.malformed,
                "body": page.body,
                "day": self.day,
            }
        )
        self.seq += 1
        if len(self.rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.lake.append(
                RAW_TABLE, pa.Table.from_pylist(self.rows, schema=RAW_SCHEMA), partition_by=["day"]
            )
            self.rows = []


_RESUME_COLUMNS = ["operation", "target", "cursor_in", "cursor_out", "seq", "malformed"]
# Targets of the pages an expansion fetched (``expand.py``): ``expand:<expansion>:<what>``, never a key's
# own timeline, so they neither count as the day's items nor resume one of its timelines.
EXPAND_PREFIX = "expand:"


def stored_pages(lake: Lake, day: dt.date, key: str, session_id: str) -> pa.Table:
    """Pages of one session already in the lake (cursors only, no bodies), in fetch order."""
    table = lake.read(
        RAW_TABLE, {"day": day, "watch_key": key, "session_id": session_id}, columns=_RESUME_COLUMNS
    )
    if table is None:
        return RAW_SCHEMA.empty_table().select(_RESUME_COLUMNS)
    return table.sort_by("seq")


class Resume:
    """Where a resumed session's timelines stand: the cursor to continue from, the pages already spent, or
    why a timeline had already stopped (read from the session's pages in the lake)."""

    def __init__(self, lake: Lake, day: dt.date, key: str, session_id: str, done: pa.Table | None):
        self.lake, self.day, self.key, self.session_id, self.done = lake, day, key, session_id, done

    def point(
        self,
        operation: str,
        max_pages: int | None,
        reaches: Callable[[bytes], bool] | None,
        target: str | None = None,
    ) -> tuple[str | None, int | None, int, Stop | None]:
        """(cursor, pages left in the budget (None: no bound), content-free pages in a row, the stop if it
        had ended) of the timeline of ``operation`` (and ``target``, when given: one operation can page
        several timelines in a session, an expansion's TweetDetail of every conversation)."""
        if self.done is None:
            return None, max_pages, 0, None
        mine = self._mine(operation, target)
        if not mine.num_rows:
            return None, max_pages, 0, None
        left = None if max_pages is None else max_pages - mine.num_rows
        last_in, last_out = mine["cursor_in"][-1].as_py(), mine["cursor_out"][-1].as_py()
        if last_out is None or last_out == last_in:
            return None, left, 0, Stop.END  # that timeline had already ended before the interruption
        seqs = mine["seq"].to_pylist()[-2:]
        tail = self.lake.read(
            RAW_TABLE,
            {"day": self.day, "watch_key": self.key, "session_id": self.session_id, "seq": seqs},
            columns=["seq", "body"],
        ).sort_by("seq")
        bodies = tail["body"].to_pylist()
        empties = [summarize_page(b).content_entries == 0 for b in bodies]
        if len(empties) == 2 and all(empties):
            return None, left, 0, Stop.END
        if reaches is not None and not reaches(bodies[-1]):
            return None, left, 0, Stop.LOWER_BOUND
        return last_out, left, int(empties[-1]), None

    def entries(self, operation: str, target: str | None = None) -> int:
        """Content entries on the session's stored pages of ``operation`` (and ``target``): what an item
        budget already spent (read only when a resumed key has one)."""
        if self.done is None:
            return 0
        seqs = self._mine(operation, target)["seq"].to_pylist()
        if not seqs:
            return 0
        pages = self.lake.read(
            RAW_TABLE,
            {"day": self.day, "watch_key": self.key, "session_id": self.session_id, "seq": seqs},
            columns=["body"],
        )
        return sum(summarize_page(b).content_entries for b in pages["body"].to_pylist())

    def _mine(self, operation: str, target: str | None = None) -> pa.Table:
        done = self.done
        mask = pc.and_(pc.equal(done["operation"], operation), pc.invert(done["malformed"]))
        if target is not None:
            mask = pc.and_(mask, pc.equal(done["target"], target))
        return done.filter(mask)


# Timelines whose tweets are the partition's items (the profile and follow pages are not).
ITEM_OPERATIONS = (
    "SearchTimeline",
    "UserTweetsAndReplies",
    "ListLatestTweetsTimeline",
    "CommunityTweetsTimeline",
)


def landed_items(lake: Lake, day: dt.date, key: str, session_id: str, author_id: str | None) -> int:
    """Distinct tweets of ``day`` on the session's timeline pages in the lake (an account's: its own)."""
    from xget_pipelines.core.x.parse import parse_page

    pages = lake.read(
        RAW_TABLE,
        {"day": day, "watch_key": key, "session_id": session_id, "operation": list(ITEM_OPERATIONS)},
        columns=["operation", "target", "malformed", "body"],
    )
    ids: set[int] = set()
    for row in pages.to_pylist() if pages is not None else []:
        if row["malformed"] or (row["target"] or "").startswith(EXPAND_PREFIX):
            continue
        tweets = parse_page(row["body"], row["operation"]).tweets
        for tid, created, author, via in zip(
            tweets["tweet_id"].to_pylist(),
            tweets["created_at"].to_pylist(),
            tweets["author_id"].to_pylist(),
            tweets["via"].to_pylist(),
            strict=True,
        ):
            if (
                via == "timeline"
                and created is not None
                and created.astimezone(dt.UTC).date() == day
                and (author_id is None or str(author) == author_id)
            ):
                ids.add(tid)
    return len(ids)


def user_id_of(body: bytes) -> str | None:
    """The user id (``rest_id``) a UserByScreenName page names; None when X has no such user."""
    try:
        result = orjson.loads(body)["data"]["user"]["result"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return result.get("rest_id") if isinstance(result, dict) else None


def absent(body: bytes) -> bool:
    """Whether a list's or community's page says X has no such list or community: an empty ``list`` (as X
    answers an unknown list id) or a ``CommunityUnavailable`` result."""
    try:
        data = orjson.loads(body).get("data")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    if not isinstance(data, dict):
        return False
    if data.get("list") == {}:
        return True
    community = (data.get("communityResults") or {}).get("result")
    return isinstance(community, dict) and community.get("__typename") == "CommunityUnavailable"


def stored_user_id(lake: Lake, day: dt.date, key: str, session_id: str) -> str | None:
    """The user id from the profile page a resumed session already stored (only that body is read)."""
    profiles = lake.read(
        RAW_TABLE,
        {"day": day, "watch_key": key, "session_id": session_id, "operation": "UserByScreenName"},
        columns=["body"],
    )
    for body in profiles["body"].to_pylist() if profiles is not None else []:
        if uid := user_id_of(body):
            return uid
    return None


def newest_tweet(body: bytes, operation: str) -> dt.datetime:
    """Creation time of the newest tweet on a timeline page (the earliest time if none)."""
    from xget_pipelines.core.x.parse import parse_page

    tweets = parse_page(body, operation).tweets
    if tweets.num_rows == 0:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    newest = pc.max(tweets["created_at"]).as_py()
    return newest or dt.datetime.min.replace(tzinfo=dt.UTC)
