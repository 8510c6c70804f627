"""The op of the ``x_hydrate`` job (``jobs.py``): look every tweet id of a dataset up on X, as
``xget hydrate`` does, for the HYDRATE tasks of the API (``sensors/tasks.py`` launches one run per task
attempt).

The dataset's ids are read from the control plane (``core/db/hydration.py``: where a task's ids are kept);
the work is ``core/x/hydrate.py``'s, the same function the CLI calls: pages land raw under the watch key
``hydrate:<dataset>``, found tweets in the cleaned and entity tables, a status per id in ``ops/hydration``.
Ids with a status are skipped, so a run after a failed or stopped one resumes. A job of one op rather than
an asset: the dataset's raw and cleaned partitions are keyed by the day the pages were fetched, not by a
(day, watchlist key) partition the ingest assets own, and ``publish`` rebuilds them itself.

The run fails (so the task is FAILED, naming it) when ids are left without a readable answer: what was
decided is kept, and starting the task again asks only the rest.
"""

import dagster as dg
from pydantic import Field

from xget_pipelines.core.db.hydration import dataset_ids
from xget_pipelines.core.x import hydrate as core
from xget_pipelines.resources import AccountPoolResource, ControlPlaneResource, LakeResource, XApiResource

OP_NAME = "hydrate_dataset"


class HydrateConfig(dg.Config):
    dataset: str = Field(description="The dataset whose ids to look up (created by a HYDRATE task)")
    batch_size: int = Field(default=core.BATCH_SIZE, description="Ids a request (X takes up to about 220)")


def run_config(dataset: str) -> dict:
    """The run config of an ``x_hydrate`` run of ``dataset``."""
    return {"ops": {OP_NAME: {"config": {"dataset": dataset}}}}


@dg.op(name=OP_NAME, tags={"kind": "x"}, pool="x_api")
def hydrate_dataset(
    context: dg.OpExecutionContext,
    config: HydrateConfig,
    x_api: XApiResource,
    account_pool: AccountPoolResource,
    lake: LakeResource,
    control_plane: ControlPlaneResource,
) -> dg.Output:
    """Look the dataset's ids up through the account pool; a status per id in ops/hydration."""
    try:
        core.check_dataset(config.dataset)
    except ValueError as exc:
        raise dg.Failure(str(exc)) from None
    ids = dataset_ids(control_plane.engine(), config.dataset)
    if not ids:
        raise dg.Failure(f"dataset {config.dataset!r} has no ids: create a HYDRATE task with its ids")

    def progress(p: core.Progress) -> None:
        seen = ", ".join(f"{s} {n}" for s, n in sorted(p.counts.items()))
        context.log.info(
            f"{p.skipped + p.done}/{p.total} ids decided ({p.skipped} before), {p.pages} pages: {seen}"
        )

    with x_api.client(account_pool.pool()) as client:
        result = core.hydrate(
            client,
            lake.lake(),
            dataset=config.dataset,
            ids=ids,
            run_id=context.run_id,
            batch_size=config.batch_size,
            on_progress=progress,
        )
    metadata = {
        "ids": len(ids),
        "skipped": result.progress.skipped,
        "decided": result.progress.done,
        "pages": result.progress.pages,
        "undecided": len(result.undecided),
        "published_days": ", ".join(d.isoformat() for d in result.published_days),
        **{f"ids_{status}": n for status, n in result.counts.items()},
    }
    if result.undecided:
        raise dg.Failure(
            f"{len(result.undecided)} of {len(ids)} ids got no readable answer from X; what was decided is "
            "kept: start the task again to ask the rest",
            metadata=metadata,
        )
    return dg.Output(None, metadata=metadata)
