"""``xget demo``: XGet end to end on one machine, offline.

Starts the emulator with the demo world and three real local proxies (HTTP, HTTP with basic auth,
SOCKS5 with a user) that the accounts bind to, registers its accounts in the pool, puts a watchlist the
world has plenty of data for on the control plane, runs the ``x_ingest`` job for every (day, key)
partition as concurrent runs on a persistent Dagster instance (so the runs show in the UI), prints a
summary of the lake, creates the API's ``admin`` user (password in ``.xget/demo/admin-password``) and,
unless told not to, serves the Dagster UI (webserver and daemon) and the API until Ctrl-C, creating one
scrape task over the API to show it run in Dagster and its results come back.

The demo is an entry point: it takes the CLI's settings, points them at the emulator, passes them down to
the definitions it builds in this process and its run workers, and gives the Dagster processes it starts
(UI, daemon, API) the same through their environment.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xget_pipelines.settings import Settings

# The progress bar and the summaries tell the story; Dagster's step logs, warnings included, stay in the
# runs (see them in the UI), and a run that fails is reported by the demo itself.
_QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


# The local instance: no telemetry; at most 4 queued runs at once (the UI's launches; the demo's own
# collection keeps XGET_DEMO_RUNS going), and at most 2 steps at a time in each concurrency pool, among
# them ``x_api``, which every scrape step of every run claims (the account pool is shared).
_INSTANCE_YAML = """\
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    default_limit: 2
"""


def _dagster_home(settings: Settings) -> Path:
    home = (settings.home / "dagster").absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_INSTANCE_YAML)
    return home


def _process_env(settings: Settings, home: Path) -> dict[str, str]:
    """The environment of the Dagster processes the demo starts (UI, daemon, API): the demo's instance, and
    X at the emulator. The demo's own process passes ``settings`` down instead."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "XGET_X_GRAPHQL_URL": settings.x_graphql_url,
        "XGET_PROXY_CHECK_URL": settings.resolved_proxy_check_url,  # the upkeep checks via the emulator
    }


def write_emulator_accounts(emulator_url: str, count: int, path: Path) -> Path:
    """Create ``count`` accounts in the emulator and write them as an account file (CSV with a cookies
    column), the way a user brings their own accounts: the demo then imports that file."""
    names = [f"xget_demo_{i:02d}" for i in range(1, count + 1)]
    rep = httpx.post(f"{emulator_url}/_emulator/accounts", json={"usernames": names}, timeout=30)
    rep.raise_for_status()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "email", "cookies"])
        for acc in rep.json():
            writer.writerow(
                [
                    acc["username"],
                    f"{acc['username']}@example.org",
                    f"auth_token={acc['auth_token']}; ct0={acc['ct0']}",
                ]
            )
    os.chmod(path, 0o600)  # it holds session cookies
    return path


def start_demo_proxies(workdir: Path, engine, secrets, console: Console, check_url: str) -> list:
    """Real proxy servers for the demo (two HTTP proxy.py, one with basic auth; one SOCKS5 pproxy with a
    user), written to a proxy file, imported and checked the way a user would (``xget proxies import``
    then ``xget proxies check``). The proxies of an earlier demo (dead ports now) are removed first."""
    from xget_pipelines.core.pools.proxies import ProxyPool, parse_proxy_lines
    from xget_pipelines.emulator.proxy_servers import start_http_proxy, start_socks5_proxy

    pool = ProxyPool(engine, secrets)
    path = workdir / "proxies.txt"
    if path.exists():  # an earlier demo's proxies listen no more: take them out of the pool
        old = {(r.host, r.port) for r in parse_proxy_lines(path.read_text()).records}
        pool.remove([p.id for p in pool.list() if (p.host, p.port) in old])
    servers = [
        start_http_proxy(workdir / "proxies"),
        start_http_proxy(workdir / "proxies", "demo", "demo-proxy-pw"),
        start_socks5_proxy(workdir / "proxies", "demo", "demo-socks-pw"),
    ]
    path.write_text("".join(f"{srv.url()}  # country=ZZ; city=Localhost; isp=demo\n" for srv in servers))
    os.chmod(path, 0o600)  # it holds proxy credentials
    pool.import_proxies(parse_proxy_lines(path.read_text()).records)
    results = pool.check(
        [p.id for p in pool.list() if (p.host, p.port) in {("127.0.0.1", s.port) for s in servers}],
        target_url=check_url,
        timeout_s=5,
        attempts=2,
    )
    live = sum(r.status == "ACTIVE" for r in results)
    console.print(
        f"{live}/{len(results)} proxies ACTIVE after a check through each to {check_url} "
        f"(median latency {_median([r.latency_ms for r in results if r.latency_ms]):.1f} ms); "
        "accounts bind to them on first lease"
    )
    return servers


