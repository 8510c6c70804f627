"""Records a user supplies, and audited corrections and soft deletes of tweets, honoured by the merge.

Every change is one row of the append-only Delta table ``cleaned/corrections``, partitioned by ``day``: the
UTC created date of the tweet it concerns (the ``created_date`` partition of ``entities/tweets``). A row says
who (``user_id``, ``username``), when (``corrected_at``), why (``reason``) and what (``action`` and
``fields``):

- ``insert``: a tweet the user supplies (``fields``: the whole record). The merge of its day takes it as an
  observation made at ``corrected_at`` (``via='supplied'``), so it lands in ``entities/tweets`` like any
  observation, and a later real observation of the tweet (seen later) replaces it as usual.
- ``update``: new values of some of ``text``, ``lang``, ``possibly_sensitive``, ``has_media`` (``fields``:
  only the changed ones).
- ``delete``: a soft delete. The merge sets ``tombstone = 'deleted_by_user'`` and the API hides the tweet; the
  row and its history stay.
- ``restore``: undoes a soft delete.

Nothing here touches ``entities/tweets``: a change takes effect at the next merge of its day
(``core/entities.py`` ``merge_day``; the ``corrections_sensor`` requests that run within a minute). Because
the merge re-applies all corrections of every tweet it merges, a correction outlives later observations of
the tweet, and re-merging changes nothing.

The table is the audit trail of the data itself (the API also writes the control-plane audit log). It is
small: one row per change a person made. A batch of records is one Delta append, one commit: all or nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.core.errors import Conflict, InvalidField, XGetError
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x import schema
from xget_pipelines.core.x.clean import cleaned_schema

CORRECTIONS = "cleaned/corrections"
ENTITY_TWEETS = "entities/tweets"  # core/entities.py TWEETS (not imported: entities imports this module)
USER_DELETED = "deleted_by_user"  # the tombstone of a soft delete (core/lake/tweet_reader.py hides them)
SUPPLIED = "supplied"  # the ``via`` (and ``watch_key``) of a supplied record's observation
ACTIONS = ("insert", "update", "delete", "restore")
MAX_TEXT = 25_000
MAX_REASON = 1_000
MAX_BATCH = 1_000
CLOCK_SKEW = dt.timedelta(minutes=5)  # a created_at this far ahead of our clock is still "now"
EARLIEST = dt.datetime(2006, 3, 21, tzinfo=dt.UTC)  # the first tweet
_INT64 = 2**63

_TS = pa.timestamp("us", tz="UTC")
CORRECTIONS_SCHEMA = pa.schema(
    [
        pa.field("correction_id", pa.string(), False),
        pa.field("tweet_id", pa.int64(), False),
        pa.field("action", pa.string(), False),
        pa.field("fields", pa.string()),  # JSON: insert -> the whole record; update -> the changed fields
        pa.field("reason", pa.string()),
        pa.field("user_id", pa.int64()),
        pa.field("username", pa.string()),
        pa.field("corrected_at", _TS, False),
        pa.field("day", pa.date32(), False),
    ]
)

# What a supplied record may hold: the columns of a tweet, except those XGet sets itself.
_ID_FIELDS = (
    "conversation_id",
    "author_id",
    "reply_to_tweet_id",
    "reply_to_user_id",
    "quoted_tweet_id",
    "retweeted_tweet_id",
)
_COUNT_FIELDS = ("like_count", "retweet_count", "reply_count", "quote_count", "bookmark_count", "view_count")
_BOOL_FIELDS = ("possibly_sensitive", "is_quote", "is_retweet", "has_media")
_STR_FIELDS = {"lang": 8, "source_label": 500, "card_name": 200}
_SYSTEM_FIELDS = ("via", "visibility")  # set by XGet: 'supplied', 'visible'
SUPPLIABLE = tuple(n for n in schema.TWEETS.names if n not in _SYSTEM_FIELDS)
REQUIRED = ("tweet_id", "text", "created_at")

# What a correction may change. Counts and ids are not correctable: they are facts of X that every new
# observation brings again (a corrected like count would be overwritten by the next scrape, or would hide
# the real one); relations and authorship are what the tweet is. Fix those by supplying the tweet instead.
CORRECTABLE = ("text", "lang", "possibly_sensitive", "has_media")


class CorrectionError(XGetError, ValueError):
    """Base of the errors of a supplied record or a correction that cannot be accepted. ``index`` names the
    record of a batch at fault (its ``field`` then reads ``records[3].created_at``)."""

    index: int | None = None


class InvalidCorrection(CorrectionError, InvalidField):
    """A value that cannot be accepted; ``field`` names it."""


class CorrectionConflict(CorrectionError, Conflict):
    """The lake's state forbids the change (the tweet is there already, or is already deleted...)."""


