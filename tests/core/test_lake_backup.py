"""Backups and restores of the lake and the control-plane DB: identical files, versions and rows, on
SQLite and on the machine's PostgreSQL; nothing overwritten, damage detected, writers never stopped."""

import json
import threading
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tests.serving.lake_fixture import build_small_lake
from xget_pipelines.core.db.dump import DumpError
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.backup import BackupError, backup_lake, verify_backup
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.lake.restore import restore_lake


def _control_plane(url: str) -> None:
    engine = get_engine(url)  # migrated: every control-plane table exists
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into watchlist (key, active, added_at) values ('#python', true, current_timestamp)"
            )
        )


def _counts(lake: Lake) -> dict[str, tuple[int, int]]:
    return {i.name: (i.version, i.rows) for i in lake.describe()}


def test_backup_restores_identical_tables_and_sqlite_db(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    build_small_lake(lake.uri)
    media = tmp_path / "lake" / "media" / "ab" / ("ab" + "0" * 62 + ".jpg")
    media.parent.mkdir(parents=True)
    media.write_bytes(b"\xff\xd8\xff" + b"x" * 100)
    db = f"sqlite:///{tmp_path / 'xget.db'}"
    _control_plane(db)

    manifest = backup_lake(lake, str(tmp_path / "backup"), db)
    assert {t["name"] for t in manifest["tables"]} == set(lake.list_tables())
    assert manifest["control_plane"]["rows"]["watchlist"] == 1
    assert [m["path"] for m in manifest["media"]] == [str(media.relative_to(tmp_path / "lake"))]

    target = Lake(str(tmp_path / "restored"))
    report = restore_lake(str(tmp_path / "backup"), target, f"sqlite:///{tmp_path / 'restored.db'}")
    assert _counts(target) == _counts(lake)
    assert report.tables == {n: v for n, v in _counts(lake).items()}
    assert (tmp_path / "restored" / media.relative_to(tmp_path / "lake")).read_bytes() == media.read_bytes()
    for name in lake.list_tables():  # the same rows, not only as many
        assert (
            target.read(name)
            .sort_by([(lake.read(name).column_names[0], "ascending")])
            .equals(lake.read(name).sort_by([(lake.read(name).column_names[0], "ascending")]))
        )
    with sa.create_engine(f"sqlite:///{tmp_path / 'restored.db'}").connect() as conn:
        assert conn.execute(sa.text("select key from watchlist")).scalars().all() == ["#python"]


def test_a_backup_taken_while_a_writer_appends_restores_its_snapshot(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    lake.append("raw/pages", pa.table({"n": list(range(100))}))
    stop = threading.Event()

    def writer():
        n = 100
        while not stop.is_set():
            lake.append("raw/pages", pa.table({"n": [n]}))
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        manifest = backup_lake(lake, str(tmp_path / "backup"))
    finally:
        stop.set()
        thread.join()
    (entry,) = manifest["tables"]
    assert lake.version("raw/pages") > entry["version"]  # the writer went on during and after the copy
    target = Lake(str(tmp_path / "restored"))
    restore_lake(str(tmp_path / "backup"), target)
    restored = target.table("raw/pages")
    assert restored.version() == entry["version"]
    at_backup = lake.table("raw/pages")
    at_backup.load_as_version(entry["version"])
    assert restored.to_pyarrow_table().sort_by("n").equals(at_backup.to_pyarrow_table().sort_by("n"))
    assert (
        restored.to_pyarrow_table()["n"].to_pylist() != []
        and entry["rows"] == restored.to_pyarrow_table().num_rows
    )


def test_restore_never_overwrites_and_replace_moves_the_old_tables_aside(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    lake.append("cleaned/x", pa.table({"v": [1, 2]}))
    backup_lake(lake, str(tmp_path / "backup"))
    with pytest.raises(BackupError, match="not empty"):
        backup_lake(lake, str(tmp_path / "backup"))

    lake.append("cleaned/x", pa.table({"v": [3]}))  # newer data the backup does not have
    with pytest.raises(BackupError, match="already has cleaned/x.*--replace"):
        restore_lake(str(tmp_path / "backup"), lake)
    assert lake.read("cleaned/x").num_rows == 3  # untouched

    report = restore_lake(str(tmp_path / "backup"), lake, replace=True)
    assert sorted(lake.read("cleaned/x")["v"].to_pylist()) == [1, 2]
    (kept,) = report.moved_aside
    assert sorted(
        Lake(str(tmp_path / "lake" / kept.rsplit("/cleaned/x", 1)[0])).read("cleaned/x")["v"].to_pylist()
    ) == [1, 2, 3]
    assert lake.list_tables() == ["cleaned/x"]  # what was moved aside is not a live table


def test_damage_and_interrupted_backups_are_refused_by_name(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    build_small_lake(lake.uri, analytics=False)
    backup = tmp_path / "backup"
    manifest = backup_lake(lake, str(backup))
    victim = manifest["tables"][0]["files"][0]["path"]
    path = backup / "lake" / victim
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(BackupError, match=victim.split("/")[-1]):
        verify_backup(str(backup))
    with pytest.raises(BackupError, match="differ from the manifest"):
        restore_lake(str(backup), Lake(str(tmp_path / "restored")))
    assert not (tmp_path / "restored").exists()  # checked before anything was written

    (backup / "manifest.json").unlink()
    with pytest.raises(BackupError, match="no manifest.json"):
        restore_lake(str(backup), Lake(str(tmp_path / "restored")))


def test_postgres_control_plane_round_trip(tmp_path, postgres_url):
    _control_plane(postgres_url)
    lake = Lake(str(tmp_path / "lake"))
    lake.append("cleaned/x", pa.table({"v": [1]}))
    manifest = backup_lake(lake, str(tmp_path / "backup"), postgres_url)
    assert manifest["control_plane"]["kind"] == "postgresql"
    assert manifest["control_plane"]["rows"]["watchlist"] == 1
    assert "password" not in json.dumps(manifest)

    with pytest.raises(DumpError, match="already has tables"):  # the source DB itself is not empty
        restore_lake(str(tmp_path / "backup"), Lake(str(tmp_path / "restored")), postgres_url)
    with pytest.raises(BackupError, match="sqlite"):
        restore_lake(
            str(tmp_path / "backup"), Lake(str(tmp_path / "restored")), f"sqlite:///{tmp_path / 'x.db'}"
        )

    with get_engine(postgres_url).begin() as conn:  # lose the data, then get it back
        conn.execute(sa.text("delete from watchlist"))
    report = restore_lake(
        str(tmp_path / "backup"), Lake(str(tmp_path / "restored")), postgres_url, replace=True
    )
    assert report.control_plane_rows["watchlist"] == 1
    with get_engine(postgres_url).connect() as conn:
        assert conn.execute(sa.text("select key from watchlist")).scalars().all() == ["#python"]


def test_cli_backup_restore_and_verify(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from xget_pipelines.cli import app

    monkeypatch.setenv("XGET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    build_small_lake(tmp_path / "home" / "lake", analytics=False)
    get_engine(f"sqlite:///{tmp_path / 'home' / 'xget.db'}")
    runner = CliRunner()
    done = runner.invoke(app, ["lake", "backup", str(tmp_path / "b")])
    assert done.exit_code == 0, done.output
    assert "backed up 3 tables" in done.output and "control-plane DB" in done.output
    assert runner.invoke(app, ["lake", "verify", str(tmp_path / "b")]).exit_code == 0
    refused = runner.invoke(app, ["lake", "restore", str(tmp_path / "b")])
    assert refused.exit_code == 1 and "--replace" in refused.output
    done = runner.invoke(
        app,
        [
            "lake",
            "restore",
            str(tmp_path / "b"),
            "--lake",
            str(tmp_path / "new"),
            "--database-url",
            f"sqlite:///{tmp_path / 'new.db'}",
        ],
    )
    assert done.exit_code == 0, done.output
    assert "restored 3 tables (20 rows)" in done.output and Path(tmp_path / "new.db").exists()
