"""Structured logs as a log shipper sees them: with deploy/dagster.yaml's python_logs, a real scrape run
against the emulator writes JSON lines to stdout carrying the run id, the asset and, for an account X
refused, the account and operation; the accounts' cookies never appear."""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import httpx
import sqlalchemy as sa
import yaml

from tests.conftest import control_plane_resource, register_accounts
from xget_pipelines.assets import ingest_assets
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.redact import mask
from xget_pipelines.logs import JsonFormatter
from xget_pipelines.resources import AccountPoolResource, LakeResource, XApiResource

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
DAY = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


def test_a_run_logs_json_with_run_asset_and_account_and_no_secrets(
    emulator_factory, sqlite_url, tmp_path, small_world, capfd
):
    emu = emulator_factory(window_seconds=2)
    register_accounts(emu, get_engine(sqlite_url), ["logs_banned", "logs_ok"])  # the first leased: banned
    cookies = httpx.get(f"{emu.url}/_emulator/accounts", timeout=10).json()  # [{username, auth_token, ct0}]
    with get_engine(sqlite_url).connect() as conn:
        banned_id = conn.execute(
            sa.text("select id from accounts where username = 'logs_banned'")
        ).scalar_one()
    httpx.post(
        f"{emu.url}/_emulator/faults", json={"accounts": {"logs_banned": "suspended"}}
    ).raise_for_status()
    key = small_world.watchlist_suggestions()["terms"][0]
    python_logs = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["python_logs"]
    with dg.instance_for_test(overrides={"python_logs": python_logs}) as instance:
        instance.add_dynamic_partitions("watchlist", [key])
        result = dg.materialize(
            [*ingest_assets],
            instance=instance,
            partition_key=dg.MultiPartitionKey({"date": DAY, "watch": key}),
            resources={
                "lake": LakeResource(uri=str(tmp_path / "lake")),
                "control_plane": control_plane_resource(sqlite_url),
                "account_pool": AccountPoolResource(control_plane=control_plane_resource(sqlite_url)),
                "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10),
            },
        )
    assert result.success
    out = capfd.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines and all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    ours = [line for line in lines if line.get("run_id") == result.run_id]
    assert {line.get("asset") for line in ours} >= {"raw_x_pages"}
    refused = [line for line in ours if line.get("account") == "logs_banned"]
    assert refused and refused[0]["operation"] and refused[0]["account_id"] == banned_id
    assert refused[0]["asset"] == "raw_x_pages" and refused[0]["level"] == "warning"
    assert len(cookies) == 2
    for account in cookies:
        assert account["auth_token"] not in out and account["ct0"] not in out


def test_secrets_in_messages_are_masked():
    import logging

    record = logging.LogRecord(
        "xget",
        logging.INFO,
        __file__,
        1,
        "cookie auth_token=abc123; ct0=zz9 via "
        "http://user:hunter2@proxy:8080 with Bearer eyJhbGciOi.x.y and xk_12_s3cr3t",
        (),
        None,
    )
    line = json.loads(JsonFormatter().format(record))
    for secret in ("abc123", "zz9", "hunter2", "eyJhbGciOi", "s3cr3t"):
        assert secret not in line["message"]
    assert mask("nothing secret here") == "nothing secret here"
