"""``xget x parse``: what the pipeline extracts from one saved X response body."""

from __future__ import annotations

from pathlib import Path

from xget_pipelines.core.x.parse import (
    AmbiguousOperation,
    MalformedPage,
    UnknownOperation,
    detect_operation,
    parse_page,
)


def inspect_file(path: Path, operation: str | None = None) -> dict:
    """A JSON-able report: file, operation, tweet_ids, user_ids, cursor, counts and errors."""
    report: dict = {
        "file": str(path),
        "operation": operation,
        "tweet_ids": [],
        "user_ids": [],
        "cursor_bottom": None,
        "errors": [],
    }
    body = path.read_bytes()
    try:
        try:
            report["operation"] = operation or detect_operation(body)
        except AmbiguousOperation as exc:
            # Bodies that several operations share (UserByScreenName and UserByRestId answer alike)
            # parse the same way: use the first, and say which others it could be.
            report["operation"] = exc.candidates[0]
            report["operation_candidates"] = list(exc.candidates)
        except UnknownOperation:
            pass  # a root this parser does not know: parse_page walks it generically, or says why not
        parsed = parse_page(body, report["operation"])
    except (MalformedPage, UnknownOperation) as exc:
        report["errors"].append(str(exc))
        return report
    if parsed.generic_root is not None:
        report["operation"] = report["operation"] or parsed.operation
        report["generic"] = True
        report["notes"] = [
            f"unknown root (data holds {parsed.generic_root}): tweets and users found by a "
            "generic walk of the body"
        ]
    report["tweet_ids"] = [str(t) for t in parsed.tweets["tweet_id"].to_pylist()]
    report["user_ids"] = [str(u) for u in parsed.users["user_id"].to_pylist()]
    report["cursor_bottom"] = parsed.cursor_bottom
    report["counts"] = {
        "tweets": parsed.tweets.num_rows,
        "users": parsed.users.num_rows,
        "media": parsed.media.num_rows,
        "hashtags": parsed.hashtags.num_rows,
        "mentions": parsed.mentions.num_rows,
        "urls": parsed.urls.num_rows,
        "trends": parsed.trends.num_rows,
        "unavailable": parsed.unavailable,
    }
    report["errors"] = [f"X error {e.get('code')}: {e.get('message')}" for e in parsed.api_errors]
    report["errors"] += list(parsed.parse_errors)
    return report
