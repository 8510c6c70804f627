"""Structured JSON logs, one object per line, for an ELK-style pipeline (Filebeat/Fluent Bit -> ES).

``JsonFormatter`` renders a record with its time, level, logger and message, and whatever context it
carries: Dagster's (run id, job, step, the asset the step materializes) when it passes through Dagster's
managed loggers, and XGet's own (``account``, ``account_id``, ``operation``, ``proxy_id``, ``request_id``)
given as ``extra=``. Secrets never appear: known secret fields are dropped, and cookie values, bearer tokens
and URL passwords in a message are masked (``core/redact.py``). deploy/dagster.yaml routes XGet's loggers
through it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from xget_pipelines.core.redact import mask

CONTEXT_FIELDS = (
    "account",
    "account_id",
    "operation",
    "proxy_id",
    "request_id",
    "task_id",
    "table",
    "partition",
)
_SECRET_FIELDS = {"password", "cookies", "auth_token", "ct0", "token", "secret", "api_key", "authorization"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        message = (
            meta.get("orig_message")
            if isinstance(meta, dict) and meta.get("orig_message")
            else record.getMessage()
        )
        out: dict = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(str(message)),
        }
        if isinstance(meta, dict):
            for key in ("run_id", "job_name", "step_key"):
                if meta.get(key):
                    out[key] = meta[key]
            if meta.get(
                "step_key"
            ):  # an asset's step is named after its op: the asset key in the lake's terms
                out["asset"] = meta["step_key"].split("[")[0]
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None and key not in _SECRET_FIELDS:
                out[key] = value if isinstance(value, (int, float, bool)) else mask(str(value))
        if record.exc_info:
            out["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def lease_context(lease) -> dict:
    """``extra=`` for a log line about an account lease: who, for what, through which proxy (no secrets)."""
    return {
        "account": lease.username,
        "account_id": lease.account_id,
        "operation": lease.operation,
        "proxy_id": lease.proxy_id,
    }
