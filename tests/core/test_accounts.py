"""Accounts at rest: encrypted secrets, idempotent bulk upsert, the 0003 migration, key errors."""

import json
import stat

import pytest
import sqlalchemy as sa

from tests.conftest import installation_box
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.accounts import AccountRecord, upsert_accounts
from xget_pipelines.core.secrets import SecretBox, SecretKeyError, load_or_create_key


@pytest.fixture
def box(tmp_path):
    return SecretBox(load_or_create_key(tmp_path / "secret.key"))


def test_key_file_is_private_and_stable(tmp_path):
    path = tmp_path / "home" / "secret.key"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == first


def test_secrets_are_encrypted_at_rest_and_come_back_through_the_lease(sqlite_url, box):
    engine = get_engine(sqlite_url)
    upsert_accounts(
        engine,
        box,
        [
            AccountRecord(
                "alice",
                password="hunter2",
                email="a@example.org",
                email_password="mailpw",
                mfa_secret="JBSWY3DPEHPK3PXP",
                cookies={"auth_token": "tok123", "ct0": "csrf456"},
            )
        ],
    )
    with engine.connect() as conn:
        row = conn.execute(sa.text("select * from accounts")).mappings().one()
    dump = json.dumps({k: str(v) for k, v in row.items()})
    for secret in ("hunter2", "mailpw", "JBSWY3DPEHPK3PXP", "tok123", "csrf456"):
        assert secret not in dump
    assert box.decrypt(row["password_enc"]) == "hunter2" and row["email"] == "a@example.org"
    lease = AccountPool(engine, secrets=box).lease("SearchTimeline", 1)
    assert lease.cookies == {"auth_token": "tok123", "ct0": "csrf456"}
    assert "hunter2" not in repr(AccountRecord("alice", password="hunter2"))


def test_reimport_updates_instead_of_duplicating(sqlite_url, box):
    engine = get_engine(sqlite_url)
    first = upsert_accounts(
        engine, box, [AccountRecord("a", password="p1"), AccountRecord("b", password="p2")]
    )
    pool = AccountPool(engine, secrets=box)
    pool.mark_inactive(1, "suspended (X code 64)")
    again = upsert_accounts(
        engine,
        box,
        [
            AccountRecord("a", password="p1-new"),
            AccountRecord("c"),
            AccountRecord("c", email="last@wins.org"),
        ],
    )
    assert (first.created, first.updated, again.created, again.updated) == (2, 0, 1, 1)
    with engine.connect() as conn:
        rows = {r.username: r for r in conn.execute(sa.text("select * from accounts"))}
    assert set(rows) == {"a", "b", "c"}
    assert (
        box.decrypt(rows["a"].password_enc) == "p1-new" and rows["a"].active and rows["a"].error_msg is None
    )
    assert box.decrypt(rows["b"].password_enc) == "p2"  # untouched
    assert rows["c"].email == "last@wins.org"


def test_ten_thousand_accounts_import_in_one_call(sqlite_url, box):
    engine = get_engine(sqlite_url)
    seen = []
    records = [
        AccountRecord(f"user{i:05d}", password=f"pw{i}", email=f"u{i}@example.org") for i in range(10_000)
    ]
    result = upsert_accounts(engine, box, records, progress=seen.append)
    assert result.created == 10_000 and sum(seen) == 10_000
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from accounts")).scalar() == 10_000


def test_a_wrong_key_says_which_key_is_wrong(sqlite_url, box, tmp_path):
    engine = get_engine(sqlite_url)
    upsert_accounts(engine, box, [AccountRecord("a", cookies={"auth_token": "t", "ct0": "c"})])
    other = SecretBox(load_or_create_key(tmp_path / "other.key"))
    with pytest.raises(SecretKeyError, match="not the key the accounts were imported with"):
        AccountPool(engine, secrets=other).lease("SearchTimeline", 1)
    with pytest.raises(SecretKeyError, match="not a valid key"):
        SecretBox(b"too-short")


def test_migration_0003_encrypts_existing_plaintext_cookies(tmp_path):
    from alembic import command
    from alembic.config import Config

    from xget_pipelines.core.db import engine as engine_module

    url = f"sqlite:///{tmp_path / 'old.db'}"
    raw = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(engine_module._MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    with raw.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(
            sa.text(
                "insert into accounts (username, cookies, active, created_at, updated_at) "
                "values ('old', '{\"auth_token\": \"t0\", \"ct0\": \"c0\"}', 1, '2026-01-01', '2026-01-01')"
            )
        )
    engine = get_engine(url)  # migrates to head, encrypting with the installation's key (the tests' settings)
    pool = AccountPool(engine, secrets=installation_box())
    assert pool.lease("UserTweets", 1).cookies == {"auth_token": "t0", "ct0": "c0"}
    with raw.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("accounts")}
    assert "cookies" not in columns and "cookies_enc" in columns
