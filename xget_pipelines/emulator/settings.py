"""Behaviour switches of the emulator: rate limits, faults, growth, pagination details.

Pydantic models so the same definitions validate the settings passed from Python and the
JSON posted to `/_emulator/faults` at run time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from xget_pipelines.core.x.limits import X_RATE_LIMITS

# Per-account, per-operation requests per window, as observed on X, with their sources: core/x/limits.py.
DEFAULT_RATE_LIMITS: dict[str, int] = dict(X_RATE_LIMITS)

AccountFault = Literal["suspended", "locked", "bad_auth", "soft_ban"]
FaultKind = Literal["http_5xx", "slow", "malformed", "repeat_cursor", "drop"]


class FaultRule(BaseModel):
    """A request-level fault. Matches every request unless `operation`/`account`/`target` narrow it.

    Media files (`/_media/...`) are requests of the operation `media` with no account; `target`
    narrows a rule to media paths containing it (e.g. a file name), and never matches GraphQL.

    Fires with `probability` (seeded RNG) or on exactly the next `count` matching requests;
    with neither, it fires on every match.
      http_5xx:      answer `status` (500/502/503; random among them if unset) with a small body
      slow:          wait `delay` seconds, then answer normally
      malformed:     answer 200 with the JSON body cut in half
      repeat_cursor: at the end of a timeline, serve the last page again with the same cursor
      drop:          send the headers and half the body, then close the connection (a reset mid-transfer);
                     `malformed` does the same to a media file
    """

    kind: FaultKind
    operation: str | None = None
    account: str | None = None
    target: str | None = None
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    count: int | None = Field(default=None, ge=0)
    status: Literal[500, 502, 503] | None = None
    delay: float = Field(default=0.0, ge=0.0)


class Faults(BaseModel):
    """`accounts` maps a username to a standing account fault (None clears it); `rules` are request faults."""

    accounts: dict[str, AccountFault | None] = Field(default_factory=dict)
    rules: list[FaultRule] = Field(default_factory=list)


# Operations X answers with 404 and an empty body unless a valid x-client-transaction-id comes with them:
# SearchTimeline first (twscrape #248, 2025-04), UserTweetsAndReplies (twscrape #245), Followers (public field
# notes of 2026-09-05, measured on x.com: "SearchTimeline, Followers, UserTweetsAndReplies: 404, 0-byte body
# without the header"), and at times TweetDetail (twitter-api-client #249).
TRANSACTION_ID_OPERATIONS = ("SearchTimeline", "UserTweetsAndReplies", "Followers", "TweetDetail")


class Contract(BaseModel):
    """The request contract X enforces, rule by rule; each can be turned off to reproduce older X.

    bearer:          no ``authorization`` -> 400 code 215; a bearer X does not know -> 401 code 89
    query_ids:       a query id that is not the operation's current one (or the one before it, for
                     ``query_id_grace_s`` after a rotation) -> 404 with an empty body (twscrape #306)
    features:        a feature switch the operation requires, missing or null -> 400 code 336 naming them
    transaction_id:  on ``transaction_id_operations``, a missing, malformed, foreign or stale
                     ``x-client-transaction-id`` -> 404 with an empty body (twscrape #248, #312)
    rotate_every_s:  rotate the web client's release (query ids, bundles, keys) this often; None: only
                     when asked (``POST /_emulator/releases``)
    """

    bearer: bool = True
    query_ids: bool = True
    query_id_grace_s: float = Field(default=60.0, ge=0)
    features: bool = True
    transaction_id: bool = True
    transaction_id_operations: list[str] = Field(default_factory=lambda: list(TRANSACTION_ID_OPERATIONS))
    transaction_id_max_age_s: float = Field(default=300.0, gt=0)
    rotate_every_s: float | None = Field(default=None, gt=0)


def lenient_contract() -> Contract:
    """X before 2025: any query id, no features, no transaction id (what the emulator used to accept)."""
    return Contract(bearer=False, query_ids=False, features=False, transaction_id=False)


class EmulatorSettings(BaseModel):
    window_seconds: float = Field(default=900.0, gt=0)  # rate-limit window (the "scalable clock")
    rate_limits: dict[str, int] = Field(default_factory=dict)  # overrides of DEFAULT_RATE_LIMITS
    default_rate_limit: int = 500  # operations not listed anywhere
    auto_register: bool = False  # accept any auth_token (ct0 must still match x-csrf-token)
    growth_per_hour: float = Field(default=1.0, ge=0)  # engagement growth rate, see engagement.py
    faults: Faults = Field(default_factory=Faults)
    fault_seed: int = 0
    contract: Contract = Field(default_factory=Contract)
    token_seed: int | None = None  # seed of account tokens; default: the world seed
    web_seed: int | None = (
        None  # seed of the web client's releases (keys, bundles, ids); default: the world seed
    )
    # TweetDetail's "more replies" cursor: a Bottom cursor in the 2026 captures (raw_tweet_details.json),
    # ShowMoreThreads in the older ones (card_poll.json, 2024).
    detail_cursor_type: Literal["ShowMoreThreads", "Bottom"] = "Bottom"
    search_replace_cursors: bool = True  # pages after the first carry cursors in TimelineReplaceEntry
    hide_future_tweets: bool = True  # posts dated after "now" are not served yet
    max_page_size: int = Field(default=100, ge=1)
    detail_page_size: int = Field(default=20, ge=1)
    # Most ids one TweetResultsByRestIds request may carry; more get 431 (twitter-api-client batches "~220"
    # ids, 4,200 characters, "to avoid 431 errors": ops_lookup.py).
    max_lookup_ids: int = Field(default=220, ge=1)
    # Where X's confirmation-code emails go: an LMTP server (host:port), e.g. the Dovecot of
    # mail_server.py. Unset: codes are only readable from /_emulator/login_codes/{user}.
    mail_lmtp: str | None = None
    google_popup: bool = False  # "Sign in with Google" opens a popup window (x.com) instead of navigating
    # Largest media file served: a video variant is bitrate x duration / 8 bytes up to this, so a test or a
    # demo downloading every clip stays light (photos are tens to hundreds of KB anyway).
    media_size_cap: int = Field(default=2 * 1024 * 1024, ge=4096)
    # Test and demo only: the address ``/_emulator/whoami`` reports for a client connecting from a given
    # address, e.g. {"127.0.0.2": "81.2.69.160"}. Proxies on this machine exit from loopback addresses,
    # which have no country; a proxy bound to its own loopback address (proxy_servers.start_socks5_proxy's
    # ``exit_address``) then "exits" from a public address, so a check's country lookup has something to find.
    whoami_addresses: dict[str, str] = Field(default_factory=dict)

    def limit_for(self, operation: str) -> int:
        if operation in self.rate_limits:
            return self.rate_limits[operation]
        return DEFAULT_RATE_LIMITS.get(operation, self.default_rate_limit)
