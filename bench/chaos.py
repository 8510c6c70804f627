"""Benchmark: the long chaos run of issue 18. A simulated day (or more) of an account pool and real proxies
against the emulator over HTTP, with X suspending, locking and lifting accounts, sessions expiring and
proxies dying and coming back, while scrape work and the proxy and account upkeep ticks run on the simulated
clock. The driver is ``tests/chaos.py`` (its docstring says what is simulated and what is measured); the
short version is ``tests/core/test_chaos.py``.

Run: ``.venv/bin/python bench/chaos.py`` (defaults: 20 accounts with credentials, 2 cookies-only, 5
proxies, 48 simulated hours in 20-minute steps, 58 events; about 6 minutes on 2 busy cores). ``--quick``:
the test's sizes. Prints one JSON line per simulated hour, then the headline (the last line):
usable accounts (least in any hour), automatic re-logins, revivals (accounts X lifted that came back,
proxies back to ACTIVE), pages collected vs the capacity the pool's rate-limit state gave per step
(``capacity_used_pct``), pages lost (emulator's served minus received: must be 0), the longest time a proxy
that came back took to be ACTIVE (``proxy_back_within_s_max``, at most two check periods), ``alerts``
(the notices the incidents sent: new, reminders, recovered; to the log here) and ``alert_emails``
(the digests).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.chaos import Chaos, ChaosConfig  # noqa: E402
from xget_pipelines.core.db.engine import get_engine  # noqa: E402
from xget_pipelines.core.secrets import SecretBox  # noqa: E402
from xget_pipelines.emulator.runner import EmulatorServer  # noqa: E402
from xget_pipelines.emulator.settings import EmulatorSettings  # noqa: E402
from xget_pipelines.emulator.world import World, WorldConfig  # noqa: E402
from xget_pipelines.resources import AlertsResource  # noqa: E402

LONG = ChaosConfig(
    seed=1818,
    sim_hours=48,
    accounts=20,
    cookies_only=2,
    proxies=5,
    suspensions=6,
    locks=6,
    expiries=12,
    proxy_outages=10,
    pages_per_step=30,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the test's sizes (a simulated day)")
    parser.add_argument("--seed", type=int, help="the schedule's seed")
    parser.add_argument("--sim-hours", type=int, help="simulated hours")
    args = parser.parse_args()
    config = ChaosConfig() if args.quick else LONG
    if args.seed is not None:
        config = dataclasses.replace(config, seed=args.seed)
    if args.sim_hours:
        config = dataclasses.replace(config, sim_hours=args.sim_hours)

    work = Path(tempfile.mkdtemp(prefix="xget-bench-chaos-"))
    world = World.generate(WorldConfig(seed=11, users=400, tweets=12000, days=10))
    settings = EmulatorSettings(
        window_seconds=config.window_s, rate_limits={"SearchTimeline": config.search_limit}
    )
    with EmulatorServer(world, settings) as emu:
        database = f"sqlite:///{work / 'xget.db'}"
        engine = get_engine(database)
        # the incidents as the upkeep sensors report them; without an SMTP server the digests go to the log
        alerts = AlertsResource(database_url=database)
        chaos = Chaos(config, emu.url, engine, SecretBox.from_key_or_file(None, work), work, alerts=alerts)
        try:
            chaos.start()
            run = chaos.run(on_hour=lambda hour: print(json.dumps(hour.line()), flush=True))
        finally:
            chaos.stop()
    print(json.dumps(run.headline()), flush=True)


if __name__ == "__main__":
    main()
