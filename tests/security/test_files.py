"""The control plane's SQLite files are the owner's alone (issue 16, finding 2: `xget.db` was 0644).

They hold encrypted session cookies, password hashes, API-key hashes and the audit log; the key that
decrypts the cookies (`secret.key`) was already 0600. SQLite gives its -wal and -shm files the database
file's mode, so they follow.
"""

from __future__ import annotations

import stat

from tests.conftest import installation_box
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.pools.account_pool import AccountPool


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_are_created_0600(tmp_path):
    db = tmp_path / "home" / "xget.db"
    engine = get_engine(f"sqlite:///{db}")
    pool = AccountPool(engine, secrets=installation_box())
    with engine.connect():  # a reader holds the WAL open while the write below lands in it
        pool.add_accounts([("files_a", {"auth_token": "t", "ct0": "c"})])
        files = [p for p in (db, db.with_name("xget.db-wal"), db.with_name("xget.db-shm")) if p.exists()]
        assert len(files) == 3, files
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_a_database_made_world_readable_before_is_tightened(tmp_path):
    db = tmp_path / "old.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    get_engine(f"sqlite:///{db}")
    assert mode(db) == 0o600
