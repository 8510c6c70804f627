"""The cleaned tables of the key kinds beyond searches and accounts (``watch.py``): lists, communities and
follower snapshots. ``clean.py`` calls ``clean_kinds`` for every partition it rebuilds; the tweets and users
those keys' pages hold go to ``cleaned/tweets`` and ``cleaned/users`` like any others.

- ``cleaned/list_members``: a ``list:`` key's members as ListMembers listed them in the partition's latest
  complete session (today's partitions only: a snapshot of the day it was observed);
- ``cleaned/community_members``: a ``community:`` key's members and moderators (both slices), each with its
  ``role`` as X gives it (``admin``, ``moderator``, ``member``);
- ``cleaned/communities``: the community itself (CommunityQuery): name, description, member count, creation
  time, creator, rules...;
- ``cleaned/follower_snapshots``: every *complete* snapshot of a ``followers:``/``following:`` key, one row
  per user listed (``follow_crawl.py``), written when the partition of the day it completed is cleaned. A
  snapshot still being crawled is not there at all, so any two ``snapshot`` numbers of a key compare two
  whole lists.

The first three are replaced per (day, watch_key) partition, the snapshots per ``snapshot_id`` (written once:
a complete snapshot never changes): a re-run doubles nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x import follow_crawl, watch
from xget_pipelines.core.x.parse import MalformedPage, parse_page

_ID, _TS, _STR = pa.int64(), pa.timestamp("us", tz="UTC"), pa.string()
_OBSERVED = [("watch_key", _STR), ("page_key", _STR), ("fetched_at", _TS), ("day", pa.date32())]

LIST_MEMBERS = pa.schema([("list_id", _ID), ("user_id", _ID), ("position", pa.int32()), *_OBSERVED])
COMMUNITY_MEMBERS = pa.schema(
    [("community_id", _ID), ("user_id", _ID), ("role", _STR), ("position", pa.int32()), *_OBSERVED]
)
COMMUNITIES = pa.schema(
    [
        ("community_id", _ID),
        ("name", _STR),
        ("description", _STR),
        ("member_count", pa.int64()),
        ("created_at", _TS),
        ("creator_id", _ID),
        ("creator_username", _STR),
        ("topic", _STR),
        ("join_policy", _STR),
        ("is_nsfw", pa.bool_()),
        ("rules", _STR),  # JSON: [{"rule_id", "name", "description"}] in X's order
        ("banner_url", _STR),
        *_OBSERVED,
    ]
)
FOLLOWER_SNAPSHOTS = pa.schema(
    [
        ("snapshot_id", _STR),
        ("watch_key", _STR),
        ("snapshot", pa.int32()),  # 1, 2, ... per key
        ("account_id", _ID),
        ("direction", _STR),  # followers | following
        ("user_id", _ID),
        ("position", pa.int64()),  # the order X listed them in (newest first)
        ("started_at", _TS),
        ("completed_at", _TS),
    ]
)
TABLES = {
    "cleaned/list_members": LIST_MEMBERS,
    "cleaned/community_members": COMMUNITY_MEMBERS,
    "cleaned/communities": COMMUNITIES,
    "cleaned/follower_snapshots": FOLLOWER_SNAPSHOTS,
}
_KIND_TABLES = {
    "list": ("cleaned/list_members",),
    "community": ("cleaned/communities", "cleaned/community_members"),
    "followers": ("cleaned/follower_snapshots",),
    "following": ("cleaned/follower_snapshots",),
}
_SLICES = {"membersSliceTimeline_Query": "members_slice", "moderatorsSliceTimeline_Query": "moderators_slice"}


def tables_of(key: str) -> tuple[str, ...]:
    """The tables of this module a key's partitions write (none for searches and accounts)."""
    try:
        return _KIND_TABLES.get(watch.parse_watch_key(key).kind, ())
    except ValueError:
        return ()