class TweetAlreadyKnown(CorrectionConflict):
    """A supplied tweet the lake already holds: collected, or supplied by someone else. Correct it instead."""

    def __init__(self, tweet_id: int, supplied_by: list[str] | None = None):
        self.tweet_id = tweet_id
        self.supplied_by = supplied_by or []
        where = f"was supplied by {', '.join(self.supplied_by)}" if supplied_by else "is already in the lake"
        super().__init__(f"tweet {tweet_id} {where}; correct it instead", "tweet_id")


class TweetAlreadyDeleted(CorrectionConflict):
    def __init__(self, tweet_id: int):
        self.tweet_id = tweet_id
        super().__init__(f"tweet {tweet_id} is already deleted; restore it instead", "tweet_id")


class Actor(Protocol):
    """Who makes a change (``core.auth.users.Principal`` is one)."""

    user_id: int
    username: str


# -- validation ------------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _int64(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, str) and value.strip().isdigit():  # ids as strings (JavaScript clients)
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCorrection(f"{name} must be an integer", name)
    if not minimum <= value < _INT64:
        what = "a positive 64-bit integer" if minimum == 1 else "a non-negative 64-bit integer"
        raise InvalidCorrection(f"{name} must be {what}, got {value}", name)
    return value


def _unicode(value: str, name: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidCorrection(f"{name} is not valid Unicode (it holds a lone surrogate)", name) from None
    return value


def _text(value: Any, name: str = "text") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCorrection(f"{name} must be a non-empty string", name)
    _unicode(value, name)
    if len(value) > MAX_TEXT:
        raise InvalidCorrection(f"{name} has {len(value)} characters; at most {MAX_TEXT}", name)
    return value


def _string(value: Any, name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCorrection(f"{name} must be a non-empty string", name)
    if len(value) > max_length:
        raise InvalidCorrection(f"{name} has {len(value)} characters; at most {max_length}", name)
    _unicode(value, name)
    if name == "lang" and not (
        len(value) >= 2 and all(c.isascii() and (c.isalpha() or c == "-") for c in value)
    ):
        raise InvalidCorrection(f"lang must be a language code such as 'en' or 'pt-BR', got {value!r}", name)
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidCorrection(f"{name} must be true or false", name)
    return value


def created_at_of(value: Any, name: str = "created_at", now: dt.datetime | None = None) -> dt.datetime:
    """A tweet's creation time: a datetime or ISO 8601 string; without a zone it is UTC. Not in the future."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidCorrection(
                f"{name} must be an ISO 8601 time such as 2026-03-01T12:00:00Z, got {value!r}", name
            ) from None
    if not isinstance(value, dt.datetime):
        raise InvalidCorrection(f"{name} must be an ISO 8601 time", name)
    try:
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise InvalidCorrection(f"{name} {value.isoformat()} is out of range", name) from None
    if value > (now or _now()) + CLOCK_SKEW:
        raise InvalidCorrection(f"{name} {value.isoformat()} is in the future", name)
    if value < EARLIEST:
        raise InvalidCorrection(f"{name} {value.isoformat()} is before the first tweet (2006-03-21)", name)
    return value


def validate_record(record: Any, now: dt.datetime | None = None) -> dict:
    """A supplied tweet, checked and normalised (created_at in UTC); InvalidCorrection names the bad field."""
    if not isinstance(record, Mapping):
        raise InvalidCorrection("a record must be an object with tweet_id, text and created_at", None)
    for name in record:
        if name in _SYSTEM_FIELDS:
            raise InvalidCorrection(f"{name} is set by XGet, not supplied", name)
        if name not in SUPPLIABLE:
            raise InvalidCorrection(
                f"unknown field {name!r}: a record may have {', '.join(SUPPLIABLE)}", name
            )
    for name in REQUIRED:
        if record.get(name) is None:
            raise InvalidCorrection(f"{name} is required", name)
    out: dict[str, Any] = {}
    for name, value in record.items():
        if value is None:
            continue
        if name == "tweet_id" or name in _ID_FIELDS:
            out[name] = _int64(value, name)
        elif name in _COUNT_FIELDS:
            out[name] = _int64(value, name, minimum=0)
        elif name in _BOOL_FIELDS:
            out[name] = _bool(value, name)
        elif name == "text":
            out[name] = _text(value)
        elif name == "created_at":
            out[name] = created_at_of(value, now=now)
        else:
            out[name] = _string(value, name, _STR_FIELDS.get(name, 500))
    return out


def validate_fields(fields: Any) -> dict:
    """The fields of a correction, checked; anything but CORRECTABLE is refused by name, as
    ``fields.<name>``."""
    if not isinstance(fields, Mapping) or not fields:
        raise InvalidCorrection(f"fields must name at least one of {', '.join(CORRECTABLE)}", "fields")
    out: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            out[name] = _corrected_value(name, value)
        except InvalidCorrection as exc:
            exc.field = f"fields.{exc.field}"
            raise
    return out


def _corrected_value(name: str, value: Any) -> Any:
    if name not in CORRECTABLE:
        raise InvalidCorrection(
            f"{name!r} cannot be corrected: only {', '.join(CORRECTABLE)} can (counts and "
            "ids come with every new observation of the tweet)",
            name,
        )
    if value is None:
        raise InvalidCorrection(f"{name} cannot be set to null", name)
    if name == "text":
        return _text(value)
    if name == "lang":
        return _string(value, name, _STR_FIELDS["lang"])
    return _bool(value, name)


def _reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise InvalidCorrection("reason must be a string", "reason")
    if len(reason) > MAX_REASON:
        raise InvalidCorrection(f"reason has {len(reason)} characters; at most {MAX_REASON}", "reason")
    return _unicode(reason, "reason").strip() or None


def _tweet_id(tweet_id: Any) -> int:
    return _int64(tweet_id, "tweet_id")


def _day(day: Any) -> dt.date:
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise InvalidCorrection("day must be the tweet's created date (its entities/tweets partition)", "day")
    return day


# -- reads -----------------------------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.isoformat(), sort_keys=True, ensure_ascii=False)


def read_corrections(lake: Lake, tweet_ids: Iterable[int] | None = None) -> pa.Table:
    """Rows of ``cleaned/corrections`` (of these tweets), oldest first; empty if there is no table yet."""
    dtable = lake.table(CORRECTIONS)
    if dtable is None:
        return CORRECTIONS_SCHEMA.empty_table()
    dataset = dtable.to_pyarrow_dataset()
    expr = (
        None if tweet_ids is None else pc.field("tweet_id").isin(pa.array(sorted(set(tweet_ids)), pa.int64()))
    )
    table = dataset.to_table(filter=expr)
    return (
        table.select(CORRECTIONS_SCHEMA.names)
        .cast(CORRECTIONS_SCHEMA)
        .sort_by([("corrected_at", "ascending"), ("correction_id", "ascending")])
    )


@dataclass(frozen=True)
class Correction:
    """One change a person made: a row of ``cleaned/corrections`` with ``fields`` decoded (insert: the whole
    record; update: the changed fields; delete and restore: None)."""

    correction_id: str
    tweet_id: int
    action: str
    fields: dict | None
    reason: str | None
    user_id: int | None
    username: str | None
    corrected_at: dt.datetime
    day: dt.date


def _correction(row: dict) -> Correction:
    return Correction(**(row | {"fields": json.loads(row["fields"]) if row.get("fields") else None}))


def list_corrections(lake: Lake, tweet_id: int | None = None) -> list[Correction]:
    """The history of corrections (of one tweet), oldest first."""
    table = read_corrections(lake, None if tweet_id is None else [_tweet_id(tweet_id)])
    return [_correction(r) for r in table.to_pylist()]


def supplied_day(lake: Lake, tweet_id: int) -> dt.date | None:
    """The day of a tweet a user supplied (merged or not yet), or None."""
    rows = [r for r in read_corrections(lake, [tweet_id]).to_pylist() if r["action"] == "insert"]
    return rows[-1]["day"] if rows else None


def _existing_tweets(lake: Lake, tweet_ids: Sequence[int]) -> dict[int, dict]:
    """``via`` and ``created_date`` of tweets already in ``entities/tweets`` (file statistics prune the
    scan)."""
    dtable = lake.table(ENTITY_TWEETS)
    if dtable is None or not tweet_ids:
        return {}
    found = dtable.to_pyarrow_dataset().to_table(
        columns=["tweet_id", "via", "created_date"],
        filter=pc.field("tweet_id").isin(pa.array(sorted(set(tweet_ids)), pa.int64())),
    )
    return {r["tweet_id"]: r for r in found.to_pylist()}


# -- writes ----------------------------------------------------------------------------------------------


def _actor(user: Actor) -> tuple[int, str]:
    user_id, username = getattr(user, "user_id", None), getattr(user, "username", None)
    if not isinstance(user_id, int) or not username:
        raise InvalidCorrection("a change needs the user making it (user_id and username)", "user")
    return user_id, str(username)


def _write(lake: Lake, rows: list[dict]) -> list[Correction]:
    """Append the rows as one Delta commit (all or nothing)."""
    lake.append(CORRECTIONS, pa.Table.from_pylist(rows, schema=CORRECTIONS_SCHEMA), ["day"])
    return [_correction(r) for r in rows]


def _row(
    tweet_id: int,
    action: str,
    fields: dict | None,
    reason: str | None,
    user: Actor,
    day: dt.date,
    at: dt.datetime,
) -> dict:
    user_id, username = _actor(user)
    return {
        "correction_id": str(uuid.uuid4()),
        "tweet_id": tweet_id,
        "action": action,
        "fields": None if fields is None else _json(fields),
        "reason": reason,
        "user_id": user_id,
        "username": username,
        "corrected_at": at,
        "day": day,
    }


def supply(
    lake: Lake, records: Sequence[Mapping[str, Any]], user: Actor, reason: str | None = None
) -> list[Correction]:
    """Record tweets a user supplies; each becomes an observation at the next merge of its created date.

    All or nothing: every record is checked first (a CorrectionError's ``index`` names the record, its
    ``field`` reads ``records[3].created_at``), then the batch is one Delta append. A tweet already in the
    lake is a conflict (``TweetAlreadyKnown``), unless it is the user's own earlier supplied record not yet
    replaced by a real observation: supplying it again replaces it (on the same day: a record cannot move
    to another created date).
    """
    return _supply(lake, records, user, reason, batch=True)


def supply_one(lake: Lake, record: Mapping[str, Any], user: Actor, reason: str | None = None) -> Correction:
    """``supply`` of one record; an error's ``field`` names the record's own field (``created_at``)."""
    return _supply(lake, [record], user, reason, batch=False)[0]


def _supply(
    lake: Lake, records: Sequence[Mapping[str, Any]], user: Actor, reason: str | None, batch: bool
) -> list[Correction]:
    if not isinstance(records, Sequence) or isinstance(records, (str, bytes)) or not records:
        raise InvalidCorrection("give at least one record", "records")
    if len(records) > MAX_BATCH:
        raise InvalidCorrection(f"{len(records)} records; at most {MAX_BATCH} at once", "records")
    reason = _reason(reason)
    user_id, _ = _actor(user)
    now = _now()

    def of_record(i: int, exc: CorrectionError) -> CorrectionError:
        """The error of record ``i``: in a batch its field reads ``records[i].<field>``."""
        if batch:
            exc.index = i
            exc.field = f"records[{i}]" + (f".{exc.field}" if exc.field else "")
        return exc

    clean: list[dict] = []
    seen: dict[int, int] = {}
    for i, record in enumerate(records):
        try:
            rec = validate_record(record, now)
        except CorrectionError as exc:
            raise of_record(i, exc) from None
        if rec["tweet_id"] in seen:
            raise of_record(
                i,
                InvalidCorrection(
                    f"tweet {rec['tweet_id']} is also record {seen[rec['tweet_id']]} of this batch",
                    "tweet_id",
                ),
            )
        seen[rec["tweet_id"]] = i
        clean.append(rec)

    ids = list(seen)
    supplied: dict[int, list[dict]] = {}
    for row in read_corrections(lake, ids).to_pylist():
        if row["action"] == "insert":
            supplied.setdefault(row["tweet_id"], []).append(row)
    existing = _existing_tweets(lake, ids)
    for i, rec in enumerate(clean):
        conflict = _conflict(rec, supplied.get(rec["tweet_id"], []), existing.get(rec["tweet_id"]), user_id)
        if conflict is not None:
            raise of_record(i, conflict)
    return _write(
        lake,
        [_row(rec["tweet_id"], "insert", rec, reason, user, rec["created_at"].date(), now) for rec in clean],
    )


def _conflict(rec: dict, earlier: list[dict], known: dict | None, user_id: int) -> CorrectionConflict | None:
    """Why a supplied record cannot be taken, given the earlier supplied records of its tweet and the tweet
    in ``entities/tweets`` (if there); None if it can."""
    tweet_id, day = rec["tweet_id"], rec["created_at"].date()
    others = sorted({r["username"] or str(r["user_id"]) for r in earlier if r["user_id"] != user_id})
    if others:
        return TweetAlreadyKnown(tweet_id, others)
    if known is not None and (known["via"] != SUPPLIED or not earlier):
        return TweetAlreadyKnown(tweet_id)
    old_day = known["created_date"] if known is not None else (earlier[-1]["day"] if earlier else None)
    if old_day is not None and old_day != day:
        return CorrectionConflict(
            f"tweet {tweet_id} was supplied as created on {old_day}; a record cannot move to another day "
            f"({day})",
            "created_at",
        )
    return None


def correct(
    lake: Lake, tweet_id: int, fields: Mapping[str, Any], reason: str | None, user: Actor, day: dt.date
) -> Correction:
    """Correct some of ``text``, ``lang``, ``possibly_sensitive``, ``has_media`` of a tweet created on
    ``day``.

    Only these are correctable. Counts (likes, views...) and ids (author, conversation, reply, quote) are
    owned by the observations: every new scrape of the tweet brings them again, so a corrected count would
    either be overwritten at the next observation or, re-applied, hide the real one. A later update of the
    same field wins.
    """
    row = _row(
        _tweet_id(tweet_id), "update", validate_fields(fields), _reason(reason), user, _day(day), _now()
    )
    return _write(lake, [row])[0]


def _deleted(lake: Lake, tweet_id: int) -> bool:
    """Whether the last delete/restore of the tweet is a delete."""
    states = [
        r["action"]
        for r in read_corrections(lake, [tweet_id]).to_pylist()
        if r["action"] in ("delete", "restore")
    ]
    return bool(states) and states[-1] == "delete"


def soft_delete(lake: Lake, tweet_id: int, reason: str | None, user: Actor, day: dt.date) -> Correction:
    """Hide a tweet (``tombstone = 'deleted_by_user'``) from the next merge of ``day`` on; content is kept."""
    tweet_id = _tweet_id(tweet_id)
    if _deleted(lake, tweet_id):
        raise TweetAlreadyDeleted(tweet_id)
    return _write(lake, [_row(tweet_id, "delete", None, _reason(reason), user, _day(day), _now())])[0]


def restore(lake: Lake, tweet_id: int, reason: str | None, user: Actor, day: dt.date) -> Correction:
    """Undo a soft delete from the next merge of ``day`` on."""
    tweet_id = _tweet_id(tweet_id)
    if not _deleted(lake, tweet_id):
        raise CorrectionConflict(f"tweet {tweet_id} is not deleted by a user: nothing to restore", "tweet_id")
    return _write(lake, [_row(tweet_id, "restore", None, _reason(reason), user, _day(day), _now())])[0]


# -- what the merge applies (core/entities.py) -----------------------------------------------------------


def supplied_observations(corrections: pa.Table | None, day: dt.date) -> pa.Table | None:
    """The records supplied for ``day`` as observations in the ``cleaned/tweets`` schema, seen at
    ``corrected_at``: counts 0 where not given, visible, ``via = 'supplied'``. None if there are none."""
    if corrections is None or corrections.num_rows == 0:
        return None
    mask = pc.and_(pc.equal(corrections["action"], "insert"), pc.equal(corrections["day"], pa.scalar(day)))
    inserts = corrections.filter(mask)
    if inserts.num_rows == 0:
        return None
    target = cleaned_schema("cleaned/tweets")
    rows = []
    for row in inserts.to_pylist():
        rec = json.loads(row["fields"])
        rec["created_at"] = dt.datetime.fromisoformat(rec["created_at"])  # stored by supply(): aware, UTC
        obs = {n: rec.get(n) for n in schema.TWEETS.names}
        for name in ("like_count", "retweet_count", "reply_count", "quote_count", "bookmark_count"):
            obs[name] = obs[name] or 0
        obs["is_quote"] = bool(obs["is_quote"] if obs["is_quote"] is not None else obs["quoted_tweet_id"])
        obs["is_retweet"] = bool(
            obs["is_retweet"] if obs["is_retweet"] is not None else obs["retweeted_tweet_id"]
        )
        obs["has_media"] = bool(obs["has_media"])
        obs |= {
            "visibility": "visible",
            "via": SUPPLIED,
            "watch_key": SUPPLIED,
            "page_key": f"{SUPPLIED}:{row['correction_id']}",
            "fetched_at": row["corrected_at"],
            "day": day,
        }
        rows.append(obs)
    return pa.Table.from_pylist(rows, schema=target)


FOLDED_SCHEMA = pa.schema(
    [
        pa.field("tweet_id", pa.int64(), False),
        pa.field("created_date", pa.date32(), False),
        *[schema.TWEETS.field(c).with_nullable(True) for c in CORRECTABLE],  # null: not corrected
        pa.field("user_deleted", pa.bool_()),  # true: soft-deleted; false: restored; null: neither
        pa.field("deleted_at", _TS),
    ]
)


def fold(corrections: pa.Table | None, tweet_ids: Iterable[int], day: dt.date) -> pa.Table:
    """The net effect of the corrections to apply when ``day`` is merged: every correction of the tweets in
    ``tweet_ids`` (those the merge touched) and of the tweets with a correction of ``day``, folded per tweet
    in ``corrected_at`` order (a later update of a field wins; the last delete or restore decides). One row
    per tweet, in ``FOLDED_SCHEMA``."""
    if corrections is None or corrections.num_rows == 0:
        return FOLDED_SCHEMA.empty_table()
    changes = corrections.filter(pc.invert(pc.equal(corrections["action"], "insert")))
    if changes.num_rows == 0:
        return FOLDED_SCHEMA.empty_table()
    ids = pa.array(sorted(set(tweet_ids)), pa.int64())
    of_day = changes.filter(pc.equal(changes["day"], pa.scalar(day)))["tweet_id"].combine_chunks()
    scope = pc.unique(pa.concat_arrays([ids, of_day.cast(pa.int64())]))
    changes = changes.filter(pc.is_in(changes["tweet_id"], value_set=scope))
    folded: dict[int, dict] = {}
    for row in changes.sort_by([("corrected_at", "ascending"), ("correction_id", "ascending")]).to_pylist():
        out = folded.setdefault(row["tweet_id"], {"tweet_id": row["tweet_id"], "created_date": row["day"]})
        if row["action"] == "update":
            out.update({k: v for k, v in json.loads(row["fields"]).items() if k in CORRECTABLE})
        elif row["action"] == "delete":
            out["user_deleted"], out["deleted_at"] = True, row["corrected_at"]
        elif row["action"] == "restore":
            out["user_deleted"], out["deleted_at"] = False, None
    return pa.Table.from_pylist(list(folded.values()), schema=FOLDED_SCHEMA)
