"""All XGet settings. This is the only module that reads environment variables.

Every setting is an ``XGET_*`` variable (or a line in ``.env``). The defaults are the embedded,
one-laptop setup: a SQLite control-plane DB and a local Delta lake under ``.xget/``, and the offline
X emulator as the X endpoint. Production points ``XGET_DATABASE_URL`` at PostgreSQL,
``XGET_LAKE_URI`` at ``s3://...`` and ``XGET_X_GRAPHQL_URL`` at ``https://x.com/i/api/graphql``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from xget_pipelines.core.pools.proxy_records import X_PROXY_CHECK_URL, Cadence, check_target_url
from xget_pipelines.core.pools.rotation import RotationStrategy

if TYPE_CHECKING:
    from xget_pipelines.core.pools.account_cadence import AccountCadence
    from xget_pipelines.core.pools.account_login import LoginSetup
    from xget_pipelines.core.secrets import SecretBox


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XGET_", env_file=".env", extra="ignore")

    env: Literal["local", "ci", "production"] = Field(
        default="local",
        description="Name of the deployment (the deploy files set production); which resources a run gets "
        "follows from the URLs set, not from this name.",
    )
    home: Path = Field(
        default=Path(".xget"), description="Folder for embedded state (SQLite DB, lake, logs)."
    )
    lake_uri: str = Field(
        default="", description="Delta lake root; default <home>/lake. s3://bucket/prefix in production."
    )
    lake_storage_options: dict[str, str] = Field(
        default_factory=dict, description="deltalake storage options as JSON (S3 endpoint, keys, region)."
    )
    database_url: str = Field(
        default="",
        description="Control-plane DB; default sqlite:///<home>/xget.db; postgresql+psycopg2://... in "
        "production. The account lease reaches the same database through psycopg 3 with server-side "
        "prepared statements: behind PgBouncer in transaction mode use PgBouncer 1.21+ with "
        "max_prepared_statements.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key encrypting secrets at rest; default: generated into <home>/secret.key.",
    )

    x_graphql_url: str = Field(
        default="http://127.0.0.1:8765/i/api/graphql",
        description="X GraphQL base URL: the emulator by default, https://x.com/i/api/graphql for real X.",
    )
    x_hosts: dict[str, str] = Field(
        default_factory=dict,
        description="JSON map of X's web hosts to where they are reached, for page loads "
        "(transaction ids, query ids); default: none for real X, X's hosts onto the server behind "
        "XGET_X_GRAPHQL_URL otherwise (the emulator serves X's paths).",
    )
    x_transaction_ttl_s: float = Field(
        default=3600.0,
        description="How long a transaction-id generator (one page load per account) is reused.",
    )
    x_operations_refresh_cron: str = Field(
        default="17 */6 * * *",
        description="When x_operations_refresh reads X's bundles for query ids (UTC).",
    )
    pool_strategy: RotationStrategy = Field(
        default="lru",
        description="Which free account the lease picks next: lru (unused longest), round_robin (next "
        "account id) or health (lowest share of failed requests for the operation, then lru).",
    )
    soft_ban_threshold: int = Field(
        default=3, description="429s in a row while X says requests remain before an account is quarantined."
    )
    quarantine_s: float = Field(
        default=3600.0,
        description="First quarantine of a soft-banned account (all operations); each one in a row doubles "
        "it (at most a day). The first lease after it is the recheck.",
    )
    pool_min_usable: int = Field(
        default=2, description="The pool health sensor alerts when fewer accounts than this can serve."
    )
    proxy_check_url: str = Field(
        default="",
        description="What proxy checks fetch through each proxy (http or https URL); default: "
        "https://x.com/robots.txt when XGET_X_GRAPHQL_URL is X, the emulator's /_emulator/whoami otherwise.",
    )
    proxy_check_interval_s: float = Field(
        default=900.0, gt=0, description="How often the proxy upkeep sensor checks each ACTIVE proxy."
    )
    proxy_recheck_base_s: float = Field(
        default=60.0,
        gt=0,
        description="First re-check of a proxy whose check failed; doubled per failed check in a row.",
    )
    proxy_recheck_max_s: float | None = Field(
        default=None,
        gt=0,
        description="Longest wait between re-checks of a failing proxy; default: the check interval (so a "
        "proxy that comes back is ACTIVE within two intervals).",
    )
    proxy_checks_per_tick: int = Field(
        default=32, ge=1, le=10_000, description="Most proxies one tick of the upkeep sensor checks."
    )
    account_check_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="How often the account upkeep sensor makes one cheap request as each ACTIVE account "
        "(its own profile, within its rate limit), so a dead session is found before a scrape needs it.",
    )
    account_recheck_refused_s: float = Field(
        default=21600.0,
        gt=0,
        description="How often a suspended, locked or refused account is asked again (X lifts some); one "
        "X serves returns to the pool.",
    )
    account_login_backoff_s: float = Field(
        default=900.0,
        gt=0,
        description="Wait after a failed automatic login of an account whose session X refused; doubled per "
        "failure in a row, at most XGET_ACCOUNT_LOGIN_BACKOFF_MAX_S.",
    )
    account_login_backoff_max_s: float = Field(
        default=21600.0, gt=0, description="Longest wait between automatic logins of one account."
    )
    account_logins_per_day: int = Field(
        default=3,
        ge=0,
        le=100,
        description="Most automatic logins per account and UTC day (0: never log in by itself).",
    )
    account_checks_per_tick: int = Field(
        default=8, ge=1, le=1000, description="Most accounts one tick of the account upkeep sensor looks at."
    )
    account_logins_per_tick: int = Field(
        default=2,
        ge=0,
        le=100,
        description="Most automatic logins one tick of the account upkeep sensor makes.",
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None, description="Slack-compatible webhook for alerts (the URL is a secret: never logged)."
    )
    alert_smtp_url: SecretStr | None = Field(
        default=None,
        description="SMTP server for alert emails: smtp://user:password@host:587 (STARTTLS when offered; "
        "?starttls=required or ?starttls=off) or smtps://user:password@host:465 (TLS). A secret: never "
        "logged. Without it, incidents are written to the log.",
    )
    alert_email_from: str = Field(default="", description="Sender address of the alert emails.")
    alert_email_to: str = Field(
        default="", description="Comma-separated addresses the alert emails go to (one digest per tick)."
    )
    alert_reminder_hours: float = Field(
        default=6.0,
        gt=0,
        description="An open incident is mailed again at most this often while it lasts (a reminder).",
    )
    alert_proxy_failed_checks: int = Field(
        default=3,
        ge=1,
        description="A proxy INACTIVE after this many failed checks in a row is an incident (an email).",
    )
    x_login_url: str = Field(
        default="",
        description="Base URL of X's login API (real X: https://api.x.com); default: XGET_X_GRAPHQL_URL "
        "without /i/api/graphql, which is the emulator's address.",
    )
    x_web_url: str = Field(
        default="",
        description="X's web site, where Google sign-in starts (real X: https://x.com); default: the login "
        "URL (the emulator serves both).",
    )
    chromium_path: str = Field(
        default="/usr/bin/chromium", description="Chromium that Playwright drives for Google sign-in."
    )
    google_login_timeout_s: float = Field(default=90.0, description="Longest one Google sign-in may take.")
    imap_server: str = Field(
        default="",
        description="IMAP server (host[:port]) of the accounts' mailboxes; default: by email domain.",
    )
    imap_ssl: bool = Field(
        default=True, description="IMAPS (TLS, port 993); false for plain IMAP (port 143)."
    )
    imap_ca_file: str = Field(default="", description="CA bundle to trust for IMAPS (default: the system's).")
    imap_folders: str = Field(
        default="INBOX",
        description="Comma-separated folders searched for X's confirmation code (e.g. INBOX,Spam).",
    )
    imap_timeout_s: float = Field(
        default=60.0, description="Longest a login waits for X's confirmation email."
    )
    imap_poll_s: float = Field(default=2.0, description="How often a login looks for X's email (seconds).")
    x_request_timeout_s: float = Field(default=20.0, description="Timeout of one request to X (seconds).")
    x_lease_deadline_s: float = Field(
        default=120.0,
        description="Longest a scrape waits for a free account before failing with a clear error.",
    )
    x_max_pages_per_partition: int = Field(
        default=50, description="Page budget for one (term, day) partition."
    )
    x_page_size: int = Field(default=20, description="Tweets asked for per page.")
    x_follow_pages: int = Field(
        default=2,
        description="Followers and Following pages read per @account key in today's partition (0: none).",
    )
    x_timeline_days: int = Field(
        default=2,
        description="Days back an @account is read from its timeline; older days use search by author.",
    )
    about_refresh_days: float = Field(
        default=7,
        ge=0,
        description='Days the "About this account" facts of a collected author stay fresh; the '
        "about_accounts asset asks X again for older ones (0: every run).",
    )
    about_max_per_run: int = Field(
        default=500,
        ge=0,
        description="AboutAccountQuery requests one about_accounts run may send, biggest accounts first "
        "(the rest wait for the next runs).",
    )

    emulator_host: str = Field(default="127.0.0.1", description="Address `xget emulator` binds.")
    emulator_port: int = Field(default=8765, description="Port of the emulator.")
    emulator_seed: int = Field(default=7, description="Seed of the emulator's world (same seed, same world).")
    emulator_users: int = Field(default=3000, description="Users in the emulator's world.")
    emulator_tweets: int = Field(default=100_000, description="Tweets in the emulator's world.")
    emulator_days: int = Field(default=30, description="Days the emulator's world covers, ending today.")
    emulator_window_s: float = Field(
        default=900.0, description="Rate-limit window of the emulator (X: 900 s)."
    )

    sentiment_model: str = Field(
        default="current",
        description="Model scoring tweets: current (trained), vader, transformers:<path or id>.",
    )
    sentiment_train_limit: int | None = Field(
        default=None,
        description="Labelled tweets the sentiment model uses from each source, a seeded sample "
        "(None: all, about 33k in six sources).",
    )
    sentiment_fold_limit: int | None = Field(
        default=None,
        description="Labelled tweets each leave-one-source-out fold's model trains on (None: all the other "
        "sources' tweets; one fold per held-out source, six of them).",
    )
    sentiment_held_out_limit: int = Field(
        default=1000, description="Tweets of each held-out source the fold's model and VADER are scored on."
    )
    dbt_duckdb_path: str = Field(
        default="", description="DuckDB file of the dbt marts (default $XGET_HOME/marts.duckdb)."
    )
    trend_bucket_minutes: int = Field(
        default=60, description="Trend bucket width in minutes (a divisor of 1440)."
    )
    trend_baseline_buckets: int = Field(
        default=24, description="Buckets before each bucket that form its baseline."
    )
    trend_z_threshold: float = Field(default=4.0, description="Burst score a bucket needs to be flagged.")
    trend_min_count: int = Field(default=5, description="Tweets a bucket needs to be flagged.")

    api_host: str = Field(default="127.0.0.1", description="Address `xget api` binds.")
    api_port: int = Field(default=8000, description="Port of the serving API.")
    dagster_port: int = Field(default=3000, description="Port of the Dagster UI that `xget demo` serves.")
    api_public_url: str = Field(
        default="", description="Base URL clients use (links in responses); default http://host:port."
    )
    jwt_secret: SecretStr | None = Field(
        default=None, description="Signing key of the API's tokens; default: generated into <home>/jwt.key."
    )
    api_access_token_ttl_s: int = Field(default=900, description="Lifetime of an access token.")
    api_refresh_token_ttl_s: int = Field(default=14 * 86400, description="Lifetime of a refresh token.")
    api_registration: Literal["closed", "approval", "open"] = Field(
        default="closed",
        description="Who may register: nobody (admins create users), anyone pending approval, anyone.",
    )
    api_cors_origins: str = Field(
        default="", description="Comma-separated origins allowed by CORS (* for any); empty: CORS off."
    )
    api_max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest request body the API reads; a larger one is a 413 before it is parsed or its "
        "credential checked. Imports (accounts, proxies, a batch of tweets) have api_max_import_bytes.",
    )
    api_max_import_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="Largest body of POST /v1/accounts/import, /v1/proxies/import, /v1/data/batch and "
        "/v1/tasks/hydrate (a file of tweet ids).",
    )
    api_forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks (10.0.0.0/8) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto the API believes; empty: none, the client is the TCP peer. "
        "Set it to the proxy's address when one is in front (* trusts any peer: only if nothing but the "
        "proxy can reach the API). The address is what the per-address limits count.",
    )
    api_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Seconds a connection has to send a request's headers (from connecting, or from the "
        "previous answer on a kept-alive connection); then it is closed, so slow clients cannot hold "
        "connections open forever.",
    )
    api_max_password_checks: int = Field(
        default=2,
        ge=1,
        description="Password hashes and checks (argon2id, 64 MiB and about 0.1 s of a core each) an API "
        "process runs at once: logins, password changes, registrations; the others wait their turn.",
    )
    api_password_check_wait_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="Longest a request waits for a free password check; then, or when 16 per check are "
        "already waiting, it gets 429 (the server is busy checking passwords) with Retry-After.",
    )
    api_login_lockout_failures: int = Field(
        default=5,
        ge=0,
        description="Failed password logins in a row for one username (any case, existing or not) after "
        "which its logins are refused for a while (429 with Retry-After, no password checked); a success "
        "resets the count, an admin can unlock it. 0: no lockout.",
    )
    api_login_lockout_s: float = Field(
        default=60.0,
        gt=0,
        description="The first lockout; each further failure after one doubles it, up to "
        "api_login_lockout_max_s.",
    )
    api_login_lockout_max_s: float = Field(
        default=3600.0, gt=0, description="The longest lockout of a username (seconds)."
    )
    api_login_failures_per_address: int = Field(
        default=20,
        ge=0,
        description="Failed password logins one client address may make per hour, all at once or spread "
        "(a bucket of this many, refilled over the hour); beyond, its logins are refused (429) before any "
        "password is checked. Counts only failures, so people who type their password right are never "
        "held up. 0: no limit.",
    )
    api_rate_limit_per_minute: int = Field(
        default=600,
        description="Requests a user may make per minute, all their API keys and sessions together "
        "(0: no limit).",
    )
    api_rate_limit_burst: int = Field(
        default=100, description="Requests a user may make at once above the rate."
    )
    api_max_keys_per_user: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Active (unrevoked, unexpired) API keys a user may hold; one more is refused (409) until "
        "one is revoked.",
    )
    api_auth_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="Seconds the API keeps a credential's principal (a burst of requests costs one lookup); "
        "changes made through another process count within this. 0: look up every request.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis (redis://[:password@]host:6379/0) holding the API's rate-limit buckets "
        "and idempotency keys, shared by every replica; empty: each API process limits on its own and keeps "
        "idempotency keys in the control plane. A replica that cannot reach Redis limits on its own until it "
        "is back, and keyed POSTs get a 503. A secret: it may carry a password.",
    )
    api_graphql_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="GraphQL operations executed at once, on an event loop and threads of their own so a "
        "costly query cannot starve REST reads; the others wait their turn.",
    )
    api_graphql_cost_per_request: int = Field(
        default=100,
        ge=1,
        description="GraphQL query cost that counts as one request of the rate limit: a query of cost 1,000 "
        "takes 10 requests of the principal's budget (never more than the burst).",
    )
    api_max_page_size: int = Field(
        default=1000, description="Largest `limit` of a list endpoint (exports stream all)."
    )
    api_lake_refresh_s: float = Field(
        default=2.0, description="How often the API looks for new Delta table versions (seconds)."
    )
    api_hot_tweets: int = Field(
        default=200_000,
        description="Newest tweets the API keeps in memory (whole days): most pages read them.",
    )
    search_url: str = Field(
        default="",
        description="Search backend (Elasticsearch/OpenSearch) for /v1/data/search; empty: the lake.",
    )
    search_index: str = Field(
        default="xget-tweets", description="Alias of the tweets index in the search backend."
    )
    search_users_index: str = Field(
        default="xget-users", description="Alias of the users index in the search backend."
    )
    search_compat: Literal["auto", "elasticsearch", "opensearch"] = Field(
        default="auto",
        description="Search server flavour: OpenSearch refuses the Elasticsearch client's "
        "compatible-with media types, so they are sent as plain JSON; auto asks the server once.",
    )
    search_username: str = Field(
        default="", description="Basic-auth user of the search backend (empty: none)."
    )
    search_password: SecretStr | None = Field(default=None, description="Its password (never logged).")
    search_batch_size: int = Field(default=2_000, description="Documents per bulk request when indexing.")

    # -- optional sinks (each off until its URL is set) --------------------------------------------------
    archive_url: SecretStr | None = Field(
        default=None,
        description="MongoDB URL of the raw-page archive (mongodb://...); empty: no archive. "
        "A secret: it may carry a password.",
    )
    archive_database: str = Field(default="xget", description="MongoDB database of the archive.")
    events_url: SecretStr | None = Field(
        default=None,
        description="Where lake events go: amqp://user:pass@host:5672/vhost (RabbitMQ) or "
        "kafka://host:9092[,host2:9092] (Kafka); empty: no events.",
    )
    events_topic: str = Field(
        default="xget.lake",
        description="Kafka topic, or RabbitMQ topic exchange (routing key: <layer>.<table>).",
    )
    media_download: bool = Field(
        default=True, description="Download the media of collected tweets into <lake>/media."
    )
    media_max_bytes: int = Field(
        default=16 * 1024 * 1024,
        description="Largest media file kept (the best video "
        "variant under it is chosen; larger files are recorded as skipped).",
    )
    media_url_map: dict[str, str] = Field(
        default_factory=dict,
        description="JSON map of media URL prefixes to where they are fetched from; default: "
        "X's media hosts to the emulator when X is the emulator, none for real X.",
    )
    media_attempts: int = Field(default=3, description="Download attempts per media file in one run.")
    otlp_endpoint: str = Field(
        default="",
        description="OTLP/HTTP endpoint (http://collector:4318) for traces of API requests (by route, "
        "continuing a caller's traceparent) and of X requests (operation, account id, status, rate-limit "
        "window); empty: none.",
    )
    lake_vacuum_retention_hours: int = Field(
        default=168,
        description="Files no longer in the table are deleted by lake_maintenance after this long "
        "(time travel and `xget sql --as-of` reach back this far).",
    )
    lake_maintenance_cron: str = Field(default="30 3 * * *", description="When lake_maintenance runs (UTC).")
    oidc_issuer: str = Field(
        default="", description="Issuer of external OpenID Connect tokens to accept; empty: none."
    )
    oidc_audience: str = Field(default="xget", description="Audience those tokens must name.")
    oidc_jwks_url: str = Field(
        default="", description="JWKS of the provider; default: from its discovery document."
    )
    oidc_role_claim: str = Field(
        default="xget_role", description="Claim naming the XGet role (a string or a list)."
    )
    oidc_default_role: Literal["viewer", "analyst", "operator", "admin"] = Field(
        default="viewer", description="Role of an OpenID Connect user whose role claim names no XGet role."
    )

    partitions_start_date: str = Field(
        default="2026-01-01", description="First day of the daily partitions (YYYY-MM-DD)."
    )
    watch_backfill_days: int = Field(
        default=3, description="Days the watchlist sensor collects when a key is added (today included)."
    )
    backfill_sample_days: int = Field(
        default=5,
        ge=1,
        le=50,
        description="Days `xget watch backfill` collects first, spread over its range, to estimate it.",
    )
    backfill_utilisation: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Share of the account pool's capacity a backfill is assumed to get in its first estimate "
        "(bench/scrape.py measured XGet's lease at 0.9); its progress then reports the share it measures.",
    )
    backfill_runs_in_flight: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="Runs of one watchlist backfill queued or running at once (the backfill sensor releases "
        "the rest as they finish).",
    )
    demo_days: int = Field(default=14, description="Days of the watchlist the demo collects.")
    demo_accounts: int = Field(default=8, description="Emulator accounts the demo creates and imports.")
    demo_runs: int = Field(
        default=4,
        ge=1,
        le=32,
        description="Partition runs the demo keeps going at once (each its own process; scrape steps share "
        "the "
        "instance's x_api pool).",
    )
    demo_sentiment_limit: int | None = Field(
        default=2000, description="Labelled tweets the demo's sentiment model uses from each source."
    )
    demo_window_s: float = Field(
        default=60.0,
        description="Rate-limit window the demo's emulator uses (compressed so the demo never idles).",
    )

    @field_validator("lake_storage_options", "media_url_map", "x_hosts", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"must be a JSON object: {exc}") from exc
        return value

    @field_validator("api_forwarded_allow_ips")
    @classmethod
    def check_addresses(cls, value: str) -> str:
        """A list of proxy addresses, networks or ``*``, comma-separated (normalised); ValueError if not."""
        import ipaddress

        entries = [part.strip() for part in value.split(",") if part.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network (10.0.0.0/8), nor *") from exc
        return ",".join(entries)

    @property
    def resolved_login_url(self) -> str:
        return self.x_login_url or self.x_graphql_url.removesuffix("/").removesuffix("/i/api/graphql")

    @property
    def resolved_proxy_check_url(self) -> str:
        """The proxy check target: ``proxy_check_url``, else X's robots.txt for real X, else the emulator's
        whoami at the X endpoint (which also reports each proxy's exit address)."""
        if self.proxy_check_url:
            return self.proxy_check_url
        if "://x.com" in self.x_graphql_url or ".x.com" in self.x_graphql_url:
            # x.com/robots.txt: a static file on X's own host, served without authentication, cookies or a
            # rate limit, a few KB; reaching it through a proxy proves the proxy reaches X and that X's edge
            # does not block the proxy's address. X's answers carry no client address, so checks against
            # it leave the exit address (and its country) unknown.
            return X_PROXY_CHECK_URL
        return f"{self.resolved_login_url.rstrip('/')}/_emulator/whoami"

    @field_validator("alert_email_to")
    @classmethod
    def _email_list(cls, value: str) -> str:
        bad = [a for a in (a.strip() for a in value.split(",")) if a and "@" not in a]
        if bad:
            raise ValueError(
                f"XGET_ALERT_EMAIL_TO: {', '.join(bad)} is not an email address; write a comma-separated "
                "list such as ops@example.com,oncall@example.com"
            )
        return value

    @field_validator("proxy_check_url")
    @classmethod
    def check_proxy_check_url(cls, value: str) -> str:
        if value:
            check_target_url(value)
        return value

    @property
    def resolved_marts_path(self) -> Path:
        """The DuckDB database dbt writes the marts to; ``xget sql`` attaches it as ``marts``."""
        return Path(self.dbt_duckdb_path) if self.dbt_duckdb_path else (self.home / "marts.duckdb").absolute()

    @property
    def resolved_api_url(self) -> str:
        return (self.api_public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def resolved_media_url_map(self) -> dict[str, str]:
        """Media URL prefixes rewritten before download: X's media hosts to the emulator's ``/_media/<host>/``
        when the X endpoint is the emulator (its media live nowhere else), unless set explicitly."""
        if self.media_url_map or "://x.com" in self.x_graphql_url or ".x.com" in self.x_graphql_url:
            return dict(self.media_url_map)
        base = self.resolved_login_url.rstrip("/")
        return {f"https://{host}/": f"{base}/_media/{host}/" for host in ("pbs.twimg.com", "video.twimg.com")}

    @property
    def resolved_lake_uri(self) -> str:
        return self.lake_uri or str((self.home / "lake").absolute())

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'xget.db').absolute()}"

    # What the entry points (CLI, API, Dagster resources, demo) hand the core, built in one place.

    def secret_box(self) -> SecretBox:
        """The installation's key: ``secret_key``, else ``<home>/secret.key`` (made on first use)."""
        from xget_pipelines.core.secrets import SecretBox

        return SecretBox.from_key_or_file(self.secret_key, self.home)

    def proxy_cadence(self) -> Cadence:
        """When a checked proxy is due again (the proxy upkeep sensor's cadence)."""
        return Cadence(self.proxy_check_interval_s, self.proxy_recheck_base_s, self.proxy_recheck_max_s)

    def account_cadence(self) -> AccountCadence:
        """When account upkeep looks at an account again, and its automatic logins' backoff and cap."""
        from xget_pipelines.core.pools.account_cadence import AccountCadence

        return AccountCadence(
            self.account_check_interval_s,
            self.account_recheck_refused_s,
            self.account_login_backoff_s,
            self.account_login_backoff_max_s,
            self.account_logins_per_day,
        )

    def login_setup(self) -> LoginSetup:
        """Where and how accounts log in: X's login flow, the mailbox for emailed codes, Chromium for
        Google."""
        from xget_pipelines.core.pools.account_login import LoginSetup

        return LoginSetup.configured(
            self.resolved_login_url,
            self.x_web_url,
            self,
            self.chromium_path,
            self.google_login_timeout_s,
            self.home,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
