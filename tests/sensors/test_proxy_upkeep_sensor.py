"""The proxy upkeep sensor, as Dagster runs a tick: it checks the due proxies through a real proxy server to
the emulator and reports what it did as an observation of ``proxy_pool`` (the UI's metadata)."""

import json

import dagster as dg

from tests.conftest import control_plane_resource, installation_box
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.incidents import IncidentBook
from xget_pipelines.core.pools.proxies import ACTIVE, ProxyPool, parse_proxy_lines
from xget_pipelines.emulator.proxy_servers import free_port, start_http_proxy
from xget_pipelines.resources import AlertsResource, ProxyPoolResource
from xget_pipelines.sensors import proxy_upkeep_sensor


def _tick(sqlite_url, target, cursor=None):
    resources = {
        "proxy_pool": ProxyPoolResource(
            control_plane=control_plane_resource(sqlite_url), check_target_url=target, checks_per_tick=5
        ),
        "alerts": AlertsResource(database_url=sqlite_url, proxy_failed_checks=1),  # no SMTP: to the log
    }
    with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
        result = proxy_upkeep_sensor(ctx)
        return result, result.cursor  # a SensorResult carries its cursor


def test_a_tick_checks_due_proxies_and_records_what_it_did(sqlite_url, emu, tmp_path):
    server = start_http_proxy(tmp_path / "p")
    try:
        pool = ProxyPool(get_engine(sqlite_url), installation_box())
        records = parse_proxy_lines(f"{server.url()}\n127.0.0.1:{free_port()}\n").records
        live, dead = pool.import_proxies(records).ids
        result, cursor = _tick(sqlite_url, f"{emu.url}/_emulator/whoami")
        (observation,) = result.asset_events
        assert observation.asset_key == dg.AssetKey("proxy_pool")
        meta = {k: v.value for k, v in observation.metadata.items()}
        assert (meta["checked"], meta["newly_inactive"], meta["active"], meta["inactive"]) == (2, 1, 1, 1)
        assert pool.get(live).status == ACTIVE and json.loads(cursor)["checked"] == 2
        (incident,) = IncidentBook(get_engine(sqlite_url)).open_incidents()  # the dead one, for a person
        assert incident.key == f"proxy:{dead}:inactive" and f"xget proxies remove {dead}" in incident.remedy
        again, _ = _tick(sqlite_url, f"{emu.url}/_emulator/whoami", cursor)  # nothing due a minute later
        assert not again.asset_events and "no proxy due" in again.skip_reason.skip_message
        assert pool.get(dead).next_check_at is not None
    finally:
        server.stop()
