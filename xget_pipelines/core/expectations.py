"""A Great Expectations suite on ``cleaned_tweets``, run in an ephemeral context (nothing written to disk).

The suite states what a parsed tweet must look like: ids present and unique per (day, watch_key), counts
never negative, the enumerations the parser emits (visibility, via), texts no longer than X's long-post
limit. ``validate_latest_day`` runs it over the newest day of the table (cost in proportion to a day) and
returns the outcome per expectation with a few unexpected values. Great Expectations takes ~3 s to import,
so it is imported here, inside the call, never when the code location loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_TEXT = 25_000  # X's long posts (Premium) go up to 25,000 characters


@dataclass
class SuiteResult:
    success: bool
    day: str | None
    rows: int
    evaluated: int = 0
    failed: list[dict] = field(default_factory=list)


def _suite(gx):
    e = gx.expectations
    suite = gx.ExpectationSuite(name="cleaned_tweets")
    for column in ("tweet_id", "visibility", "via", "day", "watch_key"):
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column="author_id", mostly=0.99))
    suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column="created_at", mostly=0.99))
    suite.add_expectation(e.ExpectCompoundColumnsToBeUnique(column_list=["day", "watch_key", "tweet_id"]))
    for column in (
        "like_count",
        "retweet_count",
        "reply_count",
        "quote_count",
        "bookmark_count",
        "view_count",
    ):
        suite.add_expectation(e.ExpectColumnValuesToBeBetween(column=column, min_value=0))
    suite.add_expectation(
        e.ExpectColumnValuesToBeInSet(column="visibility", value_set=["visible", "limited"])
    )
    suite.add_expectation(
        e.ExpectColumnValuesToBeInSet(column="via", value_set=["timeline", "quoted", "retweeted"])
    )
    suite.add_expectation(e.ExpectColumnValueLengthsToBeBetween(column="text", max_value=MAX_TEXT))
    return suite


def validate(frame) -> SuiteResult:
    """Run the suite over a pandas DataFrame of cleaned tweets."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("xget")
        .add_dataframe_asset("cleaned_tweets")
        .add_batch_definition_whole_dataframe("day")
    )
    suite = context.suites.add(_suite(gx))
    run = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name="cleaned_tweets")
    )
    outcome = run.run(batch_parameters={"dataframe": frame})
    failed = []
    for r in outcome.results:
        if not r.success:
            kwargs = r.expectation_config.kwargs
            failed.append(
                {
                    "expectation": r.expectation_config.type,
                    "column": kwargs.get("column") or kwargs.get("column_list"),
                    "unexpected": r.result.get("unexpected_count"),
                    "examples": [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]],
                }
            )
    return SuiteResult(
        bool(outcome.success), None, len(frame), outcome.statistics["evaluated_expectations"], failed
    )


def validate_latest_day(con) -> SuiteResult | None:
    """The suite over the newest day of ``cleaned_tweets`` (a DuckDB connection with the lake's views)."""
    from xget_pipelines.core.lake.catalog import has_view

    if not has_view(con, "cleaned_tweets"):
        return None
    day = con.execute("select max(day) from cleaned_tweets").fetchall()[0][0]
    if day is None:
        return None
    frame = con.sql("select * from cleaned_tweets where day = ?", params=[day]).df()
    result = validate(frame)
    result.day = str(day)
    return result
