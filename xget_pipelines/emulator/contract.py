"""The request contract X enforces on its web GraphQL API, and the releases it rotates through.

Each rule answers exactly as X is reported to (see ``settings.Contract`` for the sources):

- query id: ``/i/api/graphql/<queryId>/<Operation>`` with a query id that is not the operation's
  current one gets 404 and an empty body; after a rotation the previous release's ids keep working for a
  grace period, as X's CDN keeps serving the old bundles to open tabs for a while.
- bearer: none is 400 code 215 "Bad Authentication data." (X's documented response codes: "Requests
  without authentication are considered invalid"); one X does not know is 401 code 89.
- session: an ``auth_token`` X does not know is 401 code 32 "Could not authenticate you."; a
  ``x-csrf-token`` header that is not the ``ct0`` cookie is 403 code 353 "This request requires a
  matching csrf cookie and header." with a fresh ``ct0`` in Set-Cookie (field notes of 2026-09-05).
- features: a switch the operation's bundle lists, missing or null in ``features``, is 400 code 336
  "The following features cannot be null: a, b".
- transaction id: on the gated operations, an ``x-client-transaction-id`` that does not decode to this
  account's verification key, a time within ``transaction_id_max_age_s`` and the hash of this method,
  path and time with the animation key gets 404 and an empty body. The id is base64 (no padding) of
  one random byte followed by, each XORed with it: the key bytes, the time (seconds since
  2023-05-01 07:00 UTC, 4 bytes little-endian), the first 16 bytes of
  SHA-256("<METHOD>!<path>!<time>obfiowerehiring<animation key>") and the number 3.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

import orjson
from twscrape.account import TOKEN

from .build import NO_FEATURES, Build, default_features
from .settings import Contract

TX_EPOCH = 1682924400  # the transaction id's time origin (2023-05-01 07:00 UTC)
TX_KEYWORD = "obfiowerehiring"
TX_SUFFIX = 3
WEB_BEARER = TOKEN  # the web client's public bearer, as every client (and X's page) knows it


def _error(code: int, message: str, **extra: object) -> bytes:
    return orjson.dumps({"errors": [{"code": code, "message": message, **extra}]})


NO_BEARER = (400, _error(215, "Bad Authentication data."))
BAD_BEARER = (401, _error(89, "Invalid or expired token."))
BAD_SESSION = (401, _error(32, "Could not authenticate you."))
CSRF_MISMATCH = (403, _error(353, "This request requires a matching csrf cookie and header."))


def features_error(missing: list[str]) -> bytes:
    return _error(
        336,
        f"The following features cannot be null: {', '.join(missing)}",
        kind="Validation",
        name="BadRequestError",
        source="Client",
    )


@dataclass
class Release:
    build: Build
    started: float
    retired: float | None = None  # when the next release replaced it


class Releases:
    """The web client's releases so far, newest last; thread-safe (the server answers concurrently)."""

    def __init__(self, seed: int, operations: tuple[str, ...], contract: Contract, now: float | None = None):
        self.seed, self.operations, self.contract = seed, operations, contract
        self._features = default_features()
        self._lock = threading.Lock()
        self._all = [Release(Build(seed, 0, operations, dict(self._features)), now or time.time())]
        self._keys: dict[tuple[int, str], tuple[bytes, str]] = {}

    @property
    def current(self) -> Build:
        return self._all[-1].build

    def rotate(self, now: float | None = None, add_features: dict[str, bool] | None = None) -> Build:
        """A new release: new query ids, bundles, indices and frames; ``add_features`` become required
        by every operation (X adding a switch its servers insist on)."""
        now = time.time() if now is None else now
        with self._lock:
            self._features.update(add_features or {})
            build = Build(self.seed, len(self._all), self.operations, dict(self._features))
            if add_features:
                for op in self.operations:
                    if op not in NO_FEATURES:
                        build.required[op] = tuple(sorted({*build.required[op], *add_features}))
            self._all[-1].retired = now
            self._all.append(Release(build, now))
            return build

    def tick(self, now: float) -> None:
        """Rotate when ``rotate_every_s`` has passed since the current release started."""
        every = self.contract.rotate_every_s
        if every is not None and now - self._all[-1].started >= every:
            self.rotate(now)

    def live(self, now: float) -> list[Build]:
        """Releases whose ids and keys are still accepted: the current one, and those retired less than
        ``query_id_grace_s`` ago. Newest first."""
        grace = self.contract.query_id_grace_s
        return [r.build for r in reversed(self._all) if r.retired is None or now - r.retired < grace]

    def build(self, number: int) -> Build | None:
        return self._all[number].build if 0 <= number < len(self._all) else None

    def key(self, build: Build, subject: str) -> tuple[bytes, str]:
        cached = self._keys.get((build.number, subject))
        if cached is None:
            cached = self._keys[(build.number, subject)] = build.verification_key(subject)
        return cached

    def snapshot(self) -> list[dict]:
        return [
            {
                "release": r.build.number,
                "started": r.started,
                "retired": r.retired,
                "query_ids": r.build.query_ids,
                "files": r.build.files,
            }
            for r in self._all
        ]

    # -- the rules ------------------------------------------------------------------------------------

    def query_id_ok(self, query_id: str, operation: str, now: float) -> bool:
        if operation not in self.operations:
            return False
        if not self.contract.query_ids:
            return True
        return any(b.query_ids[operation] == query_id for b in self.live(now))

    def missing_features(self, operation: str, raw: str | None) -> list[str]:
        if not self.contract.features:
            return []
        try:
            sent = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            sent = {}
        sent = sent if isinstance(sent, dict) else {}
        return [name for name in self.current.required[operation] if sent.get(name) is None]

    def transaction_id_ok(self, value: str | None, method: str, path: str, subject: str, now: float) -> bool:
        """Whether ``value`` is a transaction id made from ``subject``'s page of a live release for this
        method and path, within the allowed age."""
        if not value:
            return False
        try:
            raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError):
            return False
        if len(raw) < 2:
            return False
        payload = bytes(b ^ raw[0] for b in raw[1:])
        for build in self.live(now):
            key, anim = self.key(build, subject)
            if len(payload) != len(key) + 4 + 16 + 1 or not hmac.compare_digest(payload[: len(key)], key):
                continue
            stamp = int.from_bytes(payload[len(key) : len(key) + 4], "little")
            age = (now - TX_EPOCH) - stamp
            if not -60 <= age <= self.contract.transaction_id_max_age_s or payload[-1] != TX_SUFFIX:
                return False
            digest = hashlib.sha256(f"{method.upper()}!{path}!{stamp}{TX_KEYWORD}{anim}".encode()).digest()
            return hmac.compare_digest(payload[len(key) + 4 : len(key) + 20], digest[:16])
        return False
