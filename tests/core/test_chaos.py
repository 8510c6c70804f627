"""Issue 18's chaos test: a simulated day (20-minute steps, upkeep ticks on the simulated clock, the
emulator's rate-limit window one wall second) of 6 accounts with password and TOTP secret, one with cookies
only, and 3 real proxies, while X suspends, locks and lifts accounts, forgets sessions, and proxies die and
come back (``tests/chaos.py``). Every expired session with credentials is renewed without a person, every
proxy that comes back is ACTIVE within two check periods, no page is lost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.chaos import Chaos, ChaosConfig, ChaosRun
from tests.conftest import installation_box

CONFIG = ChaosConfig()


@pytest.fixture
def run(emulator_factory, engine, tmp_path) -> ChaosRun:
    emu = emulator_factory(
        window_seconds=CONFIG.window_s, rate_limits={"SearchTimeline": CONFIG.search_limit}
    )
    chaos = Chaos(CONFIG, emu.url, engine, installation_box(), tmp_path)
    try:
        chaos.start()
        yield chaos.run()
    finally:
        chaos.stop()


def check_alerts(run: ChaosRun) -> None:
    """THE place for the alert assertion (issue 18: "the alert email arrives in the test's mailbox once per
    incident and once on recovery"). Until email alerts land ``run.alerts`` is None and this checks what
    the alerts will have to report: incidents were seen, each with a reason, and all but those X never
    lifted closed. With alerts: read the mailbox in ``tests/chaos.py``'s ``alerts_sent`` and assert one
    email per incident in ``run.incidents`` and one per closed incident."""
    assert run.alerts is None  # no alerts yet: replace with the mailbox comparison when they land
    kinds = {i.kind for i in run.incidents}
    assert kinds == {"account", "proxy"}, run.incidents
    assert all(i.reason for i in run.incidents)
    still_open = {(i.kind, i.name) for i in run.incidents if i.closed_at is None}
    assert still_open <= {("account", n) for n in run.needs_person}, still_open


def test_a_chaotic_day_heals_itself_and_loses_no_page(run):
    events = {e.kind for e in run.events}
    assert events == {"suspend", "lock", "lift", "expire", "proxy_down", "proxy_up"}

    # every expired session with stored credentials is renewed by upkeep, without a person
    renewable = [(name, at) for name, at in run.expired if name in run.credentialed]
    assert len(renewable) == CONFIG.expiries
    not_renewed = [(name, at) for name, at in renewable if run.renewed_at(name, at) is None]
    assert not not_renewed, not_renewed
    # ... and the one without credentials is not: it waits for a person, with a reason that says so
    assert run.needs_person == {n for n, _ in run.expired if n not in run.credentialed} != set()

    # every proxy that comes back is ACTIVE within two check periods of its return (simulated time)
    assert len(run.proxy_returns) == CONFIG.proxy_outages
    two_periods = timedelta(seconds=2 * CONFIG.proxy_interval_s)
    late = [(i, at, run.active_again_at(i, at)) for i, at in run.proxy_returns]
    late = [x for x in late if x[2] is None or x[2] - x[1] > two_periods]
    assert not late, late
    assert sum(h.proxies_revived for h in run.hours) >= 1  # at least one was taken out, then revived

    # suspended and locked accounts X lifted came back by themselves
    assert sum(h.accounts_revived for h in run.hours) >= 1

    # no page lost: every SearchTimeline page the emulator served was received by the scrape work
    assert run.pages_received > 0
    assert run.pages_received <= run.pages_served <= run.pages_received + run.request_errors, (
        run.pages_received,
        run.pages_served,
        run.request_errors,
    )
    # the work went on all day: pages every simulated hour
    assert all(h.pages > 0 for h in run.hours), [h.line() for h in run.hours]

    check_alerts(run)
