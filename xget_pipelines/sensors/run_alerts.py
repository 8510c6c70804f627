"""Page when a run fails: one Slack-compatible webhook message per failed run, at least once.

The message names the job, the partition, the step that failed and the first line of its error, and
the run id to open in the UI. Delivery is retried (``core/alerts.py``); when the webhook stays down the
tick fails, so the run status sensor evaluates the same failure again on its next tick instead of
losing the page. Without ``XGET_ALERT_WEBHOOK_URL`` the failure is only logged.

For email the failures of one job are one incident, ``run_failures:<job>``: mailed when the first run fails,
reminded while runs of the job keep failing, and mailed once when a run of the job succeeds again
(``run_recovery_alert_sensor``). A mail server that is down delays the email, never the sensor.
"""

from datetime import UTC, datetime

import dagster as dg

from xget_pipelines.core.incidents import Incident
from xget_pipelines.resources import AlertsResource


def failure_incident(run: dg.DagsterRun, text: str) -> Incident:
    return Incident(
        f"run_failures:{run.job_name}",
        title=f"runs of {run.job_name} fail",
        detail=text,
        remedy=f"open run {run.run_id} in the Dagster UI (Runs), fix what its error names (an account pool "
        "that is out, a setting, a service that is down) and re-execute the failed partition from the UI; "
        f"this clears when a run of {run.job_name} succeeds.",
    )


def failure_text(run: dg.DagsterRun, event: dg.DagsterEvent | None, step_errors: dict[str, str]) -> str:
    partition = run.tags.get("dagster/partition")
    where = f" for partition {partition}" if partition else ""
    task = run.tags.get("xget/task_id")
    steps = "; ".join(f"{step}: {error}" for step, error in list(step_errors.items())[:3])
    reason = steps or (event.message if event is not None and event.message else "no step error recorded")
    return (
        f":red_circle: XGet run of {run.job_name}{where} failed{f' (task {task})' if task else ''}: "
        f"{reason[:600]}. Run {run.run_id}."
    )


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Posts each failed run (job, partition, failing step and error) to XGET_ALERT_WEBHOOK_URL.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, alerts: AlertsResource):
    run = context.dagster_run
    step_errors = {}
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        while error is not None and error.cause is not None:  # Dagster's wrapper -> the op's own exception
            error = error.cause
        step_errors[event.step_key] = (error.message.strip().splitlines() or [""])[0] if error else "failed"
    text = failure_text(run, context.failure_event, step_errors)
    context.log.warning(text)
    emailed = alerts.open_incident(failure_incident(run, text), datetime.now(UTC))
    if emailed.error:
        context.log.error(emailed.summary())
    if alerts.post(text) is False:
        # Failing the tick makes Dagster evaluate this run again next tick: the page is delayed, not lost.
        raise RuntimeError(
            f"the alert webhook did not accept the failure of run {run.run_id} after retries; "
            "it is retried on the next tick (check XGET_ALERT_WEBHOOK_URL)"
        )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="run_recovery_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Closes a job's run failure incident when a run of it succeeds (one recovery email).",
)
def run_recovery_alert_sensor(context: dg.RunStatusSensorContext, alerts: AlertsResource):
    run = context.dagster_run
    emailed = alerts.resolve_incident(f"run_failures:{run.job_name}", datetime.now(UTC))
    if emailed.error:
        context.log.error(emailed.summary())
