from xget_pipelines.assets.checks import asset_checks
from xget_pipelines.assets.cleaned import cleaned_tables
from xget_pipelines.assets.raw import raw_x_pages

ingest_assets = [raw_x_pages, cleaned_tables]

__all__ = ["asset_checks", "cleaned_tables", "ingest_assets", "raw_x_pages"]
