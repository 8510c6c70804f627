"""Analytics over the entities: trends and bursts per hour (or configured bucket), per term and global."""

import datetime as dt

import dagster as dg
from pydantic import Field

from xget_pipelines.core.lake.catalog import connect, register
from xget_pipelines.core.lake.preview import markdown_preview
from xget_pipelines.core.trends import TRENDS_TABLE, TrendConfig, evaluate_stored, trends_for_day
from xget_pipelines.partitions import BY_DATE, LAKE_WRITE_RETRY, daily_partitions
from xget_pipelines.resources import LakeResource, TrendsResource, XApiResource

_DEFAULT = "; default: the trends resource's (XGET_TREND_{})."


class TrendsConfig(dg.Config):
    """Burst detection settings of one run; see core/trends.py for the score."""

    bucket_minutes: int | None = Field(
        None, description="Bucket width in minutes" + _DEFAULT.format("BUCKET_MINUTES")
    )
    baseline_buckets: int | None = Field(
        None, description="Buckets forming each bucket's baseline" + _DEFAULT.format("BASELINE_BUCKETS")
    )
    z_threshold: float | None = Field(
        None, description="Burst score a bucket needs" + _DEFAULT.format("Z_THRESHOLD")
    )
    min_count: int | None = Field(None, description="Tweets a bucket needs" + _DEFAULT.format("MIN_COUNT"))
    min_ratio: float = 2.0
    min_authors: int = Field(3, description="Accounts whose tweets a burst bucket needs (core/trends.py)")

    def resolve(self, defaults: TrendsResource) -> TrendConfig:
        """This run's settings, each unset one from ``defaults``."""

        def either(value, default):
            return default if value is None else value

        return TrendConfig(
            either(self.bucket_minutes, defaults.bucket_minutes),
            either(self.baseline_buckets, defaults.baseline_buckets),
            either(self.z_threshold, defaults.z_threshold),
            either(self.min_count, defaults.min_count),
            self.min_ratio,
            self.min_authors,
        )


@dg.asset(
    key="analytics_trends",
    group_name="analytics",
    kinds={"deltalake", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=LAKE_WRITE_RETRY,
    automation_condition=dg.AutomationCondition.eager(),
    deps=["entities_tweets", dg.AssetDep("cleaned_hashtags", partition_mapping=BY_DATE)],
    metadata={"table": TRENDS_TABLE},
)
def analytics_trends(
    context: dg.AssetExecutionContext,
    config: TrendsConfig,
    lake: LakeResource,
    x_api: XApiResource,
    trends: TrendsResource,
) -> dg.MaterializeResult:
    """Hashtag counts per bucket over all tweets and per watchlist key, each watchlist key's volume, a
    rolling baseline, a burst score and flag. With the emulator as X, precision and recall of the
    detected bursts against its injected ones (over every stored day) are in the metadata: recall over all
    injected bursts and over those the watchlist's tweets show (``observable_recall``,
    ``core.trends.observable``), precision over the events detected in the collected tweets."""
    cfg = config.resolve(trends)
    the_lake = lake.lake()
    con = connect(the_lake)
    events = []
    rows = 0
    for key in context.partition_keys:
        day = dt.date.fromisoformat(key)
        result = trends_for_day(con, day, cfg)
        the_lake.replace_where(TRENDS_TABLE, result.table, {"day": day}, ["day"])
        rows += result.table.num_rows
        events += result.events
    register(con, the_lake, TRENDS_TABLE)
    top = [e for e in events if e.scope == "global"]
    top.sort(key=lambda e: -e.peak_z)
    metadata = {
        "rows": rows,
        "burst_events": len(events),
        "global_hashtag_bursts": len(top),
        "top_bursts": dg.MetadataValue.md(markdown_preview(_events_table(top[:10]))) if top else "none",
        "bucket_minutes": cfg.bucket_minutes,
    }
    lines = _trend_lines(con, context.partition_keys[-1])
    if lines:
        metadata["trend_lines"] = dg.MetadataValue.md(lines)
    truth = (x_api.emulator_ground_truth() or {}).get("bursts")
    if truth is not None:
        evaluation = evaluate_stored(con, truth, cfg)
        if evaluation is not None:
            metadata.update({f"ground_truth_{k}": v for k, v in evaluation.as_metadata().items()})
            metadata["ground_truth_missed"] = dg.MetadataValue.json(evaluation.missed)
            metadata["ground_truth_false_events"] = dg.MetadataValue.json(evaluation.false_events)
            metadata["ground_truth_false_causes"] = dg.MetadataValue.json(evaluation.false_causes)
            context.log.info(
                f"bursts vs the emulator's ground truth: precision {evaluation.precision}, recall "
                f"{evaluation.recall} of all injected, {evaluation.observable_recall} of the "
                f"{evaluation.observable_bursts} the watchlist saw"
            )
    return dg.MaterializeResult(metadata=metadata)


def _trend_lines(con, day: str) -> str | None:
    """The day's busiest hashtags as trend lines over its buckets (bursts marked), a Markdown table."""
    from xget_pipelines.core.lake.preview import sparkline_table

    rows = con.execute(
        """
        with top as (select name from analytics_trends where day = ? and scope = 'global' and kind = 'hashtag'
                     group by name order by sum(count) desc limit 8)
        select t.name, t.bucket_start, t.count, t.burst from analytics_trends t join top using (name)
        where t.day = ? and t.scope = 'global' and t.kind = 'hashtag' order by t.name, t.bucket_start
    """,
        [day, day],
    ).fetchall()
    if not rows:
        return None
    buckets = sorted({r[1] for r in rows})
    series: dict[str, list] = {}
    summary: dict[str, str] = {}
    for name, bucket, count, burst in rows:
        series.setdefault(f"#{name}", [0] * len(buckets))[buckets.index(bucket)] = count
        if burst:
            summary[f"#{name}"] = (
                f"burst at {bucket:%H:%M}" if f"#{name}" not in summary else summary[f"#{name}"]
            )
    totals = {name: f"{sum(v)} tweets" for name, v in series.items()}
    summary = {name: ", ".join(x for x in (totals[name], summary.get(name)) if x) for name in series}
    return sparkline_table(series, "hashtag", f"{buckets[0]:%H:%M}", f"{buckets[-1]:%H:%M} UTC", summary)


def _events_table(events):
    import pyarrow as pa

    return pa.table(
        {
            "tag": [f"#{e.name}" for e in events],
            "start": [e.start for e in events],
            "end": [e.end for e in events],
            "tweets": [e.tweets for e in events],
            "peak_z": [round(e.peak_z, 1) for e in events],
        }
    )
