"""A failed run pages the webhook once, naming the job, partition, step and error; a webhook that is down
fails the tick so the page is retried, never lost; secrets in the URL never reach the message. By email, the
failures of a job are one incident: mailed once, and once when a run of the job succeeds again."""

import dagster as dg
import pytest

from tests.sensors.test_alert_email import alerts_for, body, inbox, oncall  # noqa: F401 - a mailbox fixture
from tests.sensors.test_pool_health import webhook  # noqa: F401 - the real HTTP receiver fixture
from xget_pipelines.resources import AlertsResource
from xget_pipelines.sensors.run_alerts import run_failure_alert_sensor, run_recovery_alert_sensor

days = dg.DailyPartitionsDefinition(start_date="2026-11-01")


@dg.op
def fetch_pages():
    raise ValueError("account pool exhausted: 0 of 3 accounts can serve SearchTimeline")


@dg.job(partitions_def=days)
def scrape():
    fetch_pages()


def _failed_run(instance):
    result = scrape.execute_in_process(instance=instance, partition_key="2026-11-27", raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE]
    return run, failure


def _evaluate(instance, run, failure, alerts: AlertsResource):
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
        resources={"alerts": alerts},
    ).for_run_failure()
    return run_failure_alert_sensor(context)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_a_failed_run_posts_job_partition_step_and_error(instance, webhook):  # noqa: F811
    url, received = webhook
    run, failure = _failed_run(instance)
    _evaluate(instance, run, failure, AlertsResource(webhook_url=url + "?token=s3cret"))
    (message,) = received
    text = message["text"]
    assert "scrape" in text and "2026-11-27" in text and "fetch_pages" in text
    assert "account pool exhausted" in text and run.run_id in text
    assert "s3cret" not in text


def test_a_webhook_that_stays_down_fails_the_tick_so_it_is_retried(instance):
    down = AlertsResource(webhook_url="http://127.0.0.1:9/hook", attempts=2, backoff_s=0.01)  # port 9: nobody
    run, failure = _failed_run(instance)
    with pytest.raises(RuntimeError, match="retried on the next tick"):
        _evaluate(instance, run, failure, down)


@dg.op
def fetch_pages_again():
    return 1


@dg.job(name="scrape", partitions_def=days)
def scrape_fixed():  # the same job after the fix
    fetch_pages_again()


def test_failures_of_a_job_are_one_incident_mailed_once_and_on_recovery(
    instance,
    sqlite_url,
    mail_server,
    smtp_relay,
    oncall,  # noqa: F811
    webhook,  # noqa: F811
):
    url, received = webhook
    alerts = alerts_for(sqlite_url, smtp_relay.url(), oncall, webhook_url=url)
    runs = []
    for _ in range(2):  # two failed runs: two webhook posts, one incident and one email
        run, failure = _failed_run(instance)
        _evaluate(instance, run, failure, alerts)
        runs.append(run.run_id)
    assert len(received) == 2
    (opened,) = inbox(mail_server, oncall)
    assert opened["Subject"] == "[XGet] NEW: runs of scrape fail"
    assert "fetch_pages" in body(opened) and f"What to do: open run {runs[0]}" in body(opened)

    result = scrape_fixed.execute_in_process(instance=instance, partition_key="2026-11-27")
    success = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_recovery_alert_sensor",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=success,
        resources={"alerts": alerts},
    )
    run_recovery_alert_sensor(context)
    run_recovery_alert_sensor(context)  # evaluated again: nothing more
    messages = inbox(mail_server, oncall)
    assert [m["Subject"] for m in messages][1:] == ["[XGet] RECOVERED: runs of scrape fail"]
