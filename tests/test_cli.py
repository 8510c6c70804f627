"""The `xget` command as a user runs it."""

import datetime as dt
import json

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from xget_pipelines.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XGET_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"


def xget(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_x_parse_reports_what_the_pipeline_extracts(captures_dir):
    from twscrape.models import parse_tweets, parse_users

    files = [captures_dir / "raw_search.json", captures_dir / "raw_followers.json"]
    result = xget("x", "parse", *map(str, files), "--format", "json")
    assert result.exit_code == 0, result.output
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["operation"] for r in reports] == ["SearchTimeline", "Followers"]
    for report, path in zip(reports, files, strict=False):
        assert set(report) >= {"file", "operation", "tweet_ids", "user_ids", "errors"}
        doc = json.loads(path.read_bytes())  # the reference parser's view of the same file
        assert set(report["user_ids"]) == {str(u.id) for u in parse_users(doc)}
        assert {str(t.id) for t in parse_tweets(doc)} <= set(report["tweet_ids"])
    assert len(reports[0]["tweet_ids"]) >= 25 and reports[1]["tweet_ids"] == []


def test_x_parse_of_a_broken_file_names_the_problem(tmp_path):
    bad = tmp_path / "cut.json"
    bad.write_text('{"data": {"search_by_raw_query": {"search_timeline": ')
    result = xget("x", "parse", str(bad), "--format", "json")
    assert result.exit_code == 1
    (report,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert report["operation"] is None and report["errors"] and "JSON" in report["errors"][0]


def write_tweets(home):
    from xget_pipelines.core.lake.delta import Lake

    day = dt.date(2026, 11, 1)
    table = pa.table(
        {
            "tweet_id": pa.array([1, 2], pa.int64()),
            "watch_key": ["python", "python"],
            "day": pa.array([day, day], pa.date32()),
        }
    )
    Lake(str(home / "lake")).replace_where(
        "cleaned/tweets", table, {"day": day, "watch_key": "python"}, ["day"]
    )


def test_sql_formats_and_lake_tables(home):
    write_tweets(home)
    as_json = xget("sql", "select count(*) as n, min(day) as d from cleaned_tweets", "--format", "json")
    assert json.loads(as_json.stdout) == {"n": 2, "d": "2026-11-01"}
    as_csv = xget("sql", "select tweet_id from cleaned_tweets order by 1", "--format", "csv")
    assert as_csv.stdout.splitlines() == ["tweet_id", "1", "2"]
    assert "cleaned_tweets" not in xget("sql", "select 1").stdout
    tables = [json.loads(x) for x in xget("lake", "tables", "--format", "json").stdout.splitlines()]
    assert tables == [
        {"table": "cleaned/tweets", "version": 0, "rows": 2, "files": 1, "size": tables[0]["size"]}
    ]


def test_sql_error_lists_the_views(home):
    write_tweets(home)
    result = xget("sql", "select * from cleaned_tweetz")
    assert result.exit_code == 1
    assert "cleaned_tweets" in result.output and "views available" in result.output


def test_accounts_never_print_secrets_and_bad_cookies_are_refused():
    bad = xget("accounts", "add", "alice", "--cookies", "auth_token=abc")
    assert bad.exit_code == 1 and "ct0" in bad.output
    ok = xget("accounts", "add", "alice", "--cookies", "auth_token=SECRET1; ct0=SECRET2")
    assert ok.exit_code == 0 and "SECRET" not in ok.output
    listing = xget("accounts", "list", "--format", "json")
    assert json.loads(listing.stdout)["username"] == "alice" and "SECRET" not in listing.stdout


def test_watchlist_commands():
    assert xget("watch", "add", "python", "@alice").exit_code == 0
    listed = [json.loads(line) for line in xget("watch", "list", "-f", "json").stdout.splitlines()]
    assert [(e["key"], e["budget"], e["product"]) for e in listed] == [
        ("python", "50 pages", "Latest"),
        ("@alice", "50 pages", "Latest"),
    ]
    # parameters: set on a key already there, kept by a plain re-add, refused when they mean nothing
    assert xget("watch", "add", "python", "--budget", "all", "--product", "top").exit_code == 0
    assert xget("watch", "add", "python").exit_code == 0
    listed = [json.loads(line) for line in xget("watch", "list", "-f", "json").stdout.splitlines()]
    assert (listed[0]["budget"], listed[0]["product"]) == ("all", "Top")
    expanded = xget("watch", "add", "@alice", "--expand", "conversations:5", "--expand", "media")
    assert expanded.exit_code == 0 and "expand conversations:5 media" in expanded.output
    listed = [json.loads(line) for line in xget("watch", "list", "-f", "json").stdout.splitlines()]
    assert listed[1]["expand"] == "conversations:5 media"
    for option, value, named in (
        ("--budget", "lots", "'all'"),
        ("--budget", "0 pages", "between 1"),
        ("--product", "Media", "Latest or Top"),
        ("--expand", "threads", "names no expansion"),
        ("--expand", "media", "needs an @handle key"),
    ):
        bad = xget("watch", "add", "rust", option, value)
        assert bad.exit_code == 1 and named in bad.output, bad.output
    assert "rust" not in xget("watch", "list", "-f", "json").stdout
    bad = xget("watch", "add", "a|b")
    assert bad.exit_code == 1 and "partition keys cannot hold" in bad.output
    assert xget("watch", "remove", "python").exit_code == 0
    assert xget("watch", "remove", "nope").exit_code == 1


def test_x_parse_of_a_body_several_operations_share_still_extracts_it(captures_dir):
    result = xget("x", "parse", str(captures_dir / "raw_user_by_login.json"), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["operation"] in report["operation_candidates"]
    assert set(report["operation_candidates"]) == {"UserByScreenName", "UserByRestId"}
    assert report["user_ids"] == ["2244994945"] and report["errors"] == []


def test_accounts_import_reports_bad_lines_imports_good_ones_and_updates_on_reimport(tmp_path):
    path = tmp_path / "accounts.txt"
    path.write_text("alice:pw1:a@example.org:m1\nbroken\nbob:pw2:b@example.org:m2:TOTPSECRET\n")
    first = xget("accounts", "import", str(path))
    assert first.exit_code == 0, first.output
    assert "2 accounts added, 0 updated" in first.stdout and "line 2: expected 4 to 5 fields" in first.output
    assert "pw1" not in first.output and "TOTPSECRET" not in first.output
    path.write_text("alice:pw1-new:a@example.org:m1\n")
    again = xget("accounts", "import", str(path))
    assert "0 accounts added, 1 updated" in again.stdout
    names = [
        json.loads(x)["username"] for x in xget("accounts", "list", "--format", "json").stdout.splitlines()
    ]
    assert names == ["alice", "bob"]
    nothing = tmp_path / "bad.csv"
    nothing.write_text("who,what\n1,2\n")
    assert xget("accounts", "import", str(nothing)).exit_code == 1


def test_accounts_check_disable_enable(emulator_factory, monkeypatch):
    import httpx

    emu = emulator_factory(window_seconds=5)
    monkeypatch.setenv("XGET_X_GRAPHQL_URL", emu.graphql_url)
    accounts = httpx.post(f"{emu.url}/_emulator/accounts", json={"usernames": ["good", "bad"]}).json()
    for acc in accounts:
        assert (
            xget(
                "accounts",
                "add",
                acc["username"],
                "--cookies",
                f"auth_token={acc['auth_token']}; ct0={acc['ct0']}",
            ).exit_code
            == 0
        )
    httpx.post(f"{emu.url}/_emulator/faults", json={"accounts": {"bad": "suspended"}}).raise_for_status()
    result = xget("accounts", "check", "--format", "json")
    rows = {r["username"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["good"]["ok"] is True and rows["bad"]["ok"] is False
    assert rows["bad"]["detail"] == "suspended (X code 64)"
    assert xget("accounts", "disable", "good", "--reason", "lent to a colleague").exit_code == 0
    listing = {
        json.loads(x)["username"]: json.loads(x)
        for x in xget("accounts", "list", "-f", "json").stdout.splitlines()
    }
    assert listing["good"]["state"] == "inactive" and listing["good"]["last error"] == "lent to a colleague"
    assert xget("accounts", "enable", "good").exit_code == 0
    assert xget("accounts", "enable", "nobody").exit_code == 1


def test_accounts_login_stores_a_session_and_reports_failures(emulator_factory, monkeypatch, tmp_path):
    import httpx

    emu = emulator_factory(window_seconds=5)
    monkeypatch.setenv("XGET_X_GRAPHQL_URL", emu.graphql_url)
    httpx.post(
        f"{emu.url}/_emulator/login_accounts",
        json={
            "accounts": [
                {"username": "pw_ok", "password": "right-pw", "email": "ok@example.org"},
                {"username": "pw_bad", "password": "other-pw", "email": "bad@example.org"},
            ]
        },
    ).raise_for_status()
    path = tmp_path / "accounts.txt"
    path.write_text("pw_ok:right-pw:ok@example.org:mailpw\npw_bad:WRONG-pw:bad@example.org:mailpw\n")
    assert xget("accounts", "import", str(path)).exit_code == 0
    result = xget("accounts", "login")
    assert "pw_ok: logged in" in result.output and "wrong password" in result.output
    assert "right-pw" not in result.output and "WRONG-pw" not in result.output
    rows = {
        json.loads(x)["username"]: json.loads(x)
        for x in xget("accounts", "list", "-f", "json").stdout.splitlines()
    }
    assert rows["pw_ok"]["state"] == "active" and rows["pw_bad"]["state"] == "inactive"
    checked = xget("accounts", "check", "pw_ok", "--format", "json")
    assert json.loads(checked.stdout)["ok"] is True  # the stored session really works


def test_watch_status_shows_each_days_coverage_and_the_totals(emulator_factory, small_world):
    """Two days of a key collected from the emulator (one cut at a 2-page budget, one to X's end) and one
    never collected: `xget watch status` shows truncated, complete and missing, with the pages and items."""
    from tests.conftest import register_accounts
    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.lake.delta import Lake
    from xget_pipelines.core.x.client import XClient
    from xget_pipelines.core.x.scrape import scrape_partition
    from xget_pipelines.settings import Settings

    settings = Settings()
    key = small_world.watchlist_suggestions()["terms"][0]
    assert xget("watch", "add", key).exit_code == 0  # added today: expected from 2 days ago (3-day backfill)
    engine, lake = get_engine(settings.resolved_database_url), Lake(settings.resolved_lake_uri)
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["w1", "w2"])
    today = dt.datetime.now(dt.UTC).date()
    yesterday = today - dt.timedelta(days=1)
    with XClient(emu.graphql_url, pool) as client:
        cut = scrape_partition(
            client, lake, engine, key=key, day=yesterday, run_id="r1", page_size=10, max_pages=2
        )
        whole = scrape_partition(client, lake, engine, key=key, day=today, run_id="r2", page_size=50)

    rows = [json.loads(x) for x in xget("watch", "status", "--format", "json").stdout.splitlines()]
    assert [(r["day"], r["outcome"]) for r in rows] == [
        ((today - dt.timedelta(days=2)).isoformat(), "missing"),
        (yesterday.isoformat(), "truncated"),
        (today.isoformat(), "complete"),
    ]
    assert (rows[1]["pages"], rows[1]["items"], rows[1]["budget"], rows[1]["run"]) == (2, 20, "2 pages", "r1")
    assert rows[2]["pages"] == whole.outcome.pages and rows[2]["items"] == whole.outcome.items
    assert rows[0]["pages"] is None and cut.outcome.outcome == "truncated"

    totals = [json.loads(x) for x in xget("watch", "status", "--totals", "-f", "json").stdout.splitlines()]
    assert totals[0] == {
        "key": key,
        "days": 3,
        "complete": 1,
        "truncated": 1,
        "failed": 0,
        "missing": 1,
        "pages": 2 + whole.outcome.pages,
        "items": 20 + whole.outcome.items,
    }
    assert totals[1]["key"] == "every key" and totals[1]["days"] == 3

    table = xget("watch", "status", "--since", yesterday.isoformat(), "--until", yesterday.isoformat()).stdout
    assert "truncated" in table and "complete" not in table.split("totals")[0] and "totals" in table
    other = [
        json.loads(x) for x in xget("watch", "status", "--key", "#nothing", "-f", "json").stdout.splitlines()
    ]
    assert {r["outcome"] for r in other} == {"missing"} and len(other) == 14  # a key never collected
    assert xget("watch", "status", "--since", "yesterday").exit_code == 1
    bad = xget("watch", "status", "--since", today.isoformat(), "--until", yesterday.isoformat())
    assert bad.exit_code == 1 and "after until" in bad.output


def test_hydrate_reports_counts_exports_and_refuses_bad_ids(
    emulator_factory, small_world, monkeypatch, tmp_path
):
    import httpx
    import pyarrow.parquet as pq

    from xget_pipelines.emulator.model import DELETED, WITHHELD

    emu = emulator_factory(window_seconds=5)
    monkeypatch.setenv("XGET_X_GRAPHQL_URL", emu.graphql_url)
    acc = httpx.post(f"{emu.url}/_emulator/accounts", json={"usernames": ["hydrator"]}).json()[0]
    cookies = f"auth_token={acc['auth_token']}; ct0={acc['ct0']}"
    assert xget("accounts", "add", "hydrator", "--cookies", cookies).exit_code == 0
    plain = [t for t in small_world.tweets if not (t.flags or t.author.protected or t.author.unavailable)][
        :150
    ]
    deleted = next(t for t in small_world.tweets if t.flags & DELETED)
    withheld = next(t for t in small_world.tweets if t.flags & WITHHELD and not t.flags & DELETED)
    rows = [f"{t.id},x" for t in plain] + [f"{deleted.id},y", f"{withheld.id},z", "1,never"]
    ids = tmp_path / "shared.csv"
    ids.write_text("status_id,label\n" + "\n".join(rows) + "\n")

    out = tmp_path / "status.parquet"
    result = xget("hydrate", str(ids), "--column", "status_id", "--export", str(out), "-f", "json")
    assert result.exit_code == 0, result.output
    counts = {r["status"]: r["ids"] for r in map(json.loads, result.stdout.splitlines())}
    assert counts["found"] == 150 and counts["deleted"] == 2 and counts["withheld"] == 1
    table = pq.read_table(out)
    assert table.num_rows == 153 and set(table["dataset"].to_pylist()) == {"shared"}
    assert "153/153 ids decided" in result.stderr and "wrote 153 rows" in result.stderr

    again = xget("hydrate", str(ids), "--column", "status_id")
    assert again.exit_code == 0 and "decided" not in again.stderr  # nothing left to ask

    bad = tmp_path / "bad.txt"
    bad.write_text("12\n1e5\n")
    refused = xget("hydrate", str(bad))
    assert refused.exit_code == 1 and "line 2: '1e5'" in refused.stderr


def test_watch_backfill_estimates_then_launches_and_reports_its_progress(
    emulator_factory, small_world, monkeypatch
):
    """`xget watch backfill --dry-run` prints the estimate and launches nothing; with --yes the backfill is
    created (the sampled days kept), and `xget watch backfill-status` shows it against its estimate."""
    from tests.conftest import register_accounts
    from xget_pipelines.core.db import backfills
    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.settings import Settings

    emu = emulator_factory(window_seconds=2)
    monkeypatch.setenv("XGET_X_GRAPHQL_URL", emu.graphql_url)
    settings = Settings()
    engine = get_engine(settings.resolved_database_url)
    register_accounts(emu, engine, ["c1"])
    key = small_world.watchlist_suggestions()["terms"][0]
    today = dt.datetime.now(dt.UTC).date()
    since = (today - dt.timedelta(days=6)).isoformat()

    refused = runner.invoke(app, ["watch", "backfill", key, "--since", since])
    assert refused.exit_code == 1 and "not on the watchlist" in refused.output
    assert xget("watch", "add", key).exit_code == 0
    bad = runner.invoke(app, ["watch", "backfill", key, "--since", "6 days ago"])
    assert bad.exit_code == 1 and "--since '6 days ago' is not a day" in bad.output

    dry = xget("watch", "backfill", key, "--since", since, "--samples", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "6 days" in dry.output and "sampled now (real partitions): 2 days" in dry.output
    assert "account-hours of SearchTimeline" in dry.output and "ETA" in dry.output
    assert "with 2 it would take" in dry.output and "dry run: nothing launched" in dry.output
    assert backfills.latest(engine) is None

    declined = runner.invoke(app, ["watch", "backfill", key, "--since", since, "--samples", "1"], input="n\n")
    assert declined.exit_code == 1 and "not launched" in declined.output
    launched = xget("watch", "backfill", key, "--since", since, "--samples", "1", "--yes")
    assert launched.exit_code == 0, launched.output
    created = backfills.latest(engine)
    assert created is not None and f"backfill {created.id} created" in launched.output
    assert len(created.parse) == 4 and len(created.fetch) == 2  # 2 + 1 + 1 sampled, parsed only

    status = xget("watch", "backfill-status", "--format", "json")
    rows = {r[""]: r["value"] for r in map(json.loads, status.stdout.splitlines())}
    assert rows["status"] == "RUNNING" and rows["days fetched"] == "0/2 (0 failed)"
    assert rows["pages"].startswith("0 of ") and rows["ETA"] != "unknown"
    missing = runner.invoke(app, ["watch", "backfill-status", "999"])
    assert missing.exit_code == 1 and "no backfill 999" in missing.output

    # `xget watch backfill-cancel`: CANCELING (the sensor cancels its runs); a finished one is refused.
    canceled = xget("watch", "backfill-cancel", str(created.id))
    assert canceled.exit_code == 0, canceled.output
    assert f"backfill {created.id} of {key} is CANCELING" in canceled.output
    stored = backfills.get(engine, created.id)
    assert stored.status == "CANCELING" and stored.error.startswith("canceled by the command line at ")
    backfills.record(engine, created.id, expect="CANCELING", status="CANCELED")  # as the sensor does
    again = runner.invoke(app, ["watch", "backfill-cancel", str(created.id)])
    assert again.exit_code == 1 and f"backfill {created.id} is CANCELED" in again.output
    unknown = runner.invoke(app, ["watch", "backfill-cancel", "999"])
    assert unknown.exit_code == 1 and "no backfill 999" in unknown.output
