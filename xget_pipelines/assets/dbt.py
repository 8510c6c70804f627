"""The dbt project (``dbt_project/``, dbt-duckdb) as Dagster assets: marts over the entities and analytics.

The translator names each dbt source after the Python asset that writes that Delta table
(``lake.entities_tweets`` -> ``entities_tweets``), so the asset graph runs unbroken from raw pages to
the marts; the marts are ``marts_<model>`` in group ``marts``. dbt reads the Delta tables through the
``deltalake`` package (the dbt-duckdb ``delta`` plugin) and writes the marts to ``$XGET_HOME/marts.duckdb``,
which ``xget sql`` attaches as ``marts``. The manifest is made with ``dbt parse`` when it is missing or
older than a project file (the production image makes it at build time).
"""

import os
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from xget_pipelines.resources import LakeResource
from xget_pipelines.resources.dbt import dbt_env, dbt_project


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


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=XGetDbtTranslator(), name="dbt_marts")
def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource):
    """``dbt build``: the marts and their tests (as asset checks) over the current lake."""
    env = dbt_env(lake.uri)
    Path(env["XGET_DBT_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    with _environment(env):  # the dbt subprocess copies the environment when it starts, inside cli()
        invocation = dbt.cli(["build"], context=context)
    yield from invocation.stream()


@contextmanager
def _environment(values: dict[str, str]):
    """Set environment variables for the duration of the block only (nothing leaks into the process)."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
