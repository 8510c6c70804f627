"""What the application holds for its lifetime: settings, the DB engine, the lake's live catalog and its
readers (tweets and users, analytics, task results), the token service, the task store, the rate limiter,
the search backend, the idempotency store, the gate of password checks and the login limits. Built once by
``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine

from xget_pipelines.core.auth.cache import PrincipalCache
from xget_pipelines.core.auth.lockout import LockoutPolicy
from xget_pipelines.core.auth.tokens import OidcConfig, TokenService, load_or_create_signing_key
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.analytics_reader import AnalyticsReader
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.lake.live import LiveCatalog
from xget_pipelines.core.lake.task_results import TaskResultReader
from xget_pipelines.core.lake.tweet_reader import TweetReader
from xget_pipelines.core.tasks import TaskStore
from xget_pipelines.serving.idempotency import RedisIdempotencyStore, SqlIdempotencyStore
from xget_pipelines.serving.limits import PasswordGate, RateLimiter, RedisRateLimiter
from xget_pipelines.serving.search import SearchService
from xget_pipelines.settings import Settings


@dataclass
class ServingState:
    settings: Settings
    engine: Engine
    lake: Lake
    catalog: LiveCatalog
    tweets: TweetReader
    analytics: AnalyticsReader
    task_results: TaskResultReader
    tokens: TokenService
    tasks: TaskStore
    limiter: RateLimiter
    search: SearchService
    idempotency: SqlIdempotencyStore | RedisIdempotencyStore
    principals: PrincipalCache
    password_gate: PasswordGate
    lockout: LockoutPolicy | None  # None: failed logins lock no username
    login_failures: RateLimiter  # failed password logins per client address (``login-failures:ip:<address>``)

    @classmethod
    def build(cls, settings: Settings) -> ServingState:
        engine = get_engine(settings.resolved_database_url)
        lake = Lake(settings.resolved_lake_uri, settings.lake_storage_options)
        catalog = LiveCatalog(
            lake,
            str(settings.resolved_marts_path),
            refresh_s=settings.api_lake_refresh_s,
            hot_rows=settings.api_hot_tweets,
        )
        key = (
            settings.jwt_secret.get_secret_value()
            if settings.jwt_secret
            else load_or_create_signing_key(settings.home / "jwt.key")
        )
        oidc = (
            OidcConfig(
                settings.oidc_issuer,
                settings.oidc_audience,
                settings.oidc_jwks_url,
                settings.oidc_role_claim,
                settings.oidc_default_role,
            )
            if settings.oidc_issuer
            else None
        )
        tokens = TokenService(
            engine, key, settings.api_access_token_ttl_s, settings.api_refresh_token_ttl_s, oidc
        )
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        limiter = (
            RedisRateLimiter(redis_url, settings.api_rate_limit_per_minute, settings.api_rate_limit_burst)
            if redis_url
            else RateLimiter(settings.api_rate_limit_per_minute, settings.api_rate_limit_burst)
        )
        # A bucket of N failed logins per address, refilled at N an hour (N = 0: none).
        per_address = settings.api_login_failures_per_address
        login_failures = (
            RedisRateLimiter(redis_url, per_address / 60, per_address)
            if redis_url
            else RateLimiter(per_address / 60, per_address)
        )
        lockout = (
            LockoutPolicy(
                settings.api_login_lockout_failures,
                settings.api_login_lockout_s,
                settings.api_login_lockout_max_s,
            )
            if settings.api_login_lockout_failures > 0
            else None
        )
        idempotency = RedisIdempotencyStore(redis_url) if redis_url else SqlIdempotencyStore(engine)
        tweets = TweetReader(catalog)
        return cls(
            settings,
            engine,
            lake,
            catalog,
            tweets,
            AnalyticsReader(catalog),
            TaskResultReader(catalog),
            tokens,
            TaskStore(engine),
            limiter,
            SearchService(
                tweets,
                settings.search_url,
                settings.search_index,
                users_index=settings.search_users_index,
                compat=settings.search_compat,
                username=settings.search_username,
                password=settings.search_password.get_secret_value() if settings.search_password else None,
            ),
            idempotency,
            PrincipalCache(settings.api_auth_cache_s),
            PasswordGate(settings.api_max_password_checks, settings.api_password_check_wait_s),
            lockout,
            login_failures,
        )


def state(request: Request) -> ServingState:
    return request.app.state.xget
