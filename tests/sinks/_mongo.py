"""A real MongoDB-wire server for the archive tests: SecantusDB's daemon (``secantusd-py``, WiredTiger
storage) on a free port with its data in a folder of the test's tmp_path, with a user and ``--auth`` on so the
URL carries a password. A test can kill it (SIGKILL, as a crash) and start it again on the same folder and
port: WiredTiger reopens the folder (writes not yet journaled are lost, as with mongod after a crash)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

SECANTUSD = Path(sys.executable).with_name("secantusd-py")
USER = "xget"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MongoServer:
    def __init__(self, data: Path):
        self.data, self.port = data, free_port()
        self.password = secrets.token_urlsafe(12)
        self.log = data.with_suffix(".log")
        self.process: subprocess.Popen | None = None

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"mongodb://{USER}:{self.password}@{self.hosts}/?authSource=admin"

    def start(self, auth: bool = True) -> None:
        command = [
            str(SECANTUSD),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.data),
            "--log-level",
            "WARNING",
            *(["--auth"] if auth else []),
        ]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        url = self.url if auth else f"mongodb://{self.hosts}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                with MongoClient(url, serverSelectionTimeoutMS=500) as client:
                    client.admin.command("ping")
                return
            except PyMongoError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"secantusd-py did not start on {self.hosts}: {self.log.read_text()[-2000:]}")
                time.sleep(0.1)

    def provision(self) -> None:
        """First start: create the user without auth, then restart with --auth (SecantusDB's documented
        way)."""
        self.start(auth=False)
        with MongoClient(f"mongodb://{self.hosts}/", serverSelectionTimeoutMS=5000) as client:
            client.admin.command(
                "createUser", USER, pwd=self.password, roles=[{"role": "root", "db": "admin"}]
            )
            # a journaled write makes the user durable (it flushes the log), so a kill can stand for a
            # shutdown, which takes seconds
            client.get_database("admin", write_concern=WriteConcern(j=True)).provisioned.insert_one({})
        self.kill()
        self.start()

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def mongo(tmp_path):
    """A SecantusDB server with a user (its URL carries the password), stopped after the test."""
    server = MongoServer(tmp_path / "mongo")
    try:
        server.provision()
        yield server
    finally:
        server.kill()  # its data is the test's, thrown away
