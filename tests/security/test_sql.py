"""`xget sql` is read-only for real (issue 16, finding 5).

Found before: `COPY (select 1) TO '<an entities/users data file>'` silently changed `entities_users` from
2,333 to 2,202 rows; a `COPY` over a `_delta_log` file made every `xget` command fail;
`read_text('/etc/passwd')` and reading `.xget/secret.key` worked; `INSTALL`/autoload of extensions was on.
Each is tried again here as an attacker would: refused with a message that says why, and not one byte of the
lake changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.serving.lake_fixture import build_small_lake
from xget_pipelines.cli import app

SECRET = "xget-test-secret-d41d8cd98f00b204"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("XGET_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    build_small_lake(home / "lake")
    (home / "secret.key").write_text(SECRET)
    return home


def xget_sql(query: str):
    return CliRunner().invoke(app, ["sql", query, "--format", "json"])


def fingerprint(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def count(table: str) -> int:
    out = xget_sql(f"select count(*) as n from {table}")
    assert out.exit_code == 0, out.output
    return int(out.output.split('"n": ')[1].split("}")[0])


def test_queries_of_every_kind_still_answer(home):
    assert count("entities_tweets") > 0
    for query in (
        "with t as (select author_id from entities_tweets) select count(*) from t",
        "from entities_users select username limit 2",
        "describe entities_tweets",
        "show tables",
        "summarize entities_users",
        "select 1; select 2",
    ):
        out = xget_sql(query)
        assert out.exit_code == 0, (query, out.output)


def test_statements_that_write_or_reconfigure_are_refused_and_change_nothing(home):
    lake = home / "lake"
    data_file = next((lake / "entities" / "users").rglob("*.parquet"))
    log_file = next((lake / "entities" / "tweets" / "_delta_log").glob("*.json"))
    before, users, tweets = fingerprint(lake), count("entities_users"), count("entities_tweets")
    attacks = {
        f"copy (select 1) to '{data_file}' (format parquet)": "COPY",
        f"copy (select 1) to '{log_file}'": "COPY",
        "select 1; copy (select 2) to '/tmp/xget-sql-escape.csv'": "COPY",
        f"attach '{lake / 'evil.duckdb'}' as evil": "ATTACH",
        "create table t as select 1": "CREATE",
        "insert into entities_users select * from entities_users": "INSERT",
        f"export database '{lake / 'exported'}'": "EXPORT",
        "install httpfs": "LOAD",
        "load httpfs": "LOAD",
        "set enable_external_access = true": "SET",
        "detach marts": "DETACH",
    }
    for query, kind in attacks.items():
        out = xget_sql(query)
        assert out.exit_code == 1, (query, out.output)
        assert "runs queries only" in out.output and f"refused: {kind}" in out.output, (query, out.output)
    assert fingerprint(lake) == before  # not a byte of the lake changed, and no file appeared in it
    assert not Path("/tmp/xget-sql-escape.csv").exists()
    assert (count("entities_users"), count("entities_tweets")) == (users, tweets)


def test_no_file_but_the_tables_can_be_read(home):
    log_file = next((home / "lake" / "entities" / "tweets" / "_delta_log").glob("*.json"))
    for query in (
        "select * from read_text('/etc/passwd')",
        f"select * from read_text('{home / 'secret.key'}')",
        f"select * from read_blob('{home / 'secret.key'}')",
        f"select * from read_csv('{home / 'secret.key'}')",
        f"select * from read_text('{home / 'lake' / '..' / 'secret.key'}')",
        f"select * from read_json('{log_file}')",
    ):
        out = xget_sql(query)
        assert out.exit_code == 1, (query, out.output)
        assert "reads the lake's tables and the marts only" in out.output, (query, out.output)
        assert SECRET not in out.output and "root:" not in out.output
