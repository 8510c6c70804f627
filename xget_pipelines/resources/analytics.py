"""The defaults of the analytics assets (``XGET_TREND_*``, ``XGET_SENTIMENT_*``); a run's config overrides
them."""

from pathlib import Path

import dagster as dg
from pydantic import Field


class TrendsResource(dg.ConfigurableResource):
    """Burst detection of ``analytics_trends`` (see ``core/trends.py`` for the score)."""

    bucket_minutes: int = Field(default=60, description="Trend bucket width in minutes, a divisor of 1440.")
    baseline_buckets: int = Field(
        default=24, description="Buckets before each bucket that form its baseline."
    )
    z_threshold: float = Field(default=4.0, description="Burst score a bucket needs to be flagged.")
    min_count: int = Field(default=5, description="Tweets a bucket needs to be flagged.")


class SentimentResource(dg.ConfigurableResource):
    """Which model scores the tweets, and how many labelled tweets ``sentiment_model`` trains on."""

    model: str = Field(
        default="current",
        description="current (the trained one), vader, transformers:<path or id>, or a model folder.",
    )
    train_limit: int | None = Field(
        default=None, description="Labelled tweets the model uses from each source; None: all (33k in all)."
    )
    fold_limit: int | None = Field(
        default=None, description="Labelled tweets each leave-one-source-out fold trains on; None: all."
    )
    held_out_limit: int = Field(default=1000, description="Tweets scored per held-out source.")
    home: str = Field(
        default=".xget", description="XGet's home folder: trained models live in <home>/models."
    )

    def models(self) -> Path:
        """The folder of trained models (``current`` names the one in use)."""
        from xget_pipelines.core.sentiment.models import models_dir

        return models_dir(Path(self.home))
