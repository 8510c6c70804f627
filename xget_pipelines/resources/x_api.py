import json

import dagster as dg

from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.transaction import TransactionIds
from xget_pipelines.core.x.web import XWeb


class XApiResource(dg.ConfigurableResource):
    """Where X's GraphQL API is (the offline emulator by default) and how patient to be with it."""

    graphql_url: str
    hosts_json: str = (
        "{}"  # X's web hosts -> where they are reached (XGET_X_HOSTS); {}: derived from graphql_url
    )
    timeout_s: float = 20.0
    lease_deadline_s: float = 120.0
    max_pages_per_partition: int = 50
    page_size: int = 20
    timeline_days: int = 2
    follow_pages: int = 2  # Followers and Following pages per @account, in today's partition (0: none)
    about_refresh_days: float = 7.0  # XGET_ABOUT_REFRESH_DAYS
    about_max_per_run: int = 500  # XGET_ABOUT_MAX_PER_RUN
    soft_ban_threshold: int = 3
    quarantine_s: float = 3600.0
    transaction_ttl_s: float = 3600.0
    otlp_endpoint: str = ""  # traces of the X requests (XGET_OTLP_ENDPOINT); empty: none

    def emulator_ground_truth(self) -> dict | None:
        """The emulator's ground truth (its injected trend bursts and coordinated campaigns, synthetic), when
        X is the emulator; None on real X, which has no such endpoint, or when it cannot be read."""
        import httpx

        base = self.graphql_url.removesuffix("/").removesuffix("/i/api/graphql")
        try:
            rep = httpx.get(f"{base}/_emulator/ground_truth", timeout=5)
            rep.raise_for_status()
            truth = rep.json()
        except (httpx.HTTPError, ValueError):
            return None
        return truth if isinstance(truth, dict) else None

    def web(self) -> XWeb:
        return XWeb.for_graphql_url(self.graphql_url, json.loads(self.hosts_json or "{}"))

    def client(self, pool: AccountPool, account: str | None = None) -> XClient:
        from xget_pipelines.tracing import setup_tracing

        setup_tracing(self.otlp_endpoint, "xget-pipelines")
        web = self.web()
        return XClient(
            self.graphql_url,
            pool,
            timeout_s=self.timeout_s,
            lease_deadline_s=self.lease_deadline_s,
            soft_ban_threshold=self.soft_ban_threshold,
            quarantine_s=self.quarantine_s,
            account=account,
            web=web,
            transactions=TransactionIds.shared(web, self.transaction_ttl_s),
        )
