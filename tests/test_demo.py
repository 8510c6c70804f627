"""`xget demo --no-serve` end to end, on a small world: emulator, pool, watchlist, runs, summary, SQL."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_runs_every_partition_and_leaves_a_queryable_lake(tmp_path):
    xget = Path(sys.executable).with_name("xget")
    env = {
        **os.environ, "XGET_HOME": str(tmp_path / "home"), "XGET_EMULATOR_PORT": str(free_port()),
        "XGET_EMULATOR_USERS": "300", "XGET_EMULATOR_TWEETS": "6000", "XGET_EMULATOR_DAYS": "10",
        "XGET_DEMO_DAYS": "2", "XGET_DEMO_ACCOUNTS": "3", "XGET_DEMO_SENTIMENT_LIMIT": "1500", "COLUMNS": "200",
    }
    demo = subprocess.run([str(xget), "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "XGet lake" in demo.stdout and "cleaned/tweets" in demo.stdout
    assert "demo finished" in demo.stdout
    assert "3 accounts imported from" in demo.stdout  # the demo's accounts come from a file, like a user's
    assert "3/3 proxies ACTIVE after a check through each" in demo.stdout  # real local proxies, checked
    assert "sentiment model minilm-head-" in demo.stdout and "macro recall" in demo.stdout

    def sql(query):
        out = subprocess.run([str(xget), "sql", query, "--format", "json"], env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    (parts,) = sql("select count(distinct (day, watch_key)) as n from cleaned_tweets")
    keys = sql("select distinct watch_key from raw_x_pages order by 1")
    assert parts["n"] == 2 * len(keys) and len(keys) == 7  # 4 terms + 3 accounts, 2 days each
    (counts,) = sql("select count(*) as n, count(distinct tweet_id) as d from cleaned_tweets")
    assert counts["n"] > 100
    (merged,) = sql("select count(*) as n from entities_tweets")
    assert merged["n"] == counts["d"]  # every collected tweet once
    (scored,) = sql("select count(distinct tweet_id) as n from analytics_tweet_sentiment")
    (originals,) = sql("select count(*) as n from entities_tweets where not is_retweet and length(trim(text)) > 0")
    assert scored["n"] == originals["n"] > 50
    volume = sql("select watch_key, sum(tweets) as tweets from marts.daily_volume_per_term group by 1")
    assert len(volume) == len(keys) and all(v["tweets"] > 0 for v in volume)  # the dbt marts, via xget sql
    assert sql("select count(*) as n from marts.sentiment_by_day")[0]["n"] >= 1
    # every account was bound to one of the demo's proxies (the control plane records the binding)
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'xget.db'}")
    with engine.connect() as conn:
        unbound = conn.execute(sa.text("select count(*) from accounts where proxy_id is null")).scalar()
    assert unbound == 0
    # the runs live in the persistent instance that `make ui` (and `make demo`) shows
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(Path(env["XGET_HOME"], "dagster")))
    runs = instance.get_runs(dg.RunsFilter(job_name="x_ingest"))
    assert len(runs) == 2 * len(keys) and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
