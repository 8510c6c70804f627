"""The UI as a user sees it, in Debian's Chromium driven by Playwright: `dagster dev` and `xget api` run as
real processes; the Dagster UI shows XGet's asset groups and assets, a materialization launched with the
UI's own button succeeds, and the API's /docs lists its routes. Screenshots of each step are left in
test-artifacts/screenshots/ (or $XGET_SCREENSHOTS_DIR) for a person to look at."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import stop_process_group

REPO = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("XGET_SCREENSHOTS_DIR", REPO / "test-artifacts" / "screenshots"))
CHROMIUM = "/usr/bin/chromium"
# As root on a machine with no route out: no sandbox, and none of Chromium's calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, env, log: Path):
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=REPO,
    )


def _wait_http(url: str, proc, log: Path, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{url}: the server died:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout_s} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def servers(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required at {CHROMIUM} (Debian package chromium; .ci/run installs it)")
    home = tmp_path / "xget"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "XGET_HOME": str(home)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    ui_port, api_port = _free_port(), _free_port()
    ui = _start(
        ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(ui_port)],
        env,
        tmp_path / "dagster-dev.log",
    )
    api = _start(["xget_pipelines.cli", "api", "--port", str(api_port)], env, tmp_path / "api.log")
    try:
        _wait_http(f"http://127.0.0.1:{ui_port}/server_info", ui, tmp_path / "dagster-dev.log")
        _wait_http(f"http://127.0.0.1:{api_port}/healthz", api, tmp_path / "api.log")
        yield f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{api_port}", tmp_path
    finally:
        stop_process_group(api)
        stop_process_group(ui)


def test_the_dagster_ui_and_the_api_docs_in_a_real_browser(servers):
    from playwright.sync_api import expect, sync_playwright

    ui_url, api_url, dagster_home = servers
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)  # the UI loads the code location's graph on first view
        try:
            # The global lineage lists XGet's asset groups.
            page.goto(f"{ui_url}/asset-groups")
            _dismiss_community_dialog(page)
            for group in ("raw", "cleaned", "entities", "analytics", "media", "marts"):
                expect(page.get_by_role("button", name=group).first).to_be_visible()
            page.screenshot(path=str(SHOTS / "01-lineage.png"))

            # The catalog lists XGet's assets. It renders only the rows that fit the window, so it is looked
            # at in a tall one, as on a large screen (the list is past 30 rows; cleaned_tweets is the 15th).
            page.set_viewport_size({"width": 1440, "height": 3000})
            page.goto(f"{ui_url}/assets")
            _dismiss_community_dialog(page)
            for asset in ("account_pool_stats", "analytics_trends", "cleaned_tweets"):
                expect(_asset_link(page, asset)).to_be_visible()
            page.screenshot(path=str(SHOTS / "02-catalog.png"))
            page.set_viewport_size({"width": 1440, "height": 900})
            # Each asset has its page.
            for asset, described in (
                ("raw_x_pages", "Raw X GraphQL pages"),
                ("entities_tweets", "One row per tweet"),
                ("x_media", "downloaded through the proxy pool"),
            ):
                page.goto(f"{ui_url}/assets/{asset}")
                expect(page.get_by_text(described).first).to_be_visible()

            # Materialize an asset with the UI's own button, follow the run to its success.
            page.goto(f"{ui_url}/assets/account_pool_stats")
            _dismiss_community_dialog(page)
            expect(page.get_by_text("A snapshot of the account pool").first).to_be_visible()
            page.locator("button", has_text=re.compile(r"^\s*Materialize\s*$")).first.click()
            page.wait_for_timeout(1_000)
            page.screenshot(path=str(SHOTS / "03-run-launched.png"))
            # The asset page polls its status: "Never materialized" gives way to the new materialization.
            expect(page.get_by_text("Never materialized")).to_have_count(0, timeout=240_000)
            page.screenshot(path=str(SHOTS / "04-asset-materialized.png"))
            page.goto(f"{ui_url}/runs")
            _dismiss_community_dialog(page)
            expect(
                page.get_by_text("account_pool_stats", exact=True).first
            ).to_be_visible()  # the run's target
            expect(
                page.get_by_text("Success", exact=True).first
            ).to_be_visible()  # its status: checked below too
            page.screenshot(path=str(SHOTS / "05-runs.png"))

            # The API's interactive documentation lists its routes.
            page.goto(f"{api_url}/docs")
            expect(page.get_by_text("/v1/data", exact=True).first).to_be_visible()
            expect(page.get_by_text("/v1/tasks", exact=True).first).to_be_visible()
            page.screenshot(path=str(SHOTS / "06-api-docs.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(SHOTS / "failure.png"))
            raise
        finally:
            browser.close()

    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    runs = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))
    assert any("account_pool_stats" in str(instance.get_run_by_id(r.run_id).asset_selection) for r in runs)
    for name in (
        "01-lineage",
        "02-catalog",
        "03-run-launched",
        "04-asset-materialized",
        "05-runs",
        "06-api-docs",
    ):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000  # a rendered page, not a blank one


def _asset_link(page, asset: str):
    """The catalog's link to an asset (its accessible name repeats the key: a full and a truncatable copy)."""
    return page.get_by_role("link", name=re.compile(rf"^{asset}( {asset})?$")).first


def _dismiss_community_dialog(page) -> None:
    """The UI asks once per browser profile whether to join its community; a user would press Skip."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except Exception:  # noqa: BLE001 - not shown (already dismissed in this browser context)
        pass
