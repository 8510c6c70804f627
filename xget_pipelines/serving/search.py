"""Full-text search of tweets: the search index when one is configured (``XGET_SEARCH_URL``, Elasticsearch
or OpenSearch, alias ``XGET_SEARCH_INDEX`` filled by the ``search_tweets`` asset, ``core/sinks/search.py``),
behind a circuit breaker; the lake otherwise, and whenever the index is down: after 3 failures in a minute
the breaker opens and searches go straight to the lake for 30 s (then one trial request). The response says
which answered (``X-Search-Backend``).

The lake search matches every word case-insensitively, newest first; the index matches every word stemmed
(English) or as written, newest first too, and takes and gives the lake's cursors, so paging agrees whichever
answered. Filters the index does not hold (``watch_key``, a task's days) are answered by the lake.
"""

from __future__ import annotations

import logging

from xget_pipelines.core.lake.cursors import Page
from xget_pipelines.core.lake.tweet_reader import TWEET_COLUMNS, TweetFilter, TweetReader
from xget_pipelines.core.sinks.search import SearchSink
from xget_pipelines.core.sinks.search_client import SearchError
from xget_pipelines.core.sinks.search_query import TweetSearch, search_body
from xget_pipelines.core.x.breaker import CircuitBreaker, CircuitOpen

log = logging.getLogger("xget.api.search")
COLUMNS = [*TWEET_COLUMNS, "username"]  # as the lake's pages


class SearchService:
    def __init__(
        self,
        reader: TweetReader,
        url: str = "",
        index: str = "xget-tweets",
        timeout_s: float = 2.0,
        breaker: CircuitBreaker | None = None,
        *,
        users_index: str = "xget-users",
        compat: str = "auto",
        username: str = "",
        password: str | None = None,
    ):
        self.reader = reader
        self.url = url.rstrip("/")
        self.index = index
        self.timeout_s = timeout_s
        self.breaker = breaker or CircuitBreaker(failure_threshold=3, window_s=60.0, cooldown_s=30.0)
        # No retries inside the client: the breaker decides when to ask again, and a search must not wait.
        self._index = (
            SearchSink(
                url,
                tweets_alias=index,
                users_alias=users_index,
                compat=compat,
                username=username,
                password=password,
                timeout_s=timeout_s,
                max_retries=0,
            )
            if url
            else None
        )

    @property
    def state(self) -> str:
        if not self.url:
            return "lake"
        return "open" if self.breaker.is_open("search") else "closed"

    def search(self, f: TweetFilter, limit: int, cursor: str | None) -> tuple[Page, str]:
        if self._index is None:
            return self.reader.page(f, limit, cursor), "lake"
        if f.watch_key or f.days is not None or f.include_deleted:
            return self.reader.page(f, limit, cursor), "lake (filter not in the search index)"
        # Bad input (words, cursor, an unknown user) is the client's error, raised before the breaker
        # lets a request through: it must neither count as an index failure nor hold a half-open trial.
        author = self.reader.resolve_user(f.user) if f.user else None
        search = TweetSearch(f.term or "", author, f.since, f.until, f.lang, f.has_media, f.min_engagement)
        body = search_body(search, limit, cursor)
        try:
            self.breaker.before_request("search")
        except CircuitOpen:
            return self.reader.page(f, limit, cursor), "lake (search index circuit open)"
        try:
            rows, nxt = self._index.tweets_page(body, limit)
        except SearchError as exc:
            self.breaker.failure("search")
            log.warning("search index failed, answering from the lake: %s", exc)
            return self.reader.page(f, limit, cursor), "lake (search index failed)"
        self.breaker.success("search")
        return Page(rows, nxt, list(COLUMNS)), "index"
