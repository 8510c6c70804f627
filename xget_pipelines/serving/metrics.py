"""Prometheus metrics of the API (``/metrics``): requests and latencies by route template and status, the
password checks (run, running, waiting), and what is read at scrape time: accounts by state, proxies,
tasks by state, X requests and pages (the scrape workers record them in the control plane), lake table
versions and last commit times.
deploy/monitoring/ holds the Grafana dashboard and the alert rules over these names."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "xget_api_requests_total", "API requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "xget_api_request_duration_seconds",
            "API request latency",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

        self.graphql = Counter(
            "xget_api_graphql_operations_total",
            "GraphQL operations by name and outcome (ok, error, refused, rate_limited)",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.graphql_latency = Histogram(
            "xget_api_graphql_operation_duration_seconds",
            "GraphQL operation time (parse, validate, execute) by name",
            ["operation"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.graphql_cost = Histogram(
            "xget_api_graphql_operation_cost",
            "GraphQL query cost (serving/graphql.py) by name",
            ["operation"],
            buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000),
            registry=self.registry,
        )
        self.graphql_names: set[str] = set()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_graphql(self, operation: str, outcome: str, seconds: float, cost: int | None) -> None:
        self.graphql.labels(operation, outcome).inc()
        self.graphql_latency.labels(operation).observe(seconds)
        if cost is not None:
            self.graphql_cost.labels(operation).observe(cost)

    def add_pool_collector(self, state) -> None:
        self.registry.register(_PoolCollector(state))

    def add_password_gate(self, gate) -> None:
        """The password checks: run so far (argon2 operations of the process), running and waiting at
        ``gate`` (a ``limits.PasswordGate``)."""
        self.registry.register(_GateCollector(gate))


class _GateCollector:
    """Read at every scrape (three integers of this process: no cache)."""

    def __init__(self, gate):
        self.gate = gate

    def collect(self):
        from xget_pipelines.core.auth.passwords import operations

        runs = CounterMetricFamily(
            "xget_api_password_checks", "Password hashes and checks (argon2id) this API process ran"
        )
        runs.add_metric([], float(operations()))
        yield runs
        for name, value, text in (
            ("xget_api_password_checks_running", self.gate.running, "Password checks running now"),
            ("xget_api_password_checks_waiting", self.gate.waiting, "Requests waiting for a password check"),
        ):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], float(value))
            yield gauge


class _PoolCollector:
    """Read the control plane when Prometheus scrapes (cached 5 s so a busy scraper costs little)."""

    def __init__(self, state):
        self.state = state
        self._cache: tuple[float, list] = (0.0, [])

    def collect(self):
        now = time.monotonic()
        if now - self._cache[0] < 5.0:
            yield from self._cache[1]
            return
        families = []
        try:
            families = list(self._families())
        except Exception:  # noqa: BLE001 - a DB outage must not break /metrics; the request metrics still serve
            families = []
        self._cache = (now, families)
        yield from families

    def _families(self):
        from xget_pipelines.core.pools.health import pool_health, proxy_statuses, rate_limited

        health = pool_health(self.state.engine)
        accounts = GaugeMetricFamily("xget_accounts", "X accounts by state", labels=["state"])
        for key in ("total", "usable", "quarantined", "inactive"):
            accounts.add_metric([key], float(getattr(health, key)))
        yield accounts
        reasons = GaugeMetricFamily(
            "xget_accounts_out",
            "Accounts out of the pool by reason (suspended, locked...)",
            labels=["reason"],
        )
        for reason, n in health.reasons.items():
            reasons.add_metric([reason], float(n))
        yield reasons
        per_op = GaugeMetricFamily(
            "xget_accounts_usable", "Accounts that can serve each X operation", labels=["operation"]
        )
        for operation, n in health.operations.items():
            per_op.add_metric([operation], float(n))
        yield per_op
        limited = GaugeMetricFamily(
            "xget_accounts_rate_limited", "Accounts waiting for a window to reopen", labels=["operation"]
        )
        for operation, n in rate_limited(self.state.engine).items():
            limited.add_metric([operation], float(n))
        yield limited
        proxies = GaugeMetricFamily("xget_proxies", "Proxies by status", labels=["status"])
        counts = proxy_statuses(self.state.engine)
        for status in ("ACTIVE", "INACTIVE", "CHECKING"):
            proxies.add_metric([status], float(counts.get(status, 0)))
        yield proxies
        tasks = GaugeMetricFamily("xget_tasks", "Scrape tasks by state", labels=["state"])
        task_counts = self.state.tasks.counts()
        for status in ("CREATED", "PENDING", "RUNNING", "STOPPING", "STOPPED", "COMPLETED", "FAILED"):
            tasks.add_metric([status], float(task_counts.get(status, 0)))
        yield tasks
        versions = GaugeMetricFamily(
            "xget_lake_table_version", "Delta version of each lake table", labels=["table"]
        )
        current = self.state.catalog.versions()
        for table, version in current.items():
            versions.add_metric([table], float(version or 0))
        yield versions
        yield from _x_traffic(self.state.engine)
        yield _lake_freshness(self.state.catalog.lake, current)


def _x_traffic(engine):
    """Cumulative X traffic from the control plane: every process that scrapes records it there, so the API
    can report what the Dagster run workers did without a push gateway."""
    import sqlalchemy as sa

    from xget_pipelines.core.db.models import AccountOperation, ScrapeSession

    with engine.connect() as conn:
        per_op = conn.execute(
            sa.select(
                AccountOperation.operation,
                sa.func.sum(AccountOperation.requests),
                sa.func.sum(AccountOperation.errors),
            ).group_by(AccountOperation.operation)
        ).all()
        sessions = conn.execute(
            sa.select(ScrapeSession.status, sa.func.count(), sa.func.sum(ScrapeSession.pages)).group_by(
                ScrapeSession.status
            )
        ).all()
    requests = CounterMetricFamily("xget_x_requests", "X requests made, by operation", labels=["operation"])
    errors = CounterMetricFamily(
        "xget_x_errors", "X requests that failed (5xx, timeouts, refusals)", labels=["operation"]
    )
    for operation, n_requests, n_errors in per_op:
        requests.add_metric([operation], float(n_requests or 0))
        errors.add_metric([operation], float(n_errors or 0))
    pages = CounterMetricFamily(
        "xget_pages_fetched", "X pages stored in raw/x_pages, by scrape session status", labels=["status"]
    )
    by_status = GaugeMetricFamily(
        "xget_scrape_sessions", "Scrape sessions (one per key and day) by status", labels=["status"]
    )
    for status, n_sessions, n_pages in sessions:
        pages.add_metric([status], float(n_pages or 0))
        by_status.add_metric([status], float(n_sessions))
    return [requests, errors, pages, by_status]


def _lake_freshness(lake, versions: dict[str, int | None]):
    """When each table last changed (its newest commit, read from that one log file), for freshness alerts."""
    fresh = GaugeMetricFamily(
        "xget_lake_table_last_commit_timestamp_seconds",
        "Unix time of the newest commit of each lake table",
        labels=["table"],
    )
    for table, version in versions.items():
        commit = lake.commits(table, [version]) if version is not None else []
        if commit and commit[0].get("timestamp"):
            fresh.add_metric([table], commit[0]["timestamp"] / 1000)
    return fresh
