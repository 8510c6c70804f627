"""Principals of recently seen credentials, so a burst of requests with one token or key costs one lookup.

A client that pages through results or polls a task sends the same credential many times a second; without
a cache each request reads its key and its user from the control plane. An entry lives ``ttl_s`` seconds
(``XGET_API_AUTH_CACHE_S``, 5 by default; 0 turns the cache off) and never past its credential's own
expiry (``Principal.valid_until``). Only successes are kept: a wrong key is checked every time.

Changes made through this API process (a user disabled, a role changed, a key revoked, a password
changed) clear the cache at once. A change made elsewhere (the CLI, another API replica) reaches this
process within ``ttl_s``: that is the bound the setting buys its speed with.
"""

from __future__ import annotations

import hashlib
import threading
import time

from xget_pipelines.core.auth.users import Principal


class PrincipalCache:
    def __init__(self, ttl_s: float, max_entries: int = 10_000):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(credential: str) -> str:
        return hashlib.sha256(credential.encode()).hexdigest()  # the secret itself is never a key here

    def get(self, credential: str) -> Principal | None:
        if self.ttl_s <= 0:
            return None
        key = self._key(credential)
        entry = self._entries.get(key)
        if entry is None:
            return None
        until, principal = entry
        if time.time() >= until:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return principal

    def put(self, credential: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        until = time.time() + self.ttl_s
        if principal.valid_until is not None:
            until = min(until, principal.valid_until)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                now = time.time()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[self._key(credential)] = (until, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
