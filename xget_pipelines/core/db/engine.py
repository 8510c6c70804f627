"""Engine creation and migrations for the control-plane DB (SQLite by default, PostgreSQL in production).

PostgreSQL's text cannot hold a NUL character (U+0000) and its driver refuses one even in a lookup (a
``ValueError`` from deep inside the driver); SQLite stores it. The engines of ``get_engine`` refuse a text
parameter holding one, on either database, before it is sent: ``NulInText``, an ``InvalidField``, so a
request carrying one (a task target, an email, a username to log in with, a path segment) is a 422 and
never a 500, and what the embedded database takes is what production takes. JSON columns are unaffected:
their text escapes it (``\u0000``).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from xget_pipelines.core.errors import InvalidField

_MIGRATIONS = Path(__file__).parent / "migrations"
_migrated: set[str] = set()
_lock = threading.Lock()


def _private_file(path: Path) -> None:
    """The SQLite file readable by its owner only (0600): it holds encrypted secrets, password hashes and
    audit rows. SQLite gives its -wal and -shm files the database file's mode. A file made before is
    tightened too."""
    if str(path) in ("", ":memory:"):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class NulInText(InvalidField):
    """A text the control-plane database is given holds a NUL character."""

    def __init__(self):
        super().__init__(
            "a text holds a NUL character (U+0000), which the control-plane database cannot store or search "
            "for: remove it"
        )


def _holds_nul(parameters) -> bool:
    if isinstance(parameters, dict):
        values = parameters.values()
    elif isinstance(parameters, (list, tuple)):
        values = parameters
    else:
        return False
    for value in values:
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, (dict, list, tuple)) and _holds_nul(value):  # executemany: a row each
            return True
    return False


def _refuse_nul(_conn, _cursor, _statement, parameters, _context, _executemany) -> None:
    if parameters and _holds_nul(parameters):
        raise NulInText()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process, migrated to the newest schema on first use."""
    if url.startswith("sqlite:///"):
        _private_file(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets readers work while a lease writes
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see session_scope)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers take the write lock up front (a deferred BEGIN that upgrades later can fail at
            # once with "database is locked"); reads opened by read_only() do not, so WAL lets them
            # run while a lease writes.
            conn.exec_driver_sql(
                "BEGIN" if conn.get_execution_options().get("xget_read_only") else "BEGIN IMMEDIATE"
            )
    else:
        engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    migrate(engine)
    return engine


@lru_cache(maxsize=8)
def autocommit_engine(engine: Engine) -> Engine:
    """PostgreSQL: an engine for hot paths made of single statements (the account lease and release).

    - each statement commits on its own (no BEGIN and COMMIT round trips);
    - a connection is not pinged on checkout: ``run_once`` retries a statement whose connection was dead;
    - it talks through psycopg 3, which prepares a statement on the server after its fifth run on a
      connection, so PostgreSQL stops planning the lease's query every time (half its cost there).
      Behind PgBouncer in transaction mode that needs PgBouncer 1.21+ (``max_prepared_statements``).
    """
    return create_engine(
        engine.url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT", pool_pre_ping=False
    )


def run_once(engine: Engine, statement, params: dict):
    """Execute one statement on ``autocommit_engine``; returns its first row (None without rows).

    A connection found dead (the server restarted, an idle timeout) is replaced and the statement run once
    more. Should the first run have committed before its connection died, a lease taken twice leaves one
    account leased until its lease expires by itself: nothing is shared or lost."""
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                result = conn.execute(statement, params)
                return result.first() if result.returns_rows else None
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def migrate(engine: Engine) -> None:
    key = str(engine.url)
    with _lock:
        if key in _migrated:
            return
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", key.replace("%", "%%"))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        _migrated.add(key)


def read_only(engine: Engine) -> Connection:
    """A connection for reads: on SQLite it does not take the write lock (use as a context manager)."""
    return engine.connect().execution_options(xget_read_only=True)
