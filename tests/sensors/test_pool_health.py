"""The pool health sensor pages once when the pool runs low and once when it recovers, through a real
HTTP webhook receiver; the pool statistics asset appends snapshots to the lake."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from tests.conftest import control_plane_resource, installation_box
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.resources import AccountPoolResource, AlertsResource, LakeResource
from xget_pipelines.sensors import account_pool_health_sensor

COOKIES = {"auth_token": "t", "ct0": "c"}


@pytest.fixture
def webhook():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def alert_settings(webhook):
    return AlertsResource(webhook_url=webhook[0])


def tick(url, cursor, alerts: AlertsResource):
    pool = AccountPoolResource(control_plane=control_plane_resource(url), min_usable=2)
    resources = {"account_pool": pool, "alerts": alerts}
    with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:  # nested resources
        result = account_pool_health_sensor(ctx)
        return result, ctx.cursor


def test_low_pool_pages_once_and_recovery_is_announced(sqlite_url, webhook, alert_settings):
    _, received = webhook
    engine = get_engine(sqlite_url)
    pool = AccountPool(engine, secrets=installation_box())
    pool.add_accounts([("a1", COOKIES), ("a2", COOKIES), ("a3", COOKIES)])
    result, cursor = tick(sqlite_url, None, alert_settings)
    assert received == [] and "no change" in result.skip_message

    pool.mark_inactive(1, "suspended (X code 64)")
    pool.quarantine(pool.lease("SearchTimeline", 1), "soft-banned: 3 429s in a row")
    result, cursor = tick(sqlite_url, cursor, alert_settings)
    (alert,) = received
    assert "pool is low for SearchTimeline, UserByScreenName, UserTweetsAndReplies" in alert["text"]
    assert "1 of 3 X accounts can serve (1 quarantined, 1 inactive" in alert["text"]
    assert "suspended (X code 64)" in alert["text"] and "soft-banned" in alert["text"]
    _, cursor = tick(sqlite_url, cursor, alert_settings)
    assert len(received) == 1  # still low: no second page

    pool.add_accounts([("a4", COOKIES)])
    _, cursor = tick(sqlite_url, cursor, alert_settings)
    assert len(received) == 2 and "recovered: 2 of 4" in received[1]["text"]


def test_one_operation_running_low_pages_for_that_operation(sqlite_url, webhook, alert_settings):
    """Soft bans rest an account on one operation: that operation alone can run low."""
    _, received = webhook
    engine = get_engine(sqlite_url)
    pool = AccountPool(engine, secrets=installation_box())
    pool.add_accounts([("b1", COOKIES), ("b2", COOKIES), ("b3", COOKIES)])
    _, cursor = tick(sqlite_url, None, alert_settings)
    for name in (
        "b1",
        "b2",
    ):  # two accounts resting on SearchTimeline after 429s while X said requests remained
        lease = pool.lease("SearchTimeline", 1, username=name)
        lease.soft_bans, lease.remaining, lease.reset_at = 1, 0, time.time() + 600
        pool.release(lease)
    result, cursor = tick(sqlite_url, cursor, alert_settings)
    (alert,) = received
    assert "pool is low for SearchTimeline (fewer than 2 accounts)" in alert["text"]
    assert "UserByScreenName 3" in alert["text"] and "SearchTimeline 1" in alert["text"]
    _, cursor = tick(sqlite_url, cursor, alert_settings)
    assert len(received) == 1

    pool.add_accounts([("b4", COOKIES)])
    _, cursor = tick(sqlite_url, cursor, alert_settings)
    assert len(received) == 2 and "recovered" in received[1]["text"]


def test_an_unreachable_webhook_does_not_break_the_sensor(sqlite_url):
    unreachable = AlertsResource(webhook_url="http://127.0.0.1:9/hook", backoff_s=0)
    result, cursor = tick(sqlite_url, None, unreachable)  # no accounts at all: low
    assert "webhook failed" in result.skip_message and "SearchTimeline" in json.loads(cursor)["low_ops"]


def test_pool_stats_asset_appends_snapshots(sqlite_url, tmp_path):
    from xget_pipelines.assets import account_pool_stats

    AccountPool(get_engine(sqlite_url), secrets=installation_box()).add_accounts(
        [("a1", COOKIES), ("a2", COOKIES)]
    )
    resources = {
        "lake": LakeResource(uri=str(tmp_path / "lake")),
        "account_pool": AccountPoolResource(control_plane=control_plane_resource(sqlite_url)),
    }
    for _ in range(2):
        assert dg.materialize([account_pool_stats], resources=resources).success
    con = connect(resources["lake"].lake())
    assert con.execute("select count(*), max(usable), max(total) from ops_account_pool").fetchone() == (
        2,
        2,
        2,
    )
