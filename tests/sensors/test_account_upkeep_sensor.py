"""The account upkeep sensor, as Dagster runs a tick: it checks the due accounts against the emulator and
reports what it did as an observation of ``account_pool`` (the UI's metadata)."""

import json

import dagster as dg
import httpx

from tests.conftest import control_plane_resource, register_accounts
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.incidents import IncidentBook
from xget_pipelines.resources import AccountUpkeepResource, AlertsResource
from xget_pipelines.sensors import account_upkeep_sensor


def _tick(sqlite_url, emu, cursor=None):
    resources = {
        "account_upkeep": AccountUpkeepResource(
            control_plane=control_plane_resource(sqlite_url), graphql_url=emu.graphql_url, login_url=emu.url
        ),
        "alerts": AlertsResource(database_url=sqlite_url),  # incidents kept, no SMTP: to the log
    }
    with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
        result = account_upkeep_sensor(ctx)
        return result, result.cursor


def test_a_tick_checks_due_accounts_and_records_what_it_did(sqlite_url, emu):
    register_accounts(emu, get_engine(sqlite_url), ["tick_ok", "tick_gone"])
    httpx.post(f"{emu.url}/_emulator/accounts/tick_gone/expire").raise_for_status()  # no password stored
    result, cursor = _tick(sqlite_url, emu)
    (observation,) = result.asset_events
    assert observation.asset_key == dg.AssetKey("account_pool")
    meta = {k: v.value for k, v in observation.metadata.items()}
    assert (meta["checked"], meta["healthy"], meta["newly_out"], meta["needs_person"]) == (2, 1, 1, 1)
    assert (meta["active"], meta["inactive"]) == (1, 1) and json.loads(cursor)["checked"] == 2
    # The account only a person can bring back is an incident that says what to do.
    (incident,) = IncidentBook(get_engine(sqlite_url)).open_incidents()
    assert incident.key == "account:tick_gone:out" and "no password stored" in incident.remedy
    again, _ = _tick(sqlite_url, emu, cursor)  # nothing due a moment later
    assert not again.asset_events and "no account due" in again.skip_reason.skip_message
