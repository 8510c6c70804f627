"""The serving API: one FastAPI application (``xget api``), REST under ``/v1`` and GraphQL at
``/v1/graphql``, over the lake (DuckDB, the readers of ``core/lake/``: ``tweet_reader.py``,
``analytics_reader.py``, ``task_results.py``) and the control-plane DB (``core/``).
It imports ``core/``, never ``definitions.py``: scrape tasks reach Dagster through the task sensor."""
