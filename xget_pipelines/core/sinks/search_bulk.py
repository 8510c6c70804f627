"""What a bulk answer with ``errors: true`` means for the sink: every rejected item fails the run.

A rejected document is never dropped quietly: the run fails before its watermark moves, so the next run
sends the same rows again. Rejections the server would take back later (429: queues full; 5xx) are
:class:`SearchUnavailable` (retry); the others (a mapping conflict, a document the strict mapping refuses)
are :class:`SearchError` naming the first few documents and reasons, to fix before running again. A delete
of a document the index does not hold (404 ``not_found``) is what a delete of a tombstoned tweet that was
never indexed looks like: not an error.
"""

from __future__ import annotations

from xget_pipelines.core.sinks.search_client import SearchError, SearchUnavailable

_SHOWN = 3


def rejected(items: list[dict]) -> list[tuple[str, str, int, str]]:
    """(action, _id, status, reason) of each item the server refused."""
    out = []
    for item in items:
        for action, answer in item.items():
            status = int(answer.get("status", 0))
            if action == "delete" and status == 404:
                continue
            if answer.get("error") is None and status < 300:
                continue
            error = answer.get("error") or {}
            reason = f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else str(error)
            out.append((action, str(answer.get("_id")), status, reason[:300]))
    return out


def bulk_errors(where: str, index: str, items: list[dict]) -> SearchError:
    failed = rejected(items)
    if not failed:
        return SearchUnavailable(
            f"the search server at {where} reported errors in a bulk request to {index} "
            "without naming an item; the watermark did not move: run again"
        )
    examples = "; ".join(
        f"{action} {doc_id}: HTTP {status} {reason}" for action, doc_id, status, reason in failed[:_SHOWN]
    )
    message = (
        f"the search server at {where} rejected {len(failed)} of {len(items)} documents sent to "
        f"{index} ({examples}); the watermark did not move, so the next run sends them again"
    )
    if all(status == 429 or status >= 500 for _, _, status, _ in failed):
        return SearchUnavailable(message + " once the server has recovered")
    return SearchError(
        message + ": fix the cause (mapping or document) first, or run a full reindex after "
        "changing MAPPING_VERSION"
    )
