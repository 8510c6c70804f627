"""The op of the ``lake_maintenance`` job (``jobs.py``): compact small files, checkpoint and vacuum every
Delta table, on a schedule (``schedules.py``).

A job of one op rather than an asset: it changes how the tables are stored, not what they hold, so it
has no place in the lineage graph (and must not trigger the eager assets downstream of the tables).
"""

import dagster as dg

from xget_pipelines.core.lake.maintenance import maintain
from xget_pipelines.resources import LakeResource


class MaintenanceConfig(dg.Config):
    retention_hours: int = 168
    tables: list[str] = []
    target_size_mb: int = 0  # 0: deltalake's default target file size


@dg.op(tags={"kind": "deltalake"})
def compact_and_vacuum(
    context: dg.OpExecutionContext, config: MaintenanceConfig, lake: LakeResource
) -> dg.Output:
    """Compact, checkpoint and vacuum each table; a table that fails is reported and the rest go on."""
    done = maintain(
        lake.lake(),
        config.retention_hours,
        config.tables or None,
        target_size=config.target_size_mb * 1024 * 1024 or None,
    )
    failed = [d for d in done if d.error]
    for d in done:
        context.log.info(
            f"{d.table} v{d.version}: {d.files_before} -> {d.files_after} files, "
            f"{d.files_compacted} compacted, {d.files_vacuumed} vacuumed"
            + (f"; {d.error or d.skipped}" if d.error or d.skipped else "")
        )
    table = (
        "| table | version | files before | files after | compacted | vacuumed |\n|---|---|---|---|---|---|\n"
        + "\n".join(
            f"| {d.table} | {d.version} | {d.files_before} | {d.files_after} | {d.files_compacted} | "
            f"{d.files_vacuumed} |"
            for d in done
        )
    )
    if failed:
        raise dg.Failure(
            f"{len(failed)} table(s) could not be compacted: "
            + "; ".join(f"{d.table}: {d.error}" for d in failed),
            metadata={"tables": dg.MetadataValue.md(table)},
        )
    return dg.Output(
        None,
        metadata={
            "tables": dg.MetadataValue.md(table),
            "files_compacted": sum(d.files_compacted for d in done),
            "files_vacuumed": sum(d.files_vacuumed for d in done),
            "retention_hours": config.retention_hours,
        },
    )
