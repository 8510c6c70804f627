"""A consistent copy of the control-plane DB for backups, and its restore.

SQLite is copied with SQLite's online backup API (a consistent copy while the pool keeps writing);
PostgreSQL with ``pg_dump`` run on a snapshot exported from a transaction that also counts every
table's rows, so the counts in the manifest are exactly what the dump holds. Passwords go to the
tools through the environment (``PGPASSWORD``), never on a command line or into a log.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


class DumpError(RuntimeError):
    pass


def kind(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DumpError(f"cannot back up a {backend} control-plane DB: XGet supports SQLite and PostgreSQL")
    return backend


def dump(database_url: str, target: Path) -> tuple[str, dict[str, int]]:
    """Write the DB to ``target`` (a folder); returns the file name and each table's row count."""
    target.mkdir(parents=True, exist_ok=True)
    if kind(database_url) == "sqlite":
        source = _sqlite_path(database_url)
        if not source.exists():
            raise DumpError(f"the control-plane DB {source} does not exist; nothing to back up")
        out = target / "xget.db"
        with sqlite3.connect(source) as src, sqlite3.connect(out) as dst:
            src.backup(dst)
        with sqlite3.connect(out) as copy:
            return out.name, _sqlite_counts(copy)
    out = target / "xget.sql"
    url = make_url(database_url)
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:  # hold the snapshot open while pg_dump reads it
            snapshot = conn.execute(sa.text("select pg_export_snapshot()")).scalar_one()
            counts = {
                t: conn.execute(sa.text(f'select count(*) from "{t}"')).scalar_one()
                for t in sa.inspect(conn).get_table_names()
            }
            _run(
                [
                    "pg_dump",
                    "--no-owner",
                    "--no-privileges",
                    "--clean",
                    "--if-exists",
                    f"--snapshot={snapshot}",
                    "-f",
                    str(out),
                    *_libpq_args(url),
                ],
                url,
            )
    finally:
        engine.dispose()
    return out.name, counts


def check_restorable(database_url: str, replace: bool) -> None:
    """Refuse, before anything is written, to restore over a DB that holds data (unless ``replace``)."""
    if replace:
        return
    if kind(database_url) == "sqlite":
        dest = _sqlite_path(database_url)
        if dest.exists():
            raise DumpError(
                f"the control-plane DB {dest} exists; restore into a new path or pass --replace "
                "(the current file is kept beside it as a .before-restore copy)"
            )
        return
    url = make_url(database_url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            existing = sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if existing:
        raise DumpError(
            f"the database {url.database} already has tables ({', '.join(sorted(existing)[:5])}...); "
            "restore into an empty database or pass --replace (the dump drops and recreates them)"
        )


def restore(database_url: str, source: Path, replace: bool) -> dict[str, int]:
    """Load a dump into the DB of ``database_url``; returns the row counts found after it."""
    check_restorable(database_url, replace)
    if kind(database_url) == "sqlite":
        dest = _sqlite_path(database_url)
        if dest.exists():
            shutil.move(dest, dest.with_name(dest.name + ".before-restore"))
            for suffix in ("-wal", "-shm"):
                dest.with_name(dest.name + suffix).unlink(missing_ok=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        with sqlite3.connect(dest) as conn:
            return _sqlite_counts(conn)
    url = make_url(database_url)
    engine = sa.create_engine(url)
    try:
        _run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(source), *_libpq_args(url)], url)
        with engine.connect() as conn:
            return {
                t: conn.execute(sa.text(f'select count(*) from "{t}"')).scalar_one()
                for t in sa.inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise DumpError("an in-memory SQLite DB cannot be backed up")
    return Path(database)


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
        )
    ]
    return {n: conn.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}


def _libpq_args(url) -> list[str]:
    args = ["-d", url.database or "postgres"]
    if url.host:
        args += ["-h", url.host]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    return args


def _run(cmd: list[str], url) -> None:
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise DumpError(
            f"{tool} is not installed: install the PostgreSQL client tools (Debian: postgresql-client)"
        )
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise DumpError(
            f"{tool} failed for database {url.database} on {url.host or 'localhost'}: "
            f"{done.stderr.strip()[-800:]}"
        )