# One demo run worker's definitions and instance, loaded once per process (see ``collect``).
_WORKER: dict = {}


def _worker_start(settings: Settings, home: Path) -> None:
    import dagster as dg

    from xget_pipelines.definitions import definitions_for

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    _WORKER["job"] = definitions_for(settings).resolve_job_def("x_ingest")
    _WORKER["instance"] = dg.DagsterInstance.from_config(str(home))


def _run_partition(day: str, key: str) -> tuple[bool, str]:
    """One ``x_ingest`` run of partition (day, key) on the demo's instance: (success, what failed)."""
    import dagster as dg

    pk = dg.MultiPartitionKey({"date": day, "watch": key})
    try:
        result = _WORKER["job"].execute_in_process(
            partition_key=pk,
            instance=_WORKER["instance"],
            raise_on_error=False,
            tags={"xget/source": "demo"},
            run_config=_QUIET,
        )
    except Exception as exc:  # the run could not even start: report it with the rest
        return False, f"{type(exc).__name__}: {exc}"
    if result.success:
        return True, ""
    errors = [
        e.event_specific_data.error.message.strip()
        for e in result.all_events
        if e.is_step_failure and e.event_specific_data and e.event_specific_data.error
    ]
    return False, errors[0] if errors else "failed"


def collect(
    console: Console, partitions: list[tuple[dt.date, str]], settings: Settings, home: Path
) -> list[str]:
    """Materialize ``x_ingest`` for every (day, key) partition as concurrent runs, as a deployment's run
    launcher would: ``runs`` worker processes (each loads the definitions once) start one run after another
    on the persistent instance, so every run shows in the UI, and the scrape steps of all of them share
    the instance's ``x_api`` concurrency pool (the account pool is one).

    Returns the partitions that failed."""
    runs = settings.demo_runs
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    failed: list[str] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # spawn, not fork: this process serves the emulator and the proxies from threads
    with (
        Progress(*columns, console=console) as progress,
        ProcessPoolExecutor(
            max_workers=min(runs, len(partitions)) or 1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(settings, home),
        ) as pool,
    ):
        task = progress.add_task(
            f"x_ingest: {len(partitions)} partitions, {runs} runs at a time", total=len(partitions)
        )
        futures = {pool.submit(_run_partition, day.isoformat(), key): (day, key) for day, key in partitions}
        try:
            for future in as_completed(futures):
                day, key = futures[future]
                ok, error = future.result()
                if not ok:
                    failed.append(f"{day}|{key}")
                    progress.console.print(f"[red]x_ingest {day} {key} failed[/]: {error[:300]}")
                progress.advance(task)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return failed


def _dbt_outcome(log: Path) -> str:
    """dbt's closing count (``PASS=17 WARN=0 ERROR=0 ...``) from its output, or a word that it has none."""
    done = [line for line in log.read_text().splitlines() if line.startswith("Done. PASS=")]
    return done[-1].removeprefix("Done. ") if done else "no summary (see its output)"


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2] if values else float("nan")


