"""Alerts to a chat webhook (Slack-compatible JSON ``{"text": ...}``), retried, never fatal."""

from __future__ import annotations

import logging
import time

import httpx

log = logging.getLogger(__name__)


def post_webhook(
    url: str, text: str, attempts: int = 3, timeout_s: float = 10.0, backoff_s: float = 1.0
) -> bool:
    """POST the alert; True once the webhook accepts it (2xx). Failures are logged, not raised:
    an alert that cannot be delivered must not break the sensor that raised it."""
    for attempt in range(1, attempts + 1):
        try:
            rep = httpx.post(url, json={"text": text}, timeout=timeout_s)
            if rep.is_success:
                return True
            problem = f"HTTP {rep.status_code}"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        log.warning("alert webhook attempt %d/%d failed: %s", attempt, attempts, problem)
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return False
