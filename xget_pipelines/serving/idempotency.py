"""Where the API keeps the answers of POSTs sent with an ``Idempotency-Key`` (see ``gateway``).

Records are per ``principal`` (the caller's namespace: ``user:<id>``, ``key:<id>``, ``anon:<hash of the
address>`` or ``cred:<hash of a credential that does not authenticate>``) and key; ``request_hash`` is the
request's fingerprint (method, path, query string, body); both are the gateway's (``gateway``). Records
written before namespaces and fingerprints took this form (a bare hash of the credential, a hash of path
and body) have no ``:`` in their principal, so no request finds them again; they go with the TTL.

A store has two calls, made around the request:

- ``claim(principal, key, request_hash)``: ``"claimed"`` (run the request), ``"in_progress"`` (another
  request with this key is running: 409), ``"mismatch"`` (the key was used with another request: 422), or
  the stored answer ``(status, body, content_type)`` to replay;
- ``finish(principal, key, answer)``: keep the answer (``None``: forget the claim, the request may be
  retried for real).

``SqlIdempotencyStore`` keeps them in the control plane's ``idempotency_keys`` (the embedded default;
replicas that share the database share the keys) and deletes those past the TTL (24 h).
``RedisIdempotencyStore`` (``XGET_REDIS_URL``) keeps them in Redis, one hash per key that Redis expires:
answers after 24 h, and a claim whose replica died before answering after ``claim_ttl_s``, so a crashed
request does not hold its key for a day. While Redis is unreachable a keyed POST is answered 503
(``StoreUnavailable``) rather than run without the guard: a retry would otherwise run twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import time

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from xget_pipelines.core.db.models import IdempotencyRecord

IDEMPOTENCY_TTL_S = 24 * 3600
PURGE_EVERY_S = 60.0  # expired rows are deleted by the first claim after this long (per process and database)
_last_purge: dict[str, float] = {}
Answer = tuple[int, bytes, str | None]


class StoreUnavailable(RuntimeError):
    """The idempotency store cannot be reached; the request must not run unguarded."""


class SqlIdempotencyStore:
    def __init__(self, engine):
        self.engine = engine

    def claim(self, principal: str, key: str, request_hash: str) -> str | Answer:
        with self.engine.begin() as conn:
            self._purge_expired(conn)
            row = conn.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
                )
            ).first()
            if row is not None and (time.time() - _ts(row.created_at)) > IDEMPOTENCY_TTL_S:
                conn.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == row.id))
                row = None
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(IdempotencyRecord).values(
                                principal=principal,
                                key=key,
                                request_hash=request_hash,
                                created_at=dt.datetime.now(dt.UTC),
                            )
                        )
                    return "claimed"
                except IntegrityError:
                    return "in_progress"
            if row.request_hash != request_hash:
                return "mismatch"
            if row.status_code is None:
                return "in_progress"
            return row.status_code, (row.body or "").encode(), row.content_type

    def _purge_expired(self, conn) -> None:
        """Rows older than the TTL go: nobody can replay them, and they are not kept for their own sake."""
        now = time.time()
        url = str(self.engine.url)
        if now - _last_purge.get(url, 0.0) < PURGE_EVERY_S:
            return
        _last_purge[url] = now
        cutoff = dt.datetime.fromtimestamp(now - IDEMPOTENCY_TTL_S, dt.UTC)
        conn.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))

    def finish(self, principal: str, key: str, answer: Answer | None) -> None:
        with self.engine.begin() as conn:
            where = (IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
            if answer is None:
                conn.execute(delete(IdempotencyRecord).where(*where))
            else:
                status, body, content_type = answer
                conn.execute(
                    update(IdempotencyRecord)
                    .where(*where)
                    .values(
                        status_code=status, body=body.decode("utf-8", "replace"), content_type=content_type
                    )
                )


# KEYS[1] the record; ARGV: request hash, claim ttl (ms). Returns {"claimed"} / {"in_progress"} /
# {"mismatch"} / {"answer", status, body, content type}: one round trip, atomic across replicas.
_CLAIM = """
local record = redis.call('HMGET', KEYS[1], 'hash', 'status', 'body', 'type')
if record[1] == false then
  redis.call('HSET', KEYS[1], 'hash', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'claimed'}
end
if record[1] ~= ARGV[1] then return {'mismatch'} end
if record[2] == false then return {'in_progress'} end
return {'answer', record[2], record[3], record[4] or ''}
"""


class RedisIdempotencyStore:
    """The same records in Redis (``xget:idem:<principal>:<sha256 of the key>``), shared by every replica."""

    def __init__(self, url: str, claim_ttl_s: float = 600.0, timeout_s: float = 0.5):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._claim = self._redis.register_script(_CLAIM)
        self._errors = (redis.RedisError, OSError)
        self.claim_ttl_ms = int(claim_ttl_s * 1000)

    @staticmethod
    def _key(principal: str, key: str) -> str:
        return f"xget:idem:{principal}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def claim(self, principal: str, key: str, request_hash: str) -> str | Answer:
        try:
            out = self._claim(keys=[self._key(principal, key)], args=[request_hash, self.claim_ttl_ms])
        except self._errors as exc:
            raise StoreUnavailable(
                f"the idempotency store (Redis) is unreachable ({type(exc).__name__})"
            ) from exc
        kind = out[0].decode()
        if kind != "answer":
            return kind
        return int(out[1]), bytes(out[2]), out[3].decode() or None

    def finish(self, principal: str, key: str, answer: Answer | None) -> None:
        name = self._key(principal, key)
        try:
            if answer is None:
                self._redis.delete(name)
                return
            status, body, content_type = answer
            pipe = self._redis.pipeline()
            pipe.hset(name, mapping={"status": status, "body": body, "type": content_type or ""})
            pipe.expire(name, IDEMPOTENCY_TTL_S)
            pipe.execute()
        except self._errors:
            # The answer went out; unkept, its claim expires after claim_ttl_s and a retry then runs again.
            import logging

            logging.getLogger("xget.api").warning(
                "idempotency: could not keep an answer in Redis; its key is free again in %d s",
                self.claim_ttl_ms // 1000,
            )


def _ts(value) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()
