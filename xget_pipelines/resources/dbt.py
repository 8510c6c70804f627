"""The dbt project (``dbt_project/``), its manifest, and the ``dbt`` resource that runs its CLI.

The manifest (``dbt_project/target/manifest.json``) is what Dagster reads the dbt assets from: a build
artefact, made once. ``prepare_manifest`` makes it with ``dbt parse`` when the definitions load and it is
missing (a fresh clone) or older than a project file (an edited model), the way dagster-dbt's
``DbtProject.prepare_if_dev`` does under ``dagster dev``; the production image makes it at build time
(``deploy/Dockerfile``), so a deployed code location never parses. XGet runs the parse itself rather than
through dagster-dbt's preparer because the preparer runs whatever ``dbt`` is on PATH, and tests, the demo's
run workers and ``make`` run the virtualenv's Python without it on PATH.

dbt gets what it needs from XGet's settings as ``--vars`` on each invocation (``lake_uri``, ``marts_path``),
never through the process environment.
"""

import json
import os
import shutil
import sys
import uuid
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from pydantic import Field

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))  # the venv's dbt, whatever PATH says

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class DbtMartsResource(DbtCliResource):
    """dbt's CLI over XGet's dbt project (dagster-dbt's ``DbtCliResource``), and where the marts go."""

    marts_path: str = Field(
        description="DuckDB file dbt writes the marts to; `xget sql` attaches it as `marts` "
        "(XGET_DBT_DUCKDB_PATH, default $XGET_HOME/marts.duckdb)."
    )

    def build_marts(self, context: dg.AssetExecutionContext, lake_uri: str) -> DbtCliInvocation:
        """``dbt build`` of the context's selection over the lake at ``lake_uri``."""
        Path(self.marts_path).parent.mkdir(parents=True, exist_ok=True)
        dbt_vars = json.dumps({"lake_uri": lake_uri, "marts_path": self.marts_path})
        return self.cli(["build", "--vars", dbt_vars], context=context)


def dbt_resource(marts_path: str | Path) -> DbtMartsResource:
    return DbtMartsResource(
        project_dir=dbt_project,
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=DBT_EXECUTABLE,
        marts_path=str(marts_path),
    )


def _stale(manifest: Path) -> bool:
    """No manifest, or a project file changed after it was made."""
    if not manifest.exists():
        return True
    made = manifest.stat().st_mtime
    files = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        files += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.exists() and p.stat().st_mtime > made for p in files)


def prepare_manifest(project: DbtProject = dbt_project) -> Path:
    """The project's manifest, parsed first when it is missing or stale. Processes that load the definitions
    at once (run workers) may each parse: each writes its own target folder and moves the manifest into
    place in one step, so a reader never sees half a file."""
    if _stale(project.manifest_path):
        scratch = project.target_path / f"prepare-{uuid.uuid4().hex[:8]}"
        resource = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
        resource.cli(["parse", "--quiet"], target_path=scratch).wait()
        os.replace(project.project_dir / scratch / "manifest.json", project.manifest_path)
        shutil.rmtree(project.project_dir / scratch, ignore_errors=True)
    return project.manifest_path
