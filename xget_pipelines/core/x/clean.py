"""Raw pages of a partition -> the cleaned (silver) tables.

A cleaned partition is the parse of the partition's latest *complete* scrape session (lists, communities and
follower snapshots have tables of their own as well: ``clean_kinds.py``; so have the conversations and
retweeters a key's expansions collect: ``clean_expand.py``): re-running it
gives the same rows (idempotent), and a re-scrape replaces it with the newer observation while the
older one stays in ``raw/x_pages`` for history. Within a partition a tweet or user seen on several
pages is kept once, from the newest page. Malformed pages and objects the parser could not read are
counted and reported, never fatal.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.media.pointers import OBJECT_PATH, fill_object_paths
from xget_pipelines.core.x import schema
from xget_pipelines.core.x.clean_expand import clean_expansions
from xget_pipelines.core.x.clean_kinds import clean_kinds
from xget_pipelines.core.x.parse import MalformedPage, ParsedPage, parse_page
from xget_pipelines.core.x.raw_pages import EXPAND_PREFIX, RAW_TABLE
from xget_pipelines.core.x.scrape import latest_complete_session

# table -> (parser attribute, arrow schema, unique key within a partition)
CLEANED = {
    "cleaned/tweets": ("tweets", schema.TWEETS, ("tweet_id",)),
    "cleaned/users": ("users", schema.USERS, ("user_id",)),
    "cleaned/media": ("media", schema.MEDIA, ("tweet_id", "media_key")),
    "cleaned/hashtags": ("hashtags", schema.HASHTAGS, ("tweet_id", "tag_lower")),
    "cleaned/mentions": ("mentions", schema.MENTIONS, ("tweet_id", "user_id")),
    "cleaned/urls": ("urls", schema.URLS, ("tweet_id", "url")),
    "cleaned/tombstones": ("tombstones", schema.TOMBSTONES, ("tweet_id",)),
    "cleaned/follows": ("follows", schema.FOLLOWS, ("follower_id", "followed_id")),
}
# Columns of a cleaned table the parser does not make: the media row's stored object (core/media), kept
# from ``cleaned/media_objects`` on every re-parse.
CLEANED_EXTRA = {"cleaned/media": [OBJECT_PATH]}
FOLLOW_OPERATIONS = ("Followers", "Following")
EXPANDED = "expanded"  # cleaned/tweets' via for the tweets of an expansion's pages
OBSERVATION_FIELDS = [
    pa.field("watch_key", pa.string()),
    pa.field("page_key", pa.string()),
    pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    pa.field("day", pa.date32()),
]


def cleaned_schema(table: str) -> pa.Schema:
    base = CLEANED[table][1]
    return pa.schema(list(base) + CLEANED_EXTRA.get(table, []) + OBSERVATION_FIELDS)


@dataclass
class CleanResult:
    session_id: str | None
    pages: int = 0
    malformed_pages: int = 0
    parse_errors: list[str] = field(default_factory=list)
    api_errors: int = 0
    unavailable: int = 0
    tables: dict[str, pa.Table] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)


# Characters that make a text odd rather than wrong: C0/C1 controls other than tab/newline, the replacement
# character (bytes that were not UTF-8), lone surrogates, zero-width and bidi controls, private use.
_ODD = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff\u200b-\u200f\u202a-\u202e"
    "\u2066-\u2069\ue000-\uf8ff]"
)
LONG_TEXT = 280  # X's classic limit; longer ones are long posts (note tweets), kept whole


def text_quality(texts: list[str | None]) -> dict[str, int]:
    """How many texts are missing, long posts, or carry odd characters (counted, never fatal)."""
    missing = long = odd = 0
    for text in texts:
        if not text:
            missing += 1
            continue
        long += len(text) > LONG_TEXT
        odd += _ODD.search(text) is not None
    return {"missing_text": missing, "long_texts": long, "odd_unicode_texts": odd}


def _with_observation(table: pa.Table, key: str, page: str, fetched_at, day: dt.date) -> pa.Table:
    n = table.num_rows
    for f, value in zip(OBSERVATION_FIELDS, (key, page, fetched_at, day), strict=False):
        table = table.append_column(f, pa.array([value] * n, f.type))
    return table


def _dedupe(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    """Keep one row per key: the one from the newest page (a tweet: from the newest page of the key's own
    timelines when one has it, an expansion's page only otherwise)."""
    if table.num_rows == 0:
        return table
    if "via" in table.column_names:
        expanded = pc.equal(table["via"], EXPANDED)
        table = table.append_column("__expanded", expanded)
        table = table.sort_by([("__expanded", "ascending"), ("fetched_at", "descending")])
        table = table.drop_columns(["__expanded"])
    else:
        table = table.sort_by([("fetched_at", "descending")])
    indices = (
        table.append_column("__i", pa.array(range(table.num_rows), pa.int64()))
        .group_by(list(keys), use_threads=False)
        .aggregate([("__i", "min")])["__i_min"]
    )
    return table.take(indices).sort_by([(k, "ascending") for k in keys])


def _follows(parsed: ParsedPage, operation: str | None, variables: str | None) -> pa.Table:
    """Follow edges of a Followers/Following page: its listed users and the account the request named."""
    if operation not in FOLLOW_OPERATIONS or not parsed.timeline_user_ids:
        return schema.FOLLOWS.empty_table()
    try:
        target = int(orjson.loads(variables or "{}").get("userId"))
    except (ValueError, TypeError, orjson.JSONDecodeError):
        return schema.FOLLOWS.empty_table()
    listed = parsed.timeline_user_ids
    pairs = [(u, target) for u in listed] if operation == "Followers" else [(target, u) for u in listed]
    return pa.table(
        {"follower_id": [a for a, _ in pairs], "followed_id": [b for _, b in pairs]}, schema=schema.FOLLOWS
    )


def _expanded(tweets: pa.Table) -> pa.Table:
    """An expansion's tweets (``expand.py``: replies, quote tweets, media posts): ``via = 'expanded'`` where
    the parser says ``timeline``, so what counts a key's own hits (``via = 'timeline'``: trends, sentiment,
    the dbt marts) does not count them; the posts they quote or retweet keep their ``via``."""
    via = tweets["via"]
    marked = pc.if_else(pc.equal(via, "timeline"), pa.scalar(EXPANDED), via)
    return tweets.set_column(tweets.schema.get_field_index("via"), tweets.schema.field("via"), marked)


def _conform(data: pa.Table, target: pa.Schema) -> pa.Table:
    """``data`` with ``target``'s columns in order; the ones the parser does not make start null."""
    return pa.table(
        {
            f.name: data[f.name] if f.name in data.column_names else pa.nulls(data.num_rows, f.type)
            for f in target
        }
    ).cast(target)


def parse_raw_pages(pages: pa.Table, key: str, day: dt.date, result: CleanResult) -> dict[str, pa.Table]:
    """Parse raw rows into the cleaned tables (with observation columns), updating ``result``."""
    parts: dict[str, list[pa.Table]] = {t: [] for t in CLEANED}
    variables_column = (
        pages["variables"].to_pylist() if "variables" in pages.column_names else [None] * pages.num_rows
    )
    targets = pages["target"].to_pylist() if "target" in pages.column_names else [None] * pages.num_rows
    for body, pkey, fetched_at, operation, variables, target in zip(
        pages["body"].to_pylist(),
        pages["page_key"].to_pylist(),
        pages["fetched_at"].to_pylist(),
        pages["operation"].to_pylist(),
        variables_column,
        targets,
        strict=False,
    ):
        result.pages += 1
        try:
            parsed: ParsedPage = parse_page(body, operation)
        except MalformedPage as exc:
            result.malformed_pages += 1
            result.parse_errors.append(f"page {pkey}: {exc}")
            continue
        result.parse_errors.extend(f"page {pkey}: {e}" for e in parsed.parse_errors)
        result.api_errors += len(parsed.api_errors)
        result.unavailable += parsed.unavailable
        for table, (attr, _, _) in CLEANED.items():
            data = _follows(parsed, operation, variables) if attr == "follows" else getattr(parsed, attr)
            if attr == "tweets" and (target or "").startswith(EXPAND_PREFIX):
                data = _expanded(data)
            if data.num_rows:
                parts[table].append(_with_observation(data, key, pkey, fetched_at, day))
    out = {}
    for table, (_, _, unique) in CLEANED.items():
        target = cleaned_schema(table)
        merged = _conform(pa.concat_tables(parts[table]), target) if parts[table] else target.empty_table()
        out[table] = _dedupe(merged, unique)
    return out


def clean_partition(lake: Lake, engine: Engine, *, key: str, day: dt.date) -> CleanResult:
    """Rebuild the cleaned tables' (key, day) partition from its latest complete scrape session."""
    session_id = latest_complete_session(engine, f"{day.isoformat()}|{key}")
    result = CleanResult(session_id)
    pages = None
    if session_id is not None:
        pages = lake.read(
            RAW_TABLE,
            {"day": day, "watch_key": key, "session_id": session_id},
            columns=["body", "page_key", "fetched_at", "operation", "seq", "variables", "target"],
        )
    if pages is None or session_id is None:
        pages = pa.table(
            {
                "body": pa.array([], pa.large_binary()),
                "page_key": pa.array([], pa.string()),
                "fetched_at": pa.array([], pa.timestamp("us", tz="UTC")),
                "operation": pa.array([], pa.string()),
                "seq": pa.array([], pa.int32()),
                "variables": pa.array([], pa.string()),
                "target": pa.array([], pa.string()),
            }
        )
    pages = pages.sort_by("seq")
    result.tables = parse_raw_pages(pages, key, day, result)
    result.tables["cleaned/media"] = fill_object_paths(lake, result.tables["cleaned/media"])
    for table, data in result.tables.items():
        result.versions[table] = lake.replace_where(table, data, {"day": day, "watch_key": key}, ["day"])
    # lists, communities and follower snapshots: their own tables, for keys of those kinds
    tables, versions = clean_kinds(lake, engine, key=key, day=day, pages=pages)
    result.tables.update(tables)
    result.versions.update(versions)
    # what the key's expansions collected: conversations and retweeters (expand.py)
    tables, versions = clean_expansions(lake, key=key, day=day, pages=pages)
    result.tables.update(tables)
    result.versions.update(versions)
    return result