def run_demo(console: Console, settings: Settings, *, serve_ui: bool = True, days: int | None = None) -> None:
    import dagster as dg

    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.db.watchlist import add_keys
    from xget_pipelines.core.lake.catalog import connect
    from xget_pipelines.core.lake.delta import Lake
    from xget_pipelines.core.pools.accounts import upsert_accounts
    from xget_pipelines.core.pools.importing import parse_csv
    from xget_pipelines.core.x.watch import parse_params
    from xget_pipelines.emulator.app import EmulatorSettings
    from xget_pipelines.emulator.runner import EmulatorServer
    from xget_pipelines.emulator.world import World, WorldConfig

    days = days or settings.demo_days
    emulator_graphql = f"http://{settings.emulator_host}:{settings.emulator_port}/i/api/graphql"
    # X is the emulator, and the sentiment model trains on the demo's share of the labelled tweets.
    settings = settings.model_copy(
        update={
            "x_graphql_url": emulator_graphql,
            "sentiment_train_limit": settings.demo_sentiment_limit,
        }
    )
    home = _dagster_home(settings)

    t0 = time.perf_counter()
    cfg = WorldConfig(
        seed=settings.emulator_seed,
        users=settings.emulator_users,
        tweets=settings.emulator_tweets,
        days=settings.emulator_days,
    )
    with console.status(
        f"building the emulator's world: {cfg.users:,} users, {cfg.tweets:,} tweets, {cfg.days} days"
    ):
        world = World.generate(cfg)
    try:
        emu = EmulatorServer(
            world,
            EmulatorSettings(window_seconds=settings.demo_window_s),
            host=settings.emulator_host,
            port=settings.emulator_port,
        )
    except OSError as exc:
        console.print(
            f"[red]cannot serve the emulator on {settings.emulator_host}:{settings.emulator_port}: "
            f"{exc.strerror}[/]. Stop what uses that port or set XGET_EMULATOR_PORT."
        )
        raise SystemExit(2) from exc
    emu.start()
    console.print(
        f"emulator serving X at {emu.url} (rate-limit window {settings.demo_window_s:g} s, X uses 900 s)"
    )
    proxies: list = []
    try:
        engine = get_engine(settings.resolved_database_url)
        box = settings.secret_box()
        proxies = start_demo_proxies(
            settings.home / "demo", engine, box, console, f"{emu.url}/_emulator/whoami"
        )
        account_file = write_emulator_accounts(
            emu.url, settings.demo_accounts, settings.home / "demo" / "accounts.csv"
        )
        parsed = parse_csv(account_file.read_text())
        imported = upsert_accounts(engine, box, parsed.records)
        suggestions = world.watchlist_suggestions()
        keys = add_keys(engine, suggestions["terms"] + [f"@{h}" for h in suggestions["users"][:3]])
        # The newer kinds of key: a list (members and tweets), a community (info, members, moderators, posts)
        # and a full follower snapshot of one of the accounts.
        kinds = add_keys(
            engine,
            [
                f"list:{suggestions['lists'][0]}",
                f"community:{suggestions['communities'][0]}",
                f"followers:@{suggestions['users'][0]}",
            ],
        )
        keys += kinds
        # ...and a conversation expansion: the replies under the first account's tweets with 3 or more
        # (TweetDetail to the end; cleaned/conversations and the conversation_trees mart).
        add_keys(engine, [f"@{suggestions['users'][0]}"], parse_params({"expand": ["conversations:3"]}))
        console.print(
            f"{imported.created + imported.updated} accounts imported from {account_file} "
            f"(as `xget accounts import` does); watchlist: {', '.join(keys)}"
        )

        from xget_pipelines.definitions import definitions_for

        defs = definitions_for(settings)
        instance = dg.DagsterInstance.from_config(str(home))
        instance.add_dynamic_partitions(
            "watchlist", [k for k in keys if not instance.has_dynamic_partition("watchlist", k)]
        )
        today = dt.datetime.now(dt.UTC).date()

        # A list's or community's older days are paged back to from today (X has no search by list or
        # community), so each older day costs more: the demo collects their last two days, as the watchlist
        # sensor would collect a new key's; a follower snapshot is taken in today's partition only.
        def collected_days(key: str) -> int:
            if key.startswith("followers:"):
                return 1
            return min(days, 2) if key in kinds else days

        partitions = [
            (today - dt.timedelta(days=i), k) for i in range(days) for k in keys if i < collected_days(k)
        ]
        failed = collect(console, partitions, settings, home)
        with console.status(
            f"merging {days} days into the entity tables, then trends (one run over the range)"
        ):
            entities = defs.resolve_job_def("entities").execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config=_QUIET,
                tags={
                    "xget/source": "demo",
                    "dagster/asset_partition_range_start": partitions[-1][0].isoformat(),
                    "dagster/asset_partition_range_end": today.isoformat(),
                },
            )
        if not entities.success:
            failed.append("entities")
        else:
            _trend_summary(console, instance)
            _coordination_summary(console, instance)
        limit = settings.demo_sentiment_limit
        with console.status(
            f"training the sentiment model on {limit or 'all'} labelled tweets, each of the six sources "
            "held out in turn first"
        ):
            trained = defs.resolve_job_def("sentiment_training").execute_in_process(
                instance=instance,
                raise_on_error=False,
                tags={"xget/source": "demo"},
                run_config={**_QUIET, "ops": {"sentiment_model": {"config": {"limit": limit}}}},
            )
        if not trained.success:
            failed.append("sentiment_training")
        else:
            _sentiment_summary(console, instance)
        dbt_log = settings.home / "demo" / "dbt.log"
        console.print("scoring tweet sentiment, then dbt build: the marts and their tests…")
        with dbt_log.open("w") as log, contextlib.redirect_stdout(log):  # dbt's own lines: to its log
            marts = defs.resolve_job_def("marts").execute_in_process(
                instance=instance, raise_on_error=False, run_config=_QUIET, tags={"xget/source": "demo"}
            )
        if not marts.success:
            failed.append("marts")
        console.print(f"dbt build: {_dbt_outcome(dbt_log)} (dbt's output: {dbt_log})")
        from xget_pipelines.assets import account_pool_stats

        dg.materialize(
            [account_pool_stats],
            resources=defs.resources,
            instance=instance,
            run_config=_QUIET,
            tags={"xget/source": "demo"},
        )
        lake = Lake(settings.resolved_lake_uri, settings.lake_storage_options)
        _summary(console, lake, connect(lake))
        console.print(
            f"demo finished in {time.perf_counter() - t0:.0f} s; lake at {settings.resolved_lake_uri}"
        )
        if failed:
            console.print(
                f"[red]{len(failed)} partitions failed[/]: {', '.join(failed[:10])} — see the runs in the UI"
            )
            raise SystemExit(1)
        console.print('try: xget sql "select * from marts.daily_volume_per_term order by day desc limit 10"')
        password_file = demo_admin(engine, settings.home / "demo")
        if serve_ui:
            _serve(console, home, settings, password_file, keys[0])
    finally:
        for server in proxies:
            server.stop()
        emu.stop()


