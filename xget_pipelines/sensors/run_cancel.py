"""Cancelling the runs of work a user stopped: a scrape task (``sensors/tasks.py``, STOPPING) or a watchlist
backfill (``sensors/backfills.py``, CANCELING). One way for both: a queued run is dequeued (reported
canceled: it never starts), a started one is terminated through the instance's run coordinator (the run
launcher asks its process to stop; it is CANCELING until it has). What finished runs collected stays.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

UNFINISHED = frozenset(
    {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
        dg.DagsterRunStatus.MANAGED,
    }
)
_NOT_STARTED = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)
_STARTED = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


def cancel_runs(instance: dg.DagsterInstance, runs: Iterable[dg.DagsterRun], message: str) -> int:
    """Dequeue the queued runs of ``runs`` (with ``message`` in their log) and ask the started ones to
    terminate; returns how many are still running (asked to stop, or stopping already): 0 means none is."""
    left = 0
    for run in runs:
        if run.status in _NOT_STARTED:
            instance.report_run_canceled(run, message=message)
        elif run.status in _STARTED:
            instance.run_coordinator.cancel_run(run.run_id)
            left += 1
        elif run.status in UNFINISHED:  # CANCELING, MANAGED: on their way out, or not ours to stop
            left += 1
    return left
