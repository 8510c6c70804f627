import pytest

from tests.conftest import register_accounts
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.breaker import CircuitBreaker, CircuitOpen
from xget_pipelines.core.x.client import XClient


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_opens_after_repeated_failures_half_opens_and_backs_off():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, window_s=10, cooldown_s=5, clock=clock, wall=clock)
    for _ in range(2):
        breaker.before_request("SearchTimeline")
        breaker.failure("SearchTimeline")
    breaker.before_request("SearchTimeline")  # two failures: still closed
    breaker.failure("SearchTimeline")
    with pytest.raises(CircuitOpen, match="SearchTimeline: X failed 3 times"):
        breaker.before_request("SearchTimeline")
    breaker.before_request("UserTweets")  # other operations are unaffected
    clock.t += 5
    breaker.before_request("SearchTimeline")  # half-open: one trial
    with pytest.raises(CircuitOpen):
        breaker.before_request("SearchTimeline")  # and only one
    breaker.failure("SearchTimeline")  # the trial failed: open for twice as long
    clock.t += 9
    with pytest.raises(CircuitOpen):
        breaker.before_request("SearchTimeline")
    clock.t += 1
    breaker.before_request("SearchTimeline")
    breaker.success("SearchTimeline")
    breaker.before_request("SearchTimeline")
    breaker.before_request("SearchTimeline")


def test_old_failures_fall_out_of_the_window():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, window_s=10, cooldown_s=5, clock=clock, wall=clock)
    breaker.failure("Followers")
    clock.t += 11
    breaker.failure("Followers")
    breaker.before_request("Followers")


def test_client_stops_asking_a_failing_x_and_says_until_when(emulator_factory, sqlite_url):
    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, get_engine(sqlite_url), ["cb1"])
    import httpx

    httpx.post(
        f"{emu.url}/_emulator/faults", json={"rules": [{"kind": "http_5xx", "status": 503}]}
    ).raise_for_status()
    breaker = CircuitBreaker(failure_threshold=4, window_s=60, cooldown_s=60)
    with XClient(emu.graphql_url, pool, backoff_base_s=0.01, max_attempts=10, breaker=breaker) as client:
        with pytest.raises(CircuitOpen, match="not asking again until"):
            client.fetch("SearchTimeline", watch.search_variables("python", 20))
        assert client.stats["retries"] == 4  # stopped at the threshold, not at max_attempts
        with pytest.raises(CircuitOpen):
            client.fetch("SearchTimeline", watch.search_variables("python", 20))
        httpx.delete(f"{emu.url}/_emulator/faults").raise_for_status()
        # another operation still works: the breaker is per operation
        assert (
            client.fetch("UserByScreenName", watch.user_by_screen_name_variables("xget_showcase")).status
            == 200
        )
