"""The dbt project (``dbt_project/``) and the ``dbt`` resource that runs its CLI."""

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from xget_pipelines.settings import get_settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))  # the venv's dbt, whatever PATH says


def dbt_env(lake_uri: str | None = None) -> dict[str, str]:
    """What the dbt project reads from the environment: the lake root and the marts database."""
    settings = get_settings()
    return {
        "XGET_LAKE_URI": lake_uri or settings.resolved_lake_uri,
        "XGET_DBT_DUCKDB_PATH": str(settings.resolved_marts_path),
    }


def _stale(manifest: Path) -> bool:
    """No manifest, or a project file changed after it was made."""
    if not manifest.exists():
        return True
    made = manifest.stat().st_mtime
    files = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        files += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.exists() and p.stat().st_mtime > made for p in files)


def _prepare(project: DbtProject) -> None:
    if not _stale(Path(project.manifest_path)):
        return
    env = {**os.environ, **dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(
        [
            DBT_EXECUTABLE,
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"dbt parse failed in {DBT_PROJECT_DIR}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
_prepare(dbt_project)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
    )
