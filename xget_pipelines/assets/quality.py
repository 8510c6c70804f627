"""Data-quality checks beyond keys: freshness of the daily layers and row-volume anomalies."""

import dagster as dg

from xget_pipelines.assets.analytics import analytics_trends
from xget_pipelines.assets.entities import entity_tables
from xget_pipelines.core.lake.catalog import connect, has_view
from xget_pipelines.resources import LakeResource

# Yesterday's partition of the entities and the trends must exist by 04:00 UTC (the nightly ingest runs
# at 00:30); a late or failed night shows as a failed (WARN) check in the UI, evaluated by
# ``freshness_checks_sensor`` (sensors/freshness.py).
freshness_checks = dg.build_time_partition_freshness_checks(
    assets=[entity_tables, analytics_trends], deadline_cron="0 4 * * *", timezone="UTC"
)

VOLUME_LOW, VOLUME_HIGH, VOLUME_HISTORY_DAYS = 0.25, 4.0, 7


def volume_anomaly(con, view: str = "cleaned_tweets") -> dict:
    """Rows of the latest day against the median of the days before it (up to a week)."""
    rows = con.execute(
        f"select day, count(*) from {view} group by day order by day desc limit ?", [VOLUME_HISTORY_DAYS + 1]
    ).fetchall()
    if len(rows) < 3:
        return {"passed": True, "reason": f"{len(rows)} days of data: too few to judge", "days": len(rows)}
    (latest_day, latest), history = rows[0], sorted(n for _, n in rows[1:])
    median = (
        history[len(history) // 2]
        if len(history) % 2
        else (history[len(history) // 2 - 1] + history[len(history) // 2]) / 2
    )
    ratio = latest / median if median else float("inf")
    return {
        "passed": VOLUME_LOW <= ratio <= VOLUME_HIGH,
        "day": str(latest_day),
        "rows": latest,
        "median_of_previous_days": median,
        "ratio": round(ratio, 3),
        "days": len(rows),
    }


@dg.asset_check(
    asset="cleaned_tweets",
    description=(
        f"The latest day's tweet count is within {VOLUME_LOW}x-{VOLUME_HIGH}x the median of the days before "
        f"it: a "
        "collapse means accounts or the parser broke, a surge a runaway query."
    ),
)
def cleaned_tweets_volume(lake: LakeResource) -> dg.AssetCheckResult:
    con = connect(lake.lake())
    if not has_view(con, "cleaned_tweets"):
        return dg.AssetCheckResult(passed=True, metadata={"reason": "no cleaned tweets yet"})
    result = volume_anomaly(con)
    passed = result.pop("passed")
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=result)


@dg.asset_check(
    asset="cleaned_tweets",
    description=(
        "Great Expectations suite on the newest day: ids present and unique per partition, counts never "
        "negative, "
        "visibility/via from the parser's sets, texts within X's 25,000-character limit."
    ),
)
def cleaned_tweets_expectations(lake: LakeResource) -> dg.AssetCheckResult:
    from xget_pipelines.core.expectations import validate_latest_day

    result = validate_latest_day(connect(lake.lake()))
    if result is None:
        return dg.AssetCheckResult(passed=True, metadata={"reason": "no cleaned tweets yet"})
    return dg.AssetCheckResult(
        passed=result.success,
        metadata={
            "day": result.day,
            "rows": result.rows,
            "expectations": result.evaluated,
            "failed_expectations": len(result.failed),
            "failures": dg.MetadataValue.json(result.failed),
        },
    )


quality_checks = [*freshness_checks, cleaned_tweets_volume, cleaned_tweets_expectations]
