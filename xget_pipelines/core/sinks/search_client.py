"""The client the search sink and the API use, for Elasticsearch 8/9 and OpenSearch alike.

The elasticsearch 9 client speaks Elasticsearch 9's REST compatibility: every request carries
``Accept``/``Content-Type: application/vnd.elasticsearch+json; compatible-with=9``, and the first 2xx
answer must carry ``X-Elastic-Product: Elasticsearch`` or it raises ``UnsupportedProductError``.
OpenSearch refuses those media types (406) and sends no product header; Elasticsearch 8 refuses
``compatible-with=9`` (400 ``media_type_header_exception``). All of them take plain ``application/json``.
For OpenSearch and older Elasticsearch the client gets its own transport through ``transport_class`` (a
documented parameter of ``Elasticsearch``): it sends plain ``application/json``/``application/x-ndjson``
and vouches for the product on answers without the header. Nothing global is patched: other clients in
the process keep the default behaviour, and ``client.options(...)`` copies share the transport, so they
behave the same (setting the client's private ``_verified_elasticsearch`` flag would not survive
``options()``).

``compat``: ``elasticsearch`` (the client as shipped: Elasticsearch 9), ``opensearch`` (the plain
transport) or ``auto``: ask the server once (``GET /`` as plain JSON, which all of them accept) and take
the plain transport for OpenSearch (``version.distribution``) and for Elasticsearch older than the client.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from elastic_transport import HttpHeaders, Transport, TransportError
from elastic_transport.client_utils import DEFAULT
from elasticsearch import ApiError, Elasticsearch, UnsupportedProductError
from elasticsearch import __versionstr__ as elasticsearch_version

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.redact import scrub, url_without_credentials

COMPAT_MODES = ("auto", "elasticsearch", "opensearch")
CLIENT_MAJOR = int(elasticsearch_version.partition(".")[0])
_COMPAT_MEDIA = re.compile(r"application/vnd\.elasticsearch\+([\w.-]+)(\s*;\s*compatible-with=\d+)?")
_SWITCH = "set XGET_SEARCH_COMPAT=auto (or opensearch)"


class SearchError(XGetError):
    """The search server refused a request (a mapping, documents, the client's media types, credentials):
    sending it again will not help; the message says what to change."""

    partial = None  # set by SearchSink.sync: the SyncResult of the run so far


class SearchUnavailable(SearchError):
    """The search server cannot be reached, timed out or answered 5xx/429: retry later."""


class PlainJsonTransport(Transport):
    """The transport of a plain-JSON client: plain media types out, no product header needed in."""

    def perform_request(self, method: str, target: str, *, headers: Any = DEFAULT, **kwargs: Any) -> Any:
        if isinstance(headers, Mapping):
            headers = HttpHeaders(headers)
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = _COMPAT_MEDIA.sub(r"application/\1", headers[name])
        response = super().perform_request(method, target, headers=headers, **kwargs)
        if "x-elastic-product" in response.meta.headers:
            return response
        vouched = HttpHeaders(response.meta.headers)
        vouched["x-elastic-product"] = "Elasticsearch"  # the client's product check has no switch of its own
        return type(response)(dataclasses.replace(response.meta, headers=vouched), response.body)


def open_client(
    url: str,
    compat: str = "auto",
    *,
    username: str = "",
    password: str | None = None,
    timeout_s: float = 30.0,
    max_retries: int = 2,
) -> tuple[Elasticsearch, str]:
    """A client for ``url`` and the server's flavour (``elasticsearch`` or ``opensearch``). ``auto`` costs
    one ``GET /``; a server that cannot be reached raises :class:`SearchUnavailable`."""
    if compat not in COMPAT_MODES:
        raise SearchError(
            f"search compat mode {compat!r} is not one of {', '.join(COMPAT_MODES)}: fix XGET_SEARCH_COMPAT"
        )
    if not url:
        raise SearchError("no search server configured: set XGET_SEARCH_URL (http://host:9200)")
    options = dict(
        basic_auth=(username, password or "") if username else None,
        request_timeout=timeout_s,
        max_retries=max_retries,
        retry_on_timeout=max_retries > 0,
    )
    if compat != "auto":
        return _client(url, compat == "opensearch", options), compat
    probe = _client(url, True, options)
    try:
        info = probe.info().body
    except (ApiError, TransportError) as exc:
        probe.close()
        raise explain(exc, url, "asking which server it is (GET /)", password) from exc
    flavour, plain = server_flavour(info)
    if plain:
        return probe, flavour
    probe.close()
    return _client(url, False, options), flavour


def server_flavour(info: dict) -> tuple[str, bool]:
    """(``elasticsearch`` | ``opensearch``, whether it needs plain media types) from a ``GET /`` answer."""
    version = info.get("version") or {}
    if str(version.get("distribution", "")).lower() == "opensearch":
        return "opensearch", True
    major = str(version.get("number", "")).partition(".")[0]
    return "elasticsearch", major.isdigit() and int(major) < CLIENT_MAJOR


def _client(url: str, plain: bool, options: dict) -> Elasticsearch:
    if plain:
        return Elasticsearch(url, transport_class=PlainJsonTransport, **options)
    return Elasticsearch(url, **options)


def explain(exc: Exception, url: str, doing: str, password: str | None = None) -> SearchError:
    """The client's exception as an XGet error naming the server (no credentials) and what to do."""
    where = f"the search server at {url_without_credentials(url)}"
    detail = scrub(str(exc)[:500], [password])
    if isinstance(exc, UnsupportedProductError):
        return SearchError(
            f"{where} is not Elasticsearch (its answers lack X-Elastic-Product) while "
            f"{doing}; if it is OpenSearch, {_SWITCH}"
        )
    if isinstance(exc, ApiError):
        status = exc.meta.status if exc.meta is not None else 0
        if status in (400, 406) and ("compatible-with" in detail or "media_type_header" in detail):
            return SearchError(
                f"{where} refused the Elasticsearch {CLIENT_MAJOR} client's media types "
                f"(HTTP {status}) while {doing}: it is OpenSearch or an older Elasticsearch; "
                f"{_SWITCH}"
            )
        if status in (401, 403):
            return SearchError(
                f"{where} refused the credentials (HTTP {status}) while {doing}: check "
                "XGET_SEARCH_USERNAME and XGET_SEARCH_PASSWORD"
            )
        if status == 404 and "index_not_found" in detail:
            return SearchError(
                f"{where} has no such index while {doing}: materialize the search_tweets and "
                "search_users assets to build the indexes"
            )
        if status == 429 or status >= 500:
            return SearchUnavailable(
                f"{where} is overloaded or failing (HTTP {status}) while {doing}: {detail}. Retry later"
            )
        return SearchError(f"{where} refused {doing} (HTTP {status}): {detail}")
    if isinstance(exc, TransportError):
        return SearchUnavailable(
            f"{where} cannot be reached while {doing} ({type(exc).__name__}: {detail}). "
            "Check that it runs and that XGET_SEARCH_URL points at it"
        )
    return SearchError(f"{where} failed while {doing}: {type(exc).__name__}: {detail}")
