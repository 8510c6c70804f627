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
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XGET_", env_file=".env", extra="ignore")

    env: Literal["local", "ci", "production"] = "local"
    home: Path = Field(default=Path(".xget"), description="Folder for embedded state (SQLite DB, lake, logs).")
    lake_uri: str = Field(default="", description="Delta lake root; default <home>/lake. s3://bucket/prefix in production.")
    lake_storage_options: dict[str, str] = Field(
        default_factory=dict, description="deltalake storage options as JSON (S3 endpoint, keys, region)."
    )
    database_url: str = Field(default="", description="Control-plane DB; default sqlite:///<home>/xget.db.")
    secret_key: SecretStr | None = Field(
        default=None, description="Fernet key encrypting secrets at rest; default: generated into <home>/secret.key."
    )

    x_graphql_url: str = Field(
        default="http://127.0.0.1:8765/i/api/graphql",
        description="X GraphQL base URL: the emulator by default, https://x.com/i/api/graphql for real X.",
    )
    pool_strategy: Literal["lru", "round_robin", "health"] = Field(
        default="lru", description="Which free account the lease picks next (see core/pools/lease.py)."
    )
    soft_ban_threshold: int = Field(
        default=3, description="429s in a row while X says requests remain before an account is quarantined."
    )
    quarantine_s: float = Field(default=3600.0, description="First quarantine; each one in a row doubles it (max 1 day).")
    pool_min_usable: int = Field(
        default=2, description="The pool health sensor alerts when fewer accounts than this can serve."
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None, description="Slack-compatible webhook for alerts (the URL is a secret: never logged)."
    )
    x_login_url: str = Field(
        default="", description="Base URL of X's login API; default: the emulator's (real X: https://api.x.com)."
    )
    x_web_url: str = Field(
        default="", description="X's web site, where Google sign-in starts; default: the emulator's (real X: https://x.com)."
    )
    chromium_path: str = Field(default="/usr/bin/chromium", description="Chromium that Playwright drives for Google sign-in.")
    google_login_timeout_s: float = Field(default=90.0, description="Longest one Google sign-in may take.")
    imap_server: str = Field(
        default="", description="IMAP server (host[:port]) of the accounts' mailboxes; default: by email domain."
    )
    imap_ssl: bool = Field(default=True, description="IMAPS (TLS, port 993); false for plain IMAP (port 143).")
    imap_ca_file: str = Field(default="", description="CA bundle to trust for IMAPS (default: the system's).")
    imap_folders: str = Field(
        default="INBOX", description="Comma-separated folders searched for X's confirmation code (e.g. INBOX,Spam)."
    )
    imap_timeout_s: float = Field(default=60.0, description="Longest a login waits for X's confirmation email.")
    imap_poll_s: float = 2.0
    x_request_timeout_s: float = 20.0
    x_lease_deadline_s: float = Field(
        default=120.0, description="Longest a scrape waits for a free account before failing with a clear error."
    )
    x_max_pages_per_partition: int = Field(default=50, description="Page budget for one (term, day) partition.")
    x_page_size: int = 20
    x_follow_pages: int = Field(
        default=2, description="Followers and Following pages collected per @account key in today's partition."
    )
    x_timeline_days: int = Field(
        default=2, description="Days back an @account is read from its timeline; older days use search by author."
    )

    emulator_host: str = "127.0.0.1"
    emulator_port: int = 8765
    emulator_seed: int = 7
    emulator_users: int = 3000
    emulator_tweets: int = 100_000
    emulator_days: int = 30
    emulator_window_s: float = Field(default=900.0, description="Rate-limit window of the emulator (X: 900 s).")

    sentiment_model: str = Field(
        default="current", description="Model scoring tweets: current (trained), vader, transformers:<path or id>."
    )
    sentiment_train_limit: int | None = Field(
        default=None, description="Labelled tweets the sentiment model trains on (None: all, about 40k)."
    )
    dbt_duckdb_path: str = Field(default="", description="DuckDB file of the dbt marts (default $XGET_HOME/marts.duckdb).")
    trend_bucket_minutes: int = Field(default=60, description="Trend bucket width in minutes (a divisor of 1440).")
    trend_baseline_buckets: int = Field(default=24, description="Buckets before each bucket that form its baseline.")
    trend_z_threshold: float = Field(default=4.0, description="Burst score a bucket needs to be flagged.")
    trend_min_count: int = Field(default=5, description="Tweets a bucket needs to be flagged.")

    partitions_start_date: str = Field(
        default="2026-01-01", description="First day of the daily partitions (YYYY-MM-DD)."
    )
    watch_backfill_days: int = Field(
        default=3, description="Days the watchlist sensor collects when a key is added (today included)."
    )
    demo_days: int = 14
    demo_accounts: int = 8
    demo_sentiment_limit: int | None = Field(
        default=10_000, description="Labelled tweets the demo trains the sentiment model on (None: all 42k)."
    )
    demo_window_s: float = Field(
        default=60.0, description="Rate-limit window the demo's emulator uses (compressed so the demo never idles)."
    )

    @field_validator("lake_storage_options", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"XGET_LAKE_STORAGE_OPTIONS must be a JSON object: {exc}") from exc
        return value

    @property
    def resolved_login_url(self) -> str:
        return self.x_login_url or self.x_graphql_url.removesuffix("/").removesuffix("/i/api/graphql")

    @property
    def resolved_marts_path(self) -> Path:
        """The DuckDB database dbt writes the marts to; ``xget sql`` attaches it as ``marts``."""
        return Path(self.dbt_duckdb_path) if self.dbt_duckdb_path else (self.home / "marts.duckdb").absolute()

    @property
    def resolved_lake_uri(self) -> str:
        return self.lake_uri or str((self.home / "lake").absolute())

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'xget.db').absolute()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
