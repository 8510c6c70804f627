"""The dbt project (``dbt_project/``, dbt-duckdb) as Dagster assets: marts over the entities and analytics.

The translator names each dbt source after the Python asset that writes that Delta table
(``lake.entities_tweets`` -> ``entities_tweets``), so the asset graph runs unbroken from raw pages to
the marts; the marts are ``marts_<model>`` in group ``marts``. dbt reads the Delta tables through the
``deltalake`` package (the dbt-duckdb ``delta`` plugin) and writes the marts to the ``dbt`` resource's
``marts_path`` (``$XGET_HOME/marts.duckdb``), which ``xget sql`` attaches as ``marts``. The assets are read
from the dbt manifest, so they are built when the definitions load, from the manifest
``resources/dbt.py`` prepares then, not when this module is imported.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from xget_pipelines.core.about_accounts import ensure_about_tables
from xget_pipelines.core.x.clean_expand import ensure_expansion_tables
from xget_pipelines.resources import LakeResource
from xget_pipelines.resources.dbt import DbtMartsResource


class XGetDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(dbt_resource_props["name"])  # the Python asset writing that Delta table
        return dg.AssetKey(f"marts_{dbt_resource_props['name']}")

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "marts"

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        # Declarative automation: a mart rebuilds once its inputs (entities, trends) have new data.
        return dg.AutomationCondition.eager()


def dbt_marts_assets(manifest: Path) -> dg.AssetsDefinition:
    """The ``dbt_marts`` assets of the dbt ``manifest`` (``resources.dbt.prepare_manifest()``)."""

    @dbt_assets(manifest=manifest, dagster_dbt_translator=XGetDbtTranslator(), name="dbt_marts")
    def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtMartsResource, lake: LakeResource):
        """``dbt build``: the marts and their tests (as asset checks) over the current lake."""
        # The about-account tables exist (empty) before about_accounts first runs: the marts over them build.
        ensure_about_tables(lake.lake())
        ensure_expansion_tables(lake.lake())  # so is cleaned/conversations before any key expands one
        yield from dbt.build_marts(context, lake.uri).stream()

    return dbt_marts
