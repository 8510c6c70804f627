"""Quality checks a user sees in the UI: row-volume anomalies and freshness of the daily layers."""

import datetime as dt

import dagster as dg
import pyarrow as pa

from xget_pipelines.assets.quality import cleaned_tweets_volume, freshness_checks
from xget_pipelines.core.x.clean import cleaned_schema
from xget_pipelines.resources import LakeResource

D0 = dt.date(2026, 4, 1)


def fill(lake_uri: str, counts: list[int]) -> None:
    from xget_pipelines.core.lake.delta import Lake

    lake = Lake(lake_uri)
    next_id = 1
    for i, n in enumerate(counts):
        day = D0 + dt.timedelta(days=i)
        rows = [
            {
                "tweet_id": next_id + k,
                "author_id": 7,
                "text": "hello",
                "like_count": 0,
                "created_at": dt.datetime.combine(day, dt.time(12), dt.UTC),
                "retweet_count": 0,
                "reply_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "is_quote": False,
                "is_retweet": False,
                "has_media": False,
                "visibility": "visible",
                "via": "timeline",
                "watch_key": "python",
                "day": day,
            }
            for k in range(n)
        ]
        next_id += n
        lake.replace_where(
            "cleaned/tweets",
            pa.Table.from_pylist(rows, schema=cleaned_schema("cleaned/tweets")),
            {"day": day, "watch_key": "python"},
            ["day"],
        )


def check(lake_uri: str) -> dg.AssetCheckResult:
    return cleaned_tweets_volume(lake=LakeResource(uri=lake_uri))


def test_a_collapsed_day_fails_the_volume_check_with_the_figures(tmp_path):
    uri = str(tmp_path / "lake")
    fill(uri, [100, 120, 90, 110, 8])
    result = check(uri)
    assert result.passed is False and result.severity == dg.AssetCheckSeverity.WARN
    md = {k: v.value for k, v in result.metadata.items()}
    assert md["rows"] == 8 and md["median_of_previous_days"] == 105 and md["day"] == "2026-04-05"


def test_a_normal_day_passes_and_too_little_history_is_not_judged(tmp_path):
    normal = str(tmp_path / "normal")
    fill(normal, [100, 120, 90, 110, 97])
    assert check(normal).passed is True
    young = str(tmp_path / "young")
    fill(young, [100, 3])
    result = check(young)
    assert result.passed is True and "too few" in result.metadata["reason"].value


def test_freshness_checks_watch_the_daily_entity_and_trend_partitions():
    keys = {key.asset_key.to_user_string() for c in freshness_checks for key in c.check_keys}
    assert {"entities_tweets", "entities_users", "analytics_trends"} <= keys


def test_great_expectations_suite_passes_clean_rows_and_names_what_is_wrong(tmp_path):
    from xget_pipelines.assets.quality import cleaned_tweets_expectations
    from xget_pipelines.core.lake.delta import Lake

    uri = str(tmp_path / "lake")
    fill(uri, [30, 40])
    good = cleaned_tweets_expectations(lake=LakeResource(uri=uri))
    assert good.passed is True and good.metadata["expectations"].value >= 15

    day = D0 + dt.timedelta(days=2)  # a newer day with broken rows: that day is the one validated
    rows = [
        {
            "tweet_id": 9000 + k,
            "like_count": -3 if k == 0 else 0,
            "retweet_count": 0,
            "reply_count": 0,
            "quote_count": 0,
            "bookmark_count": 0,
            "is_quote": False,
            "is_retweet": False,
            "has_media": False,
            "visibility": "strange" if k == 1 else "visible",
            "via": "timeline",
            "text": "x" * (30_000 if k == 2 else 5),
            "watch_key": "python",
            "day": day,
        }
        for k in range(5)
    ]
    Lake(uri).replace_where(
        "cleaned/tweets",
        pa.Table.from_pylist(rows, schema=cleaned_schema("cleaned/tweets")),
        {"day": day, "watch_key": "python"},
        ["day"],
    )
    bad = cleaned_tweets_expectations(lake=LakeResource(uri=uri))
    assert bad.passed is False and bad.metadata["day"].value == "2026-04-03"
    failures = {(f["expectation"], str(f["column"])): f for f in bad.metadata["failures"].value}
    assert failures[("expect_column_values_to_be_between", "like_count")]["examples"] == ["-3"]
    assert failures[("expect_column_values_to_be_in_set", "visibility")]["examples"] == ["strange"]
    assert ("expect_column_value_lengths_to_be_between", "text") in failures
    assert ("expect_column_values_to_not_be_null", "author_id") in failures  # these rows have no author
