"""Which query id and feature switches each GraphQL operation takes: as X's web client has them today.

X rotates query ids with its web client's releases, and a stale one gets 404 with an empty body
(twscrape #306); an operation whose required switches are missing or null gets 400 code 336 naming them.
The current ones are in X's web bundles: ``queryId:"…",operationName:"…",operationType:"query",
metadata:{featureSwitches:[…],fieldToggles:[…]}`` records in the scripts the page links and the chunks
those import (some operations only in lazily imported chunks), the switches' values in the page itself
(``"<switch>":{"value":true}``): the way twscrape's ``scripts/update-gql-ops.py`` finds them, and public
field notes of 2026-09-05 measured on x.com.

Some operations are compiled Relay-style instead: ``params:{id:"…",metadata:{},name:"…",operationKind:"query"
…}`` with no switch list (AboutAccountQuery, in a lazily loaded chunk; emulator/build.py cites the client
that reads both forms). Those are read too, with no switches: X's own clients send them ``variables`` only,
so ``Operation.params`` leaves ``features`` out when an operation has none.

``discover`` reads them from a page load (``web.WebClient``); ``OperationCatalog`` keeps them in the control
plane (``x_operations``: query id, switches, toggles, the bundle they came from, when first seen and last
confirmed) so every worker uses what any of them found, and falls back to twscrape's constants for an
operation never found. ``OperationCatalog.recover`` is what a request does after a 404 with an empty body:
take another worker's newer find, else look again (at most once a minute), else give up.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

import orjson
import twscrape
from sqlalchemy import Engine, select
from twscrape import api as tws_api
from twscrape.xclid import XClIdParseError, get_scripts_list

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import XOperation
from xget_pipelines.core.x.web import WebClient

FALLBACK_SOURCE = f"twscrape {getattr(twscrape, '__version__', '0.20.1')} constants"
# Field toggles the web client sends as false (twscrape's choice; X's bundles list the names only).
_FALLBACK_TOGGLES = {
    "SearchTimeline": ["withArticleRichContentState"],
    "ListLatestTweetsTimeline": ["withArticleRichContentState"],
    "UserMedia": ["withArticlePlainText"],
}
_RECORD = re.compile(
    r'queryId:\s*["\'`]([\w-]+)["\'`]\s*,\s*operationName:\s*["\'`](\w+)["\'`]\s*,\s*operationType:\s*["\'`](\w+)'
    r'["\'`](?:\s*,\s*metadata:\s*\{\s*featureSwitches:\s*\[([^\]]*)\](?:\s*,\s*fieldToggles:\s*\[([^\]]*)\])?)?'
)
_RELAY = re.compile(
    r'params:\s*\{\s*id:\s*["\'`]([\w-]+)["\'`]\s*,\s*metadata:\s*\{[^{}]*\}\s*,\s*name:\s*["\'`](\w+)["\'`]'
    r'\s*,\s*operationKind:\s*["\'`](\w+)["\'`]'
)
_SWITCH = re.compile(r'"([a-z0-9_]+)":\{"value":(true|false)\}')
_IMPORT = re.compile(r'(?:from|import)\s*\(?\s*["\'`](\.{1,2}/[^"\'`]+?\.js)["\'`]')
_NAME = re.compile(r'["\'`]([\w.-]+)["\'`]')
MAX_SCRIPTS = 3000  # X's page and lazy chunks are about 1,100 files (field notes of 2026-09-05)
MIN_REDISCOVERY_S = 60.0


@functools.cache
def known_operations() -> dict[str, str]:
    """``{operation: query id}`` of twscrape's constants (``OP_*``). Do not mutate the answer (it is
    cached)."""
    out = {}
    for name in dir(tws_api):
        if name.startswith("OP_"):
            qid, _, op = getattr(tws_api, name).partition("/")
            out[op] = qid
    return out


@dataclass(frozen=True)
class Operation:
    """What one request of ``name`` sends: its query id, feature switches and field toggles."""

    name: str
    query_id: str
    features: dict[str, bool]
    field_toggles: dict[str, bool]
    source: str
    found_at: datetime | None = None
    checked_at: datetime | None = None

    @property
    def path(self) -> str:
        return f"{self.query_id}/{self.name}"

    def params(self, variables: dict) -> dict[str, str]:
        params = {"variables": orjson.dumps(variables).decode()}
        if self.features:  # an operation whose bundle lists no switch goes without, as X's client sends it
            params["features"] = orjson.dumps(self.features).decode()
        if self.field_toggles:
            params["fieldToggles"] = orjson.dumps(self.field_toggles).decode()
        return params


def fallback(name: str) -> Operation:
    qid = known_operations().get(name)
    if qid is None:
        raise ValueError(
            f"unknown X operation {name!r}: it was never found in X's bundles and twscrape "
            f"has no OP_{name}; run `xget x ops --refresh`"
        )
    return Operation(
        name,
        qid,
        dict(tws_api.GQL_FEATURES),
        dict.fromkeys(_FALLBACK_TOGGLES.get(name, ()), False),
        FALLBACK_SOURCE,
    )


@dataclass
class Found:
    query_id: str
    switches: list[str]
    toggles: list[str]
    url: str


@dataclass
class Discovery:
    """What one look at X's web app found."""

    page_url: str
    scripts: int = 0
    failed: int = 0
    switches: dict[str, bool] = field(default_factory=dict)
    operations: dict[str, Found] = field(default_factory=dict)


def _names(raw: str | None) -> list[str]:
    return _NAME.findall(raw or "")


