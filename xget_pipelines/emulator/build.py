"""X's web client as the emulator serves it: one *build* per release, in the 2026 "x-web" shape.

What a release of X's web client carries, and therefore what clients read from it (evidence in
``web.py``): the GraphQL operations' query ids and the feature switches each one requires (in the
JavaScript bundles, ``queryId:"…",operationName:"…",operationType:"query",metadata:{featureSwitches:[…]}``),
the switches' current values (in the page, ``"<switch>":{"value":true}``), the bundle file names
(content hashes), the signing script's key-byte indices and the four loading-animation frames. A
*rotation* is a new release: every query id and file name changes, the indices and frames are drawn
again. Everything is a pure function of (seed, release number), so a test can state what a client must
find; release 0's query ids are the ones twscrape 0.20.1 ships (X's on the day it was released), so a
stock twscrape works against a fresh emulator as it worked against X that day.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass, field
from functools import cached_property

from twscrape import api as _tws_api  # feature switches of release 0

from xget_pipelines.core.x.operations import known_operations  # twscrape's query ids: release 0's

from .anim import ROW_LEN, ROWS, animation_key

ASSETS_BASE = "https://abs.twimg.com/x-web/x-web/assets/"  # where X's 2026 web build lives (twscrape #312)
ASSETS_PATH = "/x-web/x-web/assets/"
KEY_BYTES = 48  # the verification key's length on X (public field notes of 2026-09-05: 48 bytes)
FRAMES = 4  # loading-x-anim-0..3
# Operations whose query ids sit in a chunk the entry script imports lazily, as on X (the field notes
# found Retweeters, ListLatestTweetsTimeline and the community timelines only in lazy chunks).
LAZY = frozenset(
    {
        "Retweeters",
        "ListLatestTweetsTimeline",
        "CommunityTweetsTimeline",
        "GenericTimelineById",
        "AboutAccountQuery",
    }
)
# Operations X's web client compiles Relay-style, ``params:{id:"…",metadata:{},name:"…",
# operationKind:"query"}`` rather than as a ``queryId``/``operationName`` record: AboutAccountQuery is
# one, in a lazily loaded "loader.AboutAccount" chunk (the unrager client's query-id scraper, which reads
# both forms for it).
RELAY = frozenset({"AboutAccountQuery"})
# Operations X's clients call without a ``features`` parameter, which X accepts: AboutAccountQuery (browser
# extensions showing account countries send ``variables`` only, e.g. xaitax/x-account-location-device's
# api-client.js) and the community member and moderator slices (a public userscript's endpoint table:
# "community slices send no features"). They require no switch, now or after a release adds one.
NO_FEATURES = frozenset({"AboutAccountQuery", "membersSliceTimeline_Query", "moderatorsSliceTimeline_Query"})
FIELD_TOGGLES = {
    "SearchTimeline": ["withArticleRichContentState"],
    "ListLatestTweetsTimeline": ["withArticleRichContentState"],
    "UserMedia": ["withArticlePlainText"],
    "TweetDetail": ["withArticleRichContentState", "withArticlePlainText"],
}
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def default_features() -> dict[str, bool]:
    return dict(_tws_api.GQL_FEATURES)


def _rng(*parts: object) -> random.Random:
    return random.Random(hashlib.sha256("|".join(map(str, parts)).encode()).digest())


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(n))


@dataclass
class Build:
    """One release of X's web client (``number`` 0, 1, 2... per rotation) for a world seed."""

    seed: int
    number: int
    operations: tuple[str, ...]
    features: dict[str, bool]  # every switch the page lists, with its value
    required: dict[str, tuple[str, ...]] = field(init=False)  # per operation, the switches it needs

    def __post_init__(self) -> None:
        rng = _rng("features", self.seed, self.number)
        names = sorted(self.features)
        core = [n for n in names if rng.random() < 0.5]  # what every timeline-like query asks for
        self.required = {}
        for op in self.operations:
            extra = [
                n
                for n in names
                if n not in core and _rng("feature", self.seed, self.number, op, n).random() < 0.4
            ]
            self.required[op] = () if op in NO_FEATURES else tuple(sorted(core + extra))

    @cached_property
    def query_ids(self) -> dict[str, str]:
        ids = known_operations() if self.number == 0 else {}
        return {
            op: ids.get(op) or _token(_rng("qid", self.seed, self.number, op), 22) for op in self.operations
        }

    @cached_property
    def files(self) -> dict[str, str]:
        """Bundle file names by role, each with its content hash (Vite's ``name-<hash>.js``)."""
        rng = _rng("files", self.seed, self.number)
        roles = ("entry-client", "vendor-react", "sentry-filter", "sign.o", "timelines", "i18n-en")
        return {role: f"{role}-{_token(rng, 8)}.js" for role in roles}

    @cached_property
    def indices(self) -> tuple[int, ...]:
        """Key-byte indices of the signing script: the row byte, then three time bytes (X's are 4)."""
        rng = _rng("indices", self.seed, self.number)
        return tuple(rng.sample([i for i in range(KEY_BYTES) if i != 5], 4))

    @cached_property
    def frames(self) -> list[list[list[int]]]:
        rng = _rng("frames", self.seed, self.number)
        return [[[rng.randrange(256) for _ in range(ROW_LEN)] for _ in range(ROWS)] for _ in range(FRAMES)]

    def verification_key(self, subject: str) -> tuple[bytes, str]:
        """(key bytes, animation key) of ``subject``'s page loads in this build (an account's name, or
        ``<anonymous>``). Keys whose animation key clients could compute differently are skipped."""
        for attempt in range(1000):
            key = _rng("vk", self.seed, self.number, subject, attempt).randbytes(KEY_BYTES)
            anim = animation_key(key, self.frames, self.indices)
            if anim is not None:
                return key, anim
        raise RuntimeError("no usable verification key")  # unreachable in practice: most keys are usable

    def asset_url(self, role: str) -> str:
        return ASSETS_BASE + self.files[role]

    def file_role(self, name: str) -> str | None:
        return next((role for role, file in self.files.items() if file == name), None)

    # -- contents -------------------------------------------------------------------------------------

    def page(self, subject: str, logged_in: bool, body: str = "") -> str:
        """The HTML shell X serves for any page of the web app (``/home``, ``/<handle>``)."""
        key, _ = self.verification_key(subject)
        entry = "entry-client" if logged_in else "entry-client-logged-out"
        entry_url = (
            self.asset_url("entry-client")
            if logged_in
            else ASSETS_BASE + self.files["entry-client"].replace("entry-client", "entry-client-logged-out")
        )
        preload = "".join(
            f'<link rel="modulepreload" crossorigin href="{self.asset_url(r)}"/>'
            for r in ("vendor-react", "sentry-filter", "i18n-en")
        )
        switches = ",".join(
            f'"{name}":{{"value":{str(v).lower()}}}' for name, v in sorted(self.features.items())
        )
        return (
            '<!DOCTYPE html><html dir="ltr" lang="en"><head><meta charset="utf-8"/>'
            '<meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1,'
            'user-scalable=0"/>'
            '<link rel="preconnect" href="https://abs.twimg.com"/>'
            f'{preload}<meta name="twitter-site-verification" content="{base64.b64encode(key).decode()}"/>'
            f'<title>X</title><script type="module" crossorigin src="{entry_url}" data-entry="{entry}">'
            '</script></head><body><div id="react-root">'
            f'<div id="placeholder" style="display:none">{self._svgs()}</div>'
            f'{body}</div><script nonce="{_token(_rng("nonce", self.seed, self.number, subject), 24)}">'
            f'window.__INITIAL_STATE__={{"featureSwitch":{{"defaultConfig":{{{switches}}},"user":{{"config":{{}}}}}},'
            f'"settings":{{"remote":{{"settings":{{"language":"en"}}}}}}}};window.__META_DATA__={{"release":'
            f'"{self.number}"}};</script></body></html>'
        )

    def _svgs(self) -> str:
        """The four hidden loading animations; the second path of each holds 16 rows of 11 numbers."""
        out = []
        for i, frame in enumerate(self.frames):
            rows = "C".join(" {},{} {},{} {},{} {},{} {},{} {}".format(*row) for row in frame)
            out.append(
                f'<svg id="loading-x-anim-{i}" viewBox="0 0 24 24" aria-hidden="true"><g>'
                '<path d="M12 1.5C6.2 1.5 1.5 6.2 1.5 12S6.2 22.5 12 22.5" fill="none"/>'
                f'<path d="M 10,30 C{rows}" fill="#1d9bf0"/></g></svg>'
            )
        return "".join(out)

    def script(self, role: str) -> str:
        """The JavaScript of one bundle file."""
        files = self.files
        if role == "entry-client":
            ops = [op for op in self.operations if op not in LAZY]
            return (
                f'import{{j as e,r as t}}from"./{files["vendor-react"]}";'
                f'import"./{files["sentry-filter"]}";'
                f'const n=()=>import("./{files["timelines"]}");'
                + "".join(self._operation(op) for op in ops)
                + "export{n as loadTimelines};"
            )
        if role == "timelines":
            return "".join(self._operation(op) for op in self.operations if op in LAZY)
        if role == "sentry-filter":
            return (
                'const a=/^(?:chrome|moz)-extension:/;export function f(e){return!a.test(e.filename||"")}'
                f'export const s=()=>import("./{files["sign.o"]}");'
            )
        if role == "sign.o":
            row, *times = self.indices
            product = "*".join(f"parseInt(o[{i}], 16)" for i in times)
            return (
                f"export function k(o,c){{return[c[parseInt(o[{row}], 16)%16],"
                f"Math.round(({product})/10)*10]}}"
            )
        if role == "vendor-react":
            return 'export const j=(e,t)=>({type:e,props:t}),r={version:"19.2.0"};'
        return 'export default{"en":{"home":"Home"}};'  # i18n

    def _operation(self, op: str) -> str:
        if op in RELAY:
            return (
                f'e.exports={{params:{{id:"{self.query_ids[op]}",metadata:{{}},name:"{op}",'
                'operationKind:"query",text:null}};'
            )
        switches = ",".join(f'"{s}"' for s in self.required[op])
        toggles = ",".join(f'"{t}"' for t in FIELD_TOGGLES.get(op, ()))
        return (
            f'e.exports={{queryId:"{self.query_ids[op]}",operationName:"{op}",operationType:"query",'
            f"metadata:{{featureSwitches:[{switches}],fieldToggles:[{toggles}]}}}};"
        )
