"""`dagster dev -w workspace.yaml` serves the UI with XGet's asset graph (a real webserver, real HTTP)."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dagster_dev_serves_the_asset_graph(tmp_path):
    port = free_port()
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "XGET_HOME": str(tmp_path / "xget")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        keys = None
        while time.time() < deadline and proc.poll() is None:
            try:
                rep = httpx.post(f"{url}/graphql", json={"query": "{ assetNodes { assetKey { path } groupName } }"},
                                 timeout=5)
                nodes = rep.json().get("data", {}).get("assetNodes") or []
                if nodes:
                    keys = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(1)
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
        assert keys is not None, "the Dagster UI did not serve the asset graph within 180 s"
        assert keys["raw_x_pages"] == "raw" and keys["cleaned_tweets"] == "cleaned"
        assert httpx.get(url, timeout=10).status_code == 200  # the UI page itself
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