def _sentiment_summary(console: Console, instance) -> None:
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey("sentiment_model"))
    if event is not None and event.asset_materialization is not None:
        md = {k: v.value for k, v in event.asset_materialization.metadata.items()}
        if "held_out_worst_source" in md:
            console.print(
                f"sentiment model {md['version']}: worst held-out source {md['held_out_worst_source']}, "
                f"macro recall {md['held_out_worst_macro_recall']} (VADER on the same tweets: "
                f"{md['held_out_worst_vader_macro_recall']}); each of {md['held_out_sources']} sources "
                "scored by a model trained without it"
            )
        else:
            console.print(f"sentiment model {md['version']}: stored without a held-out evaluation")


def _trend_summary(console: Console, instance) -> None:
    """The burst detection's score against the emulator's injected bursts, from the latest materialization."""
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey("analytics_trends"))
    if event is None or event.asset_materialization is None:
        return
    md = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    if "ground_truth_injected_bursts" in md:
        console.print(
            f"trends: {md['global_hashtag_bursts']} hashtag bursts detected; the emulator injected "
            f"{md['ground_truth_injected_bursts']} bursts in the collected days (after a day of warm-up), "
            f"{md.get('ground_truth_observable_bursts', 'n/a')} of them seen by the watchlist: "
            f"precision {md.get('ground_truth_precision', 'n/a')}, "
            f"recall {md.get('ground_truth_observable_recall', 'n/a')} of the bursts seen "
            f"({md.get('ground_truth_recall', 'n/a')} of all injected)"
        )


def _coordination_summary(console: Console, instance) -> None:
    """The coordination clusters found (analytics_coordination, in the entities job) and their score against
    the emulator's injected campaigns, from the latest materialization."""
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey("analytics_coordination"))
    if event is None or event.asset_materialization is None:
        return
    md = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    line = f"coordination: {md['clusters']} clusters, {md['accounts']} accounts"
    if "ground_truth_precision" in md:
        line += (
            f"; vs the emulator's {md['ground_truth_campaigns']} campaigns: precision "
            f"{md['ground_truth_precision']}, recall {md['ground_truth_recall']}; trend bursts reported as "
            f"coordination: {md['ground_truth_bursts_as_coordination']}"
        )
    console.print(line)


