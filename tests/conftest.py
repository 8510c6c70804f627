"""Shared fixtures: a lake on tmp_path, control-plane DBs (SQLite file and a throwaway PostgreSQL
database on the machine's real server), and the paths of the real X captures."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ.setdefault("TWS_TELEMETRY", "0")
# Embedded state of the tests (e.g. the generated secret key) never lands in the working tree.
os.environ.setdefault("XGET_HOME", tempfile.mkdtemp(prefix="xget-test-home-"))
os.environ.setdefault("DAGSTER_TELEMETRY_DISABLED", "1")

REPO = Path(__file__).resolve().parents[1]
CAPTURES = Path(os.environ.get("XGET_CAPTURES_DIR", REPO.parent / "shared" / "x-captures" / "twscrape"))
POSTGRES_ADMIN_URL = os.environ.get(
    "XGET_TEST_POSTGRES_URL", "postgresql+psycopg2://root@127.0.0.1:5432/postgres"
)


# `make test` runs the suite on several workers, a module at a time per worker (pytest-xdist, `--dist
# loadscope --no-loadscope-reorder`): the modules that take minutes go first, so the longest one (the demo,
# twice through `xget demo`) starts at once instead of last and the rest fills the other workers around it.
SLOW_MODULES_FIRST = (
    "tests/test_demo.py",
    "tests/test_concurrent_runs.py",
    "tests/assets/test_ingest_assets.py",
    "tests/test_ui_browser.py",
    "tests/test_dagster_dev.py",
    "tests/core/test_sentiment.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOW_MODULES_FIRST)}

    def order(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return rank.get(path, len(rank))

    items.sort(key=order)  # stable: within a module, and among the other modules, the order stays


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    if not CAPTURES.is_dir():
        pytest.fail(f"real X captures not found at {CAPTURES}; set XGET_CAPTURES_DIR")
    return CAPTURES


@pytest.fixture
def lake(tmp_path):
    from xget_pipelines.core.lake.delta import Lake

    return Lake(str(tmp_path / "lake"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'xget.db'}"


@pytest.fixture(scope="module")
def s3_server():
    """A real S3 server (moto's, conditional puts included) for the module: ``(url, boto3 client, deltalake
    storage options)``; tests create their own buckets."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="xget",
        aws_secret_access_key="xget-secret",
        region_name="us-east-1",
    )
    options = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "xget",
        "AWS_SECRET_ACCESS_KEY": "xget-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    yield url, client, options
    server.stop()


@pytest.fixture
def postgres_databases():
    """Make fresh databases on the real PostgreSQL server (``make()`` -> URL), all dropped afterwards.
    Fails if the server is down."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = f"xget_test_{uuid.uuid4().hex[:10]}"
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError as exc:
            pytest.fail(
                f"PostgreSQL is required for this test and is not reachable at {POSTGRES_ADMIN_URL}: {exc}"
            )
        made.append(name)
        return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:  # FORCE ends the connections engines of this process still pool
        for name in made:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_databases):
    """A fresh database on the real PostgreSQL server, dropped afterwards. Fails if the server is down."""
    return postgres_databases()


# -- the emulator over real HTTP ------------------------------------------------------------------------

SMALL_WORLD = dict(seed=11, users=250, tweets=6000, days=10)


@pytest.fixture(scope="session")
def small_world():
    from xget_pipelines.emulator.world import World, WorldConfig

    return World.generate(WorldConfig(**SMALL_WORLD))


@pytest.fixture
def today():
    """The UTC date when the test starts. Read per test, not at import: under xdist a module is imported when
    the session starts and may run many minutes later, across midnight UTC, while its world and the code under
    test read the clock then."""
    import datetime as dt

    return dt.datetime.now(dt.UTC).date()


@pytest.fixture
def yesterday(today):
    import datetime as dt

    return today - dt.timedelta(days=1)


@pytest.fixture
def emulator_factory(small_world):
    """Start emulators on free ports with the given settings; all are stopped after the test."""
    from xget_pipelines.emulator.app import EmulatorSettings
    from xget_pipelines.emulator.runner import EmulatorServer

    started = []

    def start(**settings):
        server = EmulatorServer(small_world, EmulatorSettings(**settings))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def engine(sqlite_url):
    """The control-plane engine on the test's SQLite file."""
    from xget_pipelines.core.db.engine import get_engine

    return get_engine(sqlite_url)


