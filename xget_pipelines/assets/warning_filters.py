"""Some Dagster features XGet relies on on purpose are marked beta or superseded in Dagster 1.13 (single-run
backfill policies, the multi-to-single-dimension partition mapping, time-partition freshness checks); their
warnings are silenced so runs and the demo print what matters. Imported first by ``xget_pipelines.assets``.
The one warning a job causes is silenced where that job is built (``jobs.py``)."""

import warnings

import dagster as dg

for _category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
    warnings.filterwarnings("ignore", category=_category)