def clean_kinds(
    lake: Lake, engine: Engine, *, key: str, day: dt.date, pages: pa.Table
) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Rebuild this module's tables for the (key, day) partition from ``pages`` (the latest complete session's
    rows, in fetch order) and the key's snapshots; returns (tables, lake versions)."""
    wk = watch.parse_watch_key(key)
    tables: dict[str, pa.Table] = {}
    versions: dict[str, int] = {}
    rows = [r for r in pages.to_pylist()] if wk.kind in ("list", "community") else []
    if wk.kind == "list":
        tables["cleaned/list_members"] = _list_members(rows, int(wk.target_id), key, day)
    elif wk.kind == "community":
        tables["cleaned/communities"] = _communities(rows, key, day)
        tables["cleaned/community_members"] = _community_members(rows, int(wk.target_id), key, day)
    for table, data in tables.items():
        versions[table] = lake.replace_where(table, data, {"day": day, "watch_key": key}, ["day"])
    if wk.kind in watch.FOLLOW_KINDS:
        written = []
        stored = _stored_snapshots(lake, key)
        for snapshot in follow_crawl.snapshots(engine, key, complete_only=True):
            chain = follow_crawl.links(engine, snapshot.id)
            if not chain or chain[-1].day != day or snapshot.id in stored:
                # cleaned with the partition of the day it completed; a complete snapshot never changes, and
                # its rows were written in one commit: one that is there is there whole
                continue
            data = snapshot_rows(lake, snapshot, chain)
            versions["cleaned/follower_snapshots"] = lake.replace_where(
                "cleaned/follower_snapshots", data, {"snapshot_id": snapshot.id}
            )
            written.append(data)
        tables["cleaned/follower_snapshots"] = (
            pa.concat_tables(written) if written else FOLLOWER_SNAPSHOTS.empty_table()
        )
    return tables, versions


def _stored_snapshots(lake: Lake, key: str) -> set[str]:
    table = lake.read("cleaned/follower_snapshots", {"watch_key": key}, columns=["snapshot_id"])
    return set(pc.unique(table["snapshot_id"]).to_pylist()) if table is not None else set()


def _observed(row: dict, key: str, day: dt.date) -> dict:
    return {"watch_key": key, "page_key": row["page_key"], "fetched_at": row["fetched_at"], "day": day}


def _parsed_users(row: dict) -> list[int]:
    try:
        return parse_page(row["body"], row["operation"]).timeline_user_ids
    except MalformedPage:
        return []


def _list_members(rows: Iterable[dict], list_id: int, key: str, day: dt.date) -> pa.Table:
    out: dict[int, dict] = {}
    for row in rows:
        if row["operation"] != "ListMembers":
            continue
        for uid in _parsed_users(row):
            if uid not in out:
                out[uid] = {
                    "list_id": list_id,
                    "user_id": uid,
                    "position": len(out),
                    **_observed(row, key, day),
                }
    return pa.Table.from_pylist(list(out.values()), schema=LIST_MEMBERS)


def _community_members(rows: Iterable[dict], community_id: int, key: str, day: dt.date) -> pa.Table:
    """Both slices' users with X's ``community_role``; a user in both is kept once (the members slice lists
    the moderators too, with the same role)."""
    out: dict[int, dict] = {}
    for row in rows:
        name = _SLICES.get(row["operation"])
        if name is None:
            continue
        for uid, role in _slice_roles(row["body"], name):
            if uid not in out:
                entry = {"community_id": community_id, "user_id": uid, "role": role, "position": len(out)}
                out[uid] = {**entry, **_observed(row, key, day)}
    return pa.Table.from_pylist(list(out.values()), schema=COMMUNITY_MEMBERS)


