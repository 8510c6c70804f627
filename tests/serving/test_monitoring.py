"""The Grafana dashboard and the Prometheus alert rules (deploy/monitoring/) query series the API really
exports; the X traffic the scrape workers record and the lake's freshness show up on /metrics."""

import json
import re
import time
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from xget_pipelines.core.db.engine import get_engine

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"


def _series_names(expr: str) -> set[str]:
    """The XGet metric names an expression reads (label matchers stripped: their values are not names)."""
    return set(re.findall(r"\bxget_[a-z0-9_]+", re.sub(r"\{[^}]*\}", "", expr)))


def _exported(base_url: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(httpx.get(f"{base_url}/metrics", timeout=30).text):
        names.update(sample.name for sample in family.samples)
    return names


def _record_traffic(api_server) -> None:
    """What a scrape worker leaves in the control plane: an account's requests per operation, a session's
    pages."""
    import datetime as dt

    from sqlalchemy.orm import Session

    from xget_pipelines.core.db.models import Account, AccountOperation, ScrapeSession

    now = dt.datetime.now(dt.UTC)
    with Session(get_engine(api_server.settings.resolved_database_url)) as session, session.begin():
        if session.get(ScrapeSession, "s1") is not None:
            return
        account = Account(username="mon1", created_at=now, updated_at=now)
        session.add(account)
        session.flush()
        session.add(
            AccountOperation(account_id=account.id, operation="SearchTimeline", requests=40, errors=3)
        )
        session.add(
            Account(
                username="mon2",
                active=False,
                error_msg="suspended (X code 64)",
                created_at=now,
                updated_at=now,
            )
        )  # an account out of the pool, with its reason
        session.add(
            ScrapeSession(
                id="s1", partition_key="2026-11-27|#python", status="complete", pages=17, started_at=now
            )
        )


def test_dashboard_and_alerts_read_series_the_api_exports(api_server):
    _record_traffic(api_server)
    httpx.get(f"{api_server.base_url}/v1/data", headers=api_server.headers("viewer"))  # a latency sample
    time.sleep(5.1)  # the pool collector caches 5 s
    exported = _exported(api_server.base_url)
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    wanted = {
        "pages fetched",
        "rate-limit",
        "accounts by state",
        "proxies",
        "tasks",
        "api latency",
        "freshness",
    }
    titles = " | ".join(p["title"].lower() for p in dashboard["panels"])
    assert all(w in titles for w in wanted), titles
    rules = [
        r for g in yaml.safe_load((MONITORING / "alerts.yaml").read_text())["groups"] for r in g["rules"]
    ]
    assert len(rules) >= 6 and all(r["labels"]["severity"] in {"page", "warn"} for r in rules)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]] + [r["expr"] for r in rules]
    for expr in exprs:
        names = _series_names(expr)
        assert names, f"no XGet series in {expr!r}"
        assert names <= exported, f"{expr!r} reads {names - exported}, which /metrics does not export"


def test_x_traffic_and_lake_freshness_on_metrics(api_server):
    _record_traffic(api_server)
    time.sleep(5.1)
    families = {
        f.name: f for f in text_string_to_metric_families(httpx.get(f"{api_server.base_url}/metrics").text)
    }
    pages = {s.labels["status"]: s.value for s in families["xget_pages_fetched"].samples}
    assert pages["complete"] == 17
    requests = {s.labels["operation"]: s.value for s in families["xget_x_requests"].samples}
    assert requests["SearchTimeline"] == 40
    fresh = {
        s.labels["table"]: s.value for s in families["xget_lake_table_last_commit_timestamp_seconds"].samples
    }
    assert set(fresh) >= {"entities/tweets", "entities/users"}
    assert all(time.time() - 3600 < v <= time.time() + 1 for v in fresh.values())  # built by this test module