def _summary(console: Console, lake, con) -> None:
    table = Table(title="XGet lake")
    for col in ("table", "version", "rows", "files", "MiB"):
        table.add_column(col, justify="right" if col != "table" else "left")
    for info in lake.describe():
        table.add_row(
            info.name, str(info.version), f"{info.rows:,}", str(info.files), f"{info.size_bytes / 2**20:.1f}"
        )
    console.print(table)
    facts = con.execute(
        "select count(distinct tweet_id), count(distinct author_id), min(created_at), max(created_at)"
        " from cleaned_tweets"
    ).fetchone()
    console.print(f"{facts[0]:,} distinct tweets by {facts[1]:,} authors, {facts[2]} .. {facts[3]}")
    merged = con.execute(
        "select (select count(*) from entities_tweets), (select count(*) from entities_users), "
        "(select count(*) from entities_tweets where tombstone is not null)"
    ).fetchone()
    console.print(f"entities: {merged[0]:,} tweets ({merged[2]:,} deleted or withheld), {merged[1]:,} users")


def demo_admin(engine, folder: Path) -> Path:
    """The demo's admin user ``admin``, its password in ``<folder>/admin-password`` (0600, made once)."""
    import secrets

    from xget_pipelines.core.auth.users import UserError, create_user

    path = folder / "admin-password"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(18))
    try:
        create_user(engine, "admin", path.read_text().strip(), "admin")
    except UserError:  # made by an earlier demo (with this password file)
        pass
    return path


def _serve(console: Console, home: Path, settings: Settings, password_file: Path, term: str) -> None:
    """Serve the Dagster UI (webserver + daemon) and the API until Ctrl-C; create one scrape task over the API
    to show it become a Dagster run and its results come back."""
    import threading

    port = str(settings.dagster_port)
    api_url = settings.resolved_api_url
    env = _process_env(settings, home)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", port],
            start_new_session=True,
            env=env,
        ),  # own process groups, so Ctrl-C here can stop all of it
        subprocess.Popen(
            [sys.executable, "-m", "xget_pipelines.cli", "api"], start_new_session=True, env=env
        ),
    ]
    console.print(
        f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={home}); "
        f"API on {api_url} (docs: {api_url}/docs)"
    )
    console.print(
        f"API login: user admin, password in {password_file} (see the README for tokens and curl examples)"
    )
    threading.Thread(
        target=_show_a_task, args=(console, api_url, password_file, term, port), daemon=True
    ).start()
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping the Dagster UI, the API and the emulator…")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _show_a_task(console: Console, api_url: str, password_file: Path, term: str, ui_port: str) -> None:
    """Create a SEARCH task for today over the API, then report its run and results as the daemon runs it."""
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{api_url}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    try:
        token = (
            httpx.post(
                f"{api_url}/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "admin",
                    "password": password_file.read_text().strip(),
                },
                timeout=30,
            )
            .raise_for_status()
            .json()["access_token"]
        )
        auth = {"Authorization": f"Bearer {token}"}
        task = (
            httpx.post(
                f"{api_url}/v1/tasks", headers=auth, json={"type": "SEARCH", "target": term}, timeout=30
            )
            .raise_for_status()
            .json()
        )
        console.print(
            f"task {task['id']} (SEARCH {term!r}, today) created over the API; the task sensor turns it "
            "into an x_ingest run"
        )
        while time.time() < deadline + 600:
            time.sleep(5)
            task = httpx.get(f"{api_url}/v1/tasks/{task['id']}", headers=auth, timeout=30).json()
            if task["status"] in ("COMPLETED", "FAILED", "STOPPED"):
                break
        runs = ", ".join(
            f"http://127.0.0.1:{ui_port}/runs/{r['run_id']}" for r in task["runs"] if r.get("run_id")
        )
        console.print(
            f"task {task['id']}: {task['status']}, {task['result_count']} tweets "
            f"(GET {api_url}/v1/tasks/{task['id']}/results); run: {runs or 'none'}"
        )
    except (httpx.HTTPError, KeyError, OSError) as exc:
        console.print(f"[yellow]the demo task over the API did not complete: {exc}[/]")