@pytest.fixture
def emu(emulator_factory):
    """An emulator with a 5 s rate-limit window (modules may define their own)."""
    return emulator_factory(window_seconds=5)


def emulator_tokens(emulator, username: str) -> dict:
    """The session cookies the emulator holds for an account (what a successful login must yield)."""
    import httpx

    rep = httpx.get(f"{emulator.url}/_emulator/accounts", timeout=10).raise_for_status()
    acc = next(a for a in rep.json() if a["username"] == username)
    return {"auth_token": acc["auth_token"], "ct0": acc["ct0"]}


def control_plane_resource(database_url: str):
    """The control-plane resource over ``database_url`` with the tests' installation key
    (``installation_box``)."""
    from xget_pipelines.resources import ControlPlaneResource
    from xget_pipelines.settings import Settings

    return ControlPlaneResource(database_url=database_url, home=str(Settings().home))


def installation_box():
    """The SecretBox the tests' settings give (the key under XGET_HOME as set when it is called): the one
    the CLI, the API and the Dagster resources of a test use too, so what one stores the other reads."""
    from xget_pipelines.core.secrets import SecretBox
    from xget_pipelines.settings import Settings

    settings = Settings()
    return SecretBox.from_key_or_file(settings.secret_key, settings.home)


def register_accounts(emulator, engine, names, secrets=None):
    """Create accounts in the emulator and put them in XGet's pool (their cookies encrypted with ``secrets``,
    by default the tests' installation key); returns the pool."""
    import httpx

    from xget_pipelines.core.pools.account_pool import AccountPool

    rep = httpx.post(f"{emulator.url}/_emulator/accounts", json={"usernames": list(names)}, timeout=10)
    rep.raise_for_status()
    pool = AccountPool(engine, secrets=secrets or installation_box())
    pool.add_accounts([(a["username"], {"auth_token": a["auth_token"], "ct0": a["ct0"]}) for a in rep.json()])
    return pool


@pytest.fixture(scope="session")
def mail_server():
    """A real IMAP server (Debian's Dovecot) with LMTP delivery, for the whole session. Fails if missing."""
    import shutil

    from xget_pipelines.emulator.mail_server import MailServerError, start_dovecot

    directory = tempfile.mkdtemp(
        prefix="xget-dovecot-"
    )  # pytest's tmp dirs are 0700: Dovecot's users need in
    try:
        server = start_dovecot(directory)
    except MailServerError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def xget_settings(monkeypatch):
    """Configure an entry point (the CLI) for one test as its user would, through ``XGET_*`` variables:
    ``xget_settings(home=..., x_graphql_url=...)`` sets them and returns the ``Settings`` they make."""
    from xget_pipelines.settings import Settings

    def apply(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"XGET_{name.upper()}", str(value))
        return Settings()

    return apply


def stop_process_group(proc, timeout_s: float = 30) -> None:
    """Stop a server started with ``start_new_session=True`` and every process it spawned."""
    import os
    import signal
    import subprocess

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


class SmtpRelay:
    """A real SMTP server (aiosmtpd's) on 127.0.0.1 that asks for a login (``user``/``password``) and hands
    every message it accepts to Dovecot over LMTP, as a provider's outgoing server would: what XGet sends
    ends up in an IMAP mailbox. ``received`` counts the messages it took."""

    user, password = "alerts", "smtp-s3cret-pw"

    def __init__(self, lmtp_host: str, lmtp_port: int) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        from xget_pipelines.emulator.mail_server import _free_port

        relay = self

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == relay.user.encode() and auth_data.password == relay.password.encode()
            return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 235 or 535 itself

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                import smtplib

                with smtplib.LMTP(lmtp_host, lmtp_port, timeout=10) as lmtp:
                    lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
                relay.received += 1
                return "250 Message accepted for delivery"

        self.received = 0
        self.port = _free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_require_tls=False,  # a local test relay without TLS: XGet sends in plain (starttls=auto)
        )
        self.controller.start()

    def url(self, password: str | None = None) -> str:
        return f"smtp://{self.user}:{password or self.password}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_relay(mail_server):
    """A real SMTP server relaying into the session's Dovecot (``SmtpRelay``)."""
    relay = SmtpRelay(mail_server.host, mail_server.lmtp_port)
    yield relay
    relay.stop()
