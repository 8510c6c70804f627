"""Full-text search of tweets: the search index when one is configured (``XGET_SEARCH_URL``, Elasticsearch
or OpenSearch, index ``XGET_SEARCH_INDEX``), behind a circuit breaker; the lake otherwise, and whenever
the index is down: after 3 failures in a minute the breaker opens and searches go straight to the lake
for 30 s (then one trial request). The response says which answered (``X-Search-Backend``).

The lake search matches every word case-insensitively, newest first; the index ranks the same way
(sorted by time) so paging and results agree whichever answered.
"""

from __future__ import annotations

import logging

import httpx

from xget_pipelines.core.lake.query import LakeReader, Page, TweetFilter, decode_cursor, encode_cursor
from xget_pipelines.core.x.breaker import CircuitBreaker, CircuitOpen

log = logging.getLogger("xget.api.search")


class SearchBackendError(Exception):
    pass


class SearchService:
    def __init__(self, reader: LakeReader, url: str = "", index: str = "xget-tweets", timeout_s: float = 2.0,
                 breaker: CircuitBreaker | None = None):
        self.reader = reader
        self.url = url.rstrip("/")
        self.index = index
        self.timeout_s = timeout_s
        self.breaker = breaker or CircuitBreaker(failure_threshold=3, window_s=60.0, cooldown_s=30.0)
        self._client = httpx.Client(timeout=timeout_s) if url else None

    @property
    def state(self) -> str:
        if not self.url:
            return "lake"
        st = self.breaker._states.get("search")  # noqa: SLF001 - read-only peek for /readyz and metrics
        return "open" if st and st.open_until else "closed"

    def search(self, f: TweetFilter, limit: int, cursor: str | None) -> tuple[Page, str]:
        if self._client is not None:
            try:
                self.breaker.before_request("search")
            except CircuitOpen:
                return self.reader.tweets(f, limit, cursor), "lake (search index circuit open)"
            try:
                page = self._index_search(f, limit, cursor)
            except SearchBackendError as exc:
                self.breaker.failure("search")
                log.warning("search index failed, answering from the lake: %s", exc)
                return self.reader.tweets(f, limit, cursor), "lake (search index failed)"
            self.breaker.success("search")
            return page, "index"
        return self.reader.tweets(f, limit, cursor), "lake"

    def _index_search(self, f: TweetFilter, limit: int, cursor: str | None) -> Page:
        filters: list[dict] = []
        if f.user:
            filters.append({"term": {"author_id": self.reader.resolve_user(f.user)}})
        if f.lang:
            filters.append({"term": {"lang": f.lang}})
        if f.has_media is not None:
            filters.append({"term": {"has_media": f.has_media}})
        if f.since or f.until:
            filters.append({"range": {"created_at": {k: v.isoformat() for k, v in
                                                     (("gte", f.since), ("lt", f.until)) if v}}})
        if f.min_engagement is not None:
            filters.append({"range": {"engagement": {"gte": f.min_engagement}}})
        body: dict = {
            "size": limit + 1,
            "query": {"bool": {"must": [{"match": {"text": {"query": f.term, "operator": "and"}}}],
                               "filter": filters, "must_not": [{"term": {"tombstone": "deleted_by_user"}}]}},
            "sort": [{"created_at": "desc"}, {"tweet_id": "desc"}],
        }
        if cursor:
            body["search_after"] = decode_cursor(cursor, 2)
        try:
            resp = self._client.post(f"{self.url}/{self.index}/_search", json=body)
        except httpx.HTTPError as exc:
            raise SearchBackendError(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise SearchBackendError(f"HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise SearchBackendError(f"HTTP {resp.status_code}: {resp.text[:200]}")
        hits = resp.json().get("hits", {}).get("hits", [])
        rows = [h.get("_source", {}) for h in hits[:limit]]
        nxt = encode_cursor(*hits[limit - 1]["sort"]) if len(hits) > limit else None
        return Page(rows, nxt, list(rows[0]) if rows else [])