def read_bundle(text: str, url: str, into: Discovery) -> None:
    """Take the operation records of one script: ``queryId``/``operationName`` records, then Relay-style
    ``params`` records (no switches) for operations no ``queryId`` record named."""
    for qid, name, kind, switches, toggles in _RECORD.findall(text):
        if kind == "query":
            into.operations[name] = Found(qid, _names(switches), _names(toggles), url)
    for qid, name, kind in _RELAY.findall(text):
        if kind == "query" and name not in into.operations:
            into.operations[name] = Found(qid, [], [], url)


async def discover(client: WebClient, web_url: str, *, concurrency: int = 16) -> Discovery:
    """Load ``<web_url>/home`` and every script it links or they import; collect operations and switches."""
    page_url = f"{web_url}/home"
    page = await client.text(page_url)
    found = Discovery(page_url, switches={k: v == "true" for k, v in _SWITCH.findall(page)})
    try:
        queue = [u for u in get_scripts_list(page) if "/i18n/" not in u and "/icons/" not in u]
    except XClIdParseError:
        queue = []
    if not queue:
        raise LookupError(f"{page_url} links no scripts: is the session signed in, is it X's web app?")
    seen = set(queue)
    sem = asyncio.Semaphore(concurrency)

    async def load(url: str) -> tuple[str, str | None]:
        async with sem:
            try:
                return url, await client.text(url)
            except Exception:  # noqa: BLE001 - one chunk that fails to load is counted, not fatal
                return url, None

    while queue and found.scripts + found.failed < MAX_SCRIPTS:
        batch, queue = queue[:MAX_SCRIPTS], []
        for url, text in await asyncio.gather(*(load(u) for u in batch)):
            if text is None:
                found.failed += 1
                continue
            found.scripts += 1
            read_bundle(text, url, found)
            for ref in _IMPORT.findall(text):
                nxt = urljoin(url, ref)
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
    return found


@dataclass
class RefreshReport:
    page_url: str
    scripts: int
    failed: int
    found: int
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (operation, old id, new id)
    missing: list[str] = field(default_factory=list)  # known operations the bundles no longer have


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class OperationCatalog:
    """The operations XGet sends, shared by every worker through the control-plane DB."""

    def __init__(self, engine: Engine, *, reload_s: float = 60.0, clock: Callable[[], float] = time.time):
        self.engine, self.reload_s, self.clock = engine, reload_s, clock
        self._rows: dict[str, Operation] = {}
        self._loaded_at = -1e18

    def get(self, name: str) -> Operation:
        if self.clock() - self._loaded_at > self.reload_s:
            self.reload()
        return self._rows.get(name) or fallback(name)

    def reload(self) -> None:
        with read_only(self.engine) as conn:
            rows = conn.execute(select(XOperation.__table__)).all()
        self._rows = {
            r.operation: Operation(
                r.operation,
                r.query_id,
                dict(r.features),
                dict.fromkeys(r.field_toggles, False),
                r.source,
                _utc(r.found_at),
                _utc(r.checked_at),
            )
            for r in rows
        }
        self._loaded_at = self.clock()

    def listing(self) -> list[Operation]:
        """Every operation twscrape knows or a refresh found, with what XGet would send."""
        self.reload()
        names = sorted({*known_operations(), *self._rows})
        return [self.get(n) for n in names]

    def last_checked(self) -> datetime | None:
        times = [op.checked_at for op in self._rows.values() if op.checked_at is not None]
        return max(times) if times else None

    def store(self, found: Discovery, known: Iterable[str] = ()) -> RefreshReport:
        """Keep what ``found`` holds; report changed ids and known operations it no longer has."""
        now = datetime.now(UTC)
        self.reload()
        report = RefreshReport(found.page_url, found.scripts, found.failed, len(found.operations))
        with self.engine.begin() as conn:
            for name, op in sorted(found.operations.items()):
                before = self._rows.get(name) or (fallback(name) if name in known_operations() else None)
                features = {s: found.switches.get(s, tws_api.GQL_FEATURES.get(s, False)) for s in op.switches}
                same = before is not None and before.query_id == op.query_id
                if before is not None and not same:
                    report.changed.append((name, before.query_id, op.query_id))
                row = {
                    "query_id": op.query_id,
                    "features": features,
                    "field_toggles": op.toggles,
                    "source": op.url,
                    "checked_at": now,
                    "found_at": (before.found_at or now) if same else now,
                }
                if conn.execute(select(XOperation.operation).where(XOperation.operation == name)).first():
                    conn.execute(
                        XOperation.__table__.update().where(XOperation.operation == name).values(**row)
                    )
                else:
                    conn.execute(XOperation.__table__.insert().values(operation=name, **row))
        report.missing = sorted(n for n in known if n not in found.operations)
        self.reload()
        return report

    def recover(
        self, sent: Operation, look: Callable[[], Discovery], *, features: bool = False
    ) -> Operation | None:
        """After X refused ``sent``: what to send instead, or None. A 404 with an empty body means a retired
        query id (a new id is an answer); 400 code 336 a switch it now requires (``features=True``: new
        switches are an answer). Another worker's newer find comes first; else X's bundles are read again
        (``look``), unless that was done less than a minute ago."""

        def newer(op: Operation) -> bool:
            return op.features != sent.features if features else op.query_id != sent.query_id

        self.reload()
        if newer(current := self.get(sent.name)):
            return current
        checked = self.last_checked()
        if checked is not None and (self.clock() - checked.timestamp()) < MIN_REDISCOVERY_S:
            return None
        self.store(look())
        current = self.get(sent.name)
        return current if newer(current) else None
