"""AboutAccountQuery bodies -> one row of "About this account" facts per account.

What X answers (raw_user_about.json, ``data.user_result_by_screen_name.result``): ``about_profile`` with
``account_based_in`` (a country, for some accounts a region), ``location_accurate`` (X's own flag: false
when it doubts the place, e.g. behind a VPN), ``created_country_accurate``, ``source`` (where the account
signed up: "Web", an app store), ``username_changes`` (``count`` and ``last_changed_at_msec``, both
strings) and ``affiliate_username``; next to it a short profile (``core``, ``privacy``, ``verification``,
``is_blue_verified``), the affiliation label and ``verification_info`` (``is_identity_verified``,
``reason.verified_since_msec``). Columns are named after those fields.

X drops fields from one account to the next (the emulator leaves ``verification_info`` out for accounts
that were never verified, and ``last_changed_at_msec`` when the handle never changed): every field may be
missing and then is null; only a body that is not an AboutAccountQuery answer raises (``NotAnAboutBody``).

``status`` says what X answered for the handle asked: ``available``; ``not_found`` (an empty
``user_result_by_screen_name``, as the emulator answers an unknown handle); ``suspended`` or
``unavailable`` (a ``UserUnavailable`` result, with X's reason); ``handle_reused`` (the handle now names
another account: ours changed its handle since it was collected). ``fact_hash`` digests the facts a
researcher compares over time (``FACTS``): two observations with the same hash say the same thing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")
STATUSES = ("available", "not_found", "suspended", "unavailable", "handle_reused")

ABOUT_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.int64(), False),
        pa.field("username", pa.string()),  # the handle X answered with; the one asked for if none
        pa.field("requested_username", pa.string()),
        pa.field("status", pa.string(), False),
        pa.field("unavailable_reason", pa.string()),  # X's reason of a UserUnavailable ("Suspended")
        pa.field("display_name", pa.string()),
        pa.field("account_based_in", pa.string()),
        pa.field("location_accurate", pa.bool_()),
        pa.field("created_country_accurate", pa.bool_()),
        pa.field("source", pa.string()),
        pa.field("username_changes", pa.int64()),
        pa.field("last_username_change_at", _TS),
        pa.field("affiliate_username", pa.string()),
        pa.field("affiliate_label", pa.string()),  # affiliates_highlighted_label.label.description
        pa.field("affiliate_label_type", pa.string()),  # its userLabelType ("BusinessLabel")
        pa.field("is_identity_verified", pa.bool_()),
        pa.field("verified_since", _TS),
        pa.field("blue_verified", pa.bool_()),
        pa.field("verified_type", pa.string()),
        pa.field("protected", pa.bool_()),
        pa.field("created_at", _TS),
        pa.field("fact_hash", pa.string(), False),
        pa.field("observed_at", _TS, False),
    ]
)
# The facts whose change is a new history row (the profile's name, counts and badges change too often and
# are tracked in entities/users).
FACTS = (
    "status",
    "username",
    "account_based_in",
    "location_accurate",
    "created_country_accurate",
    "source",
    "username_changes",
    "last_username_change_at",
    "affiliate_username",
    "is_identity_verified",
)


class NotAnAboutBody(ValueError):
    """The body is not an answer of AboutAccountQuery (not JSON, or no ``user_result_by_screen_name``)."""


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    """A count or id X sends as a string or a number; anything else is null."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _msec(value: Any) -> dt.datetime | None:
    ms = _int(value)
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _created(value: Any) -> dt.datetime | None:
    from xget_pipelines.core.x.parse_values import x_time_us

    try:
        us = x_time_us(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return None if us is None else dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC)


def fact_hash(row: dict) -> str:
    facts = [row.get(name) for name in FACTS]
    return hashlib.sha1(orjson.dumps(facts)).hexdigest()


def parse_about(
    body: bytes | str,
    observed_at: dt.datetime,
    *,
    user_id: int | None = None,
    requested: str | None = None,
) -> dict:
    """One row of ``ABOUT_SCHEMA`` from an AboutAccountQuery body. ``user_id``/``requested``: the account and
    handle asked for (needed for a not-found answer, which names neither; and to tell a reused handle)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotAnAboutBody(f"AboutAccountQuery body is not JSON ({exc}): it stays in raw/x_pages") from exc
    holder = _get(doc, "data", "user_result_by_screen_name")
    if not isinstance(holder, dict):
        errors = (
            [e.get("message") for e in doc.get("errors") or [] if isinstance(e, dict)]
            if isinstance(doc, dict)
            else []
        )
        raise NotAnAboutBody(
            "body has no data.user_result_by_screen_name: not an AboutAccountQuery answer"
            + (f" (X errors: {errors})" if errors else "")
        )
    result = holder.get("result")
    row: dict[str, Any] = dict.fromkeys(ABOUT_SCHEMA.names)
    row |= {"requested_username": requested, "username": requested, "observed_at": observed_at}
    if not isinstance(result, dict):
        row |= {"status": "not_found", "user_id": user_id}
    elif result.get("__typename") == "UserUnavailable":
        reason = _str(result.get("reason"))
        row |= {"user_id": user_id, "unavailable_reason": reason or _str(result.get("message"))}
        row["status"] = "suspended" if reason == "Suspended" else "unavailable"
    else:
        found = _int(result.get("rest_id"))
        if user_id is not None and found is not None and found != user_id:
            row |= {"status": "handle_reused", "user_id": user_id}
        else:
            row |= _facts(result)
            row["user_id"] = found if found is not None else user_id
            row["username"] = row["username"] or requested
    if row["user_id"] is None:
        raise NotAnAboutBody(f"the answer for {requested!r} names no account (no rest_id) and none was given")
    row["fact_hash"] = fact_hash(row)
    return row


def _facts(result: dict) -> dict:
    about = result.get("about_profile") if isinstance(result.get("about_profile"), dict) else {}
    changes = about.get("username_changes")
    label = _get(result, "affiliates_highlighted_label", "label")
    return {
        "status": "available",
        "username": _str(_get(result, "core", "screen_name")),
        "display_name": _str(_get(result, "core", "name")),
        "account_based_in": _str(about.get("account_based_in")),
        "location_accurate": _bool(about.get("location_accurate")),
        "created_country_accurate": _bool(about.get("created_country_accurate")),
        "source": _str(about.get("source")),
        "username_changes": _int(_get(changes, "count")),
        "last_username_change_at": _msec(_get(changes, "last_changed_at_msec")),
        "affiliate_username": _str(about.get("affiliate_username")),
        "affiliate_label": _str(_get(label, "description")),
        "affiliate_label_type": _str(_get(label, "userLabelType")),
        "is_identity_verified": _bool(_get(result, "verification_info", "is_identity_verified")),
        "verified_since": _msec(_get(result, "verification_info", "reason", "verified_since_msec")),
        "blue_verified": _bool(result.get("is_blue_verified")),
        "verified_type": _str(_get(result, "verification", "verified_type")),
        "protected": _bool(_get(result, "privacy", "protected")),
        "created_at": _created(_get(result, "core", "created_at")),
    }


def about_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ABOUT_SCHEMA)