def _slice_roles(body: bytes, name: str) -> list[tuple[int, str | None]]:
    """(user id, role) of a members or moderators slice (raw_community_members.json: ``items_results[]
    .result.community_role``, ``Admin``/``Moderator``/``Member``); unreadable items are skipped."""
    try:
        result = orjson.loads(body)["data"]["communityResults"]["result"]
        items = result[name]["items_results"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return []
    out = []
    for item in items if isinstance(items, list) else []:
        user = (item or {}).get("result") if isinstance(item, dict) else None
        if not isinstance(user, dict) or not str(user.get("rest_id", "")).isdigit():
            continue
        role = user.get("community_role")
        out.append((int(user["rest_id"]), role.lower() if isinstance(role, str) else None))
    return out


def _communities(rows: Iterable[dict], key: str, day: dt.date) -> pa.Table:
    """The community as CommunityQuery shows it (raw_community_info.json), from the newest such page."""
    found = None
    for row in rows:
        if row["operation"] == "CommunityQuery":
            info = _community_info(row["body"])
            if info is not None:
                found = {**info, **_observed(row, key, day)}
    return pa.Table.from_pylist([found] if found else [], schema=COMMUNITIES)


def _community_info(body: bytes) -> dict | None:
    try:
        c = orjson.loads(body)["data"]["communityResults"]["result"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(c, dict) or c.get("__typename") != "Community" or not str(c.get("rest_id")).isdigit():
        return None
    creator = ((c.get("creator_results") or {}).get("result")) or {}
    created = c.get("created_at")
    banner = (c.get("custom_banner_media") or c.get("default_banner_media") or {}).get("media_info") or {}
    rules = [
        {"rule_id": r.get("rest_id"), "name": r.get("name"), "description": r.get("description")}
        for r in c.get("rules") or []
        if isinstance(r, dict)
    ]
    return {
        "community_id": int(c["rest_id"]),
        "name": c.get("name"),
        "description": c.get("description"),
        "member_count": c.get("member_count"),
        "created_at": (
            dt.datetime.fromtimestamp(created / 1000, dt.UTC) if isinstance(created, (int, float)) else None
        ),
        "creator_id": _user_id(creator),
        "creator_username": (creator.get("core") or {}).get("screen_name"),
        "topic": (c.get("primary_community_topic") or {}).get("topic_name"),
        "join_policy": c.get("join_policy"),
        "is_nsfw": c.get("is_nsfw"),
        "rules": orjson.dumps(rules).decode(),
        "banner_url": banner.get("original_img_url"),
    }


def _user_id(user: dict) -> int | None:
    """A user object's id: ``rest_id``, or, where X leaves it out (the community's ``creator_results`` in
    raw_community_info.json), the digits of its GraphQL ``id``, base64 of ``User:<rest_id>``."""
    if str(user.get("rest_id", "")).isdigit():
        return int(user["rest_id"])
    try:
        kind, _, rest = base64.b64decode(str(user.get("id", ""))).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(rest) if kind == "User" and rest.isdigit() else None


def snapshot_rows(lake: Lake, snapshot: follow_crawl.Snapshot, chain: list[follow_crawl.Link]) -> pa.Table:
    """Every user a complete snapshot listed, once (the first time X listed it), from the pages of all the
    sessions that crawled it."""
    seen: dict[int, None] = {}
    for link in chain:
        for page in follow_crawl.session_pages(lake, snapshot.watch_key, link, snapshot.operation):
            for uid in _parsed_users({"body": page["body"], "operation": snapshot.operation}):
                seen.setdefault(uid, None)
    n = len(seen)
    return pa.table(
        {
            "snapshot_id": [snapshot.id] * n,
            "watch_key": [snapshot.watch_key] * n,
            "snapshot": pa.array([snapshot.number] * n, pa.int32()),
            "account_id": pa.array([int(snapshot.account_id)] * n, _ID),
            "direction": [snapshot.direction] * n,
            "user_id": pa.array(list(seen), _ID),
            "position": pa.array(range(n), pa.int64()),
            "started_at": pa.array([snapshot.started_at] * n, _TS),
            "completed_at": pa.array([snapshot.completed_at] * n, _TS),
        },
        schema=FOLLOWER_SNAPSHOTS,
    )
