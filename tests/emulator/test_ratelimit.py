"""Rate limits per (account, operation) over fixed windows, with X's headers and 429/88."""

from __future__ import annotations

import math
import time

from xget_pipelines.emulator import DEFAULT_RATE_LIMITS, EmulatorServer, EmulatorSettings, World

from .conftest import XClient

WINDOW = 1.5


def remaining(rep) -> int:
    return int(rep.headers["x-rate-limit-remaining"])


def test_default_limits_match_x() -> None:
    settings = EmulatorSettings()
    assert settings.window_seconds == 900
    expected = {
        "SearchTimeline": 50,
        "UserTweets": 50,
        "UserTweetsAndReplies": 50,
        "Followers": 50,
        "UserByScreenName": 95,
        "TweetDetail": 150,
        "Following": 500,
        "Retweeters": 500,
        "ListLatestTweetsTimeline": 500,
        "UserByRestId": 500,
        "GenericTimelineById": 500,
        # sources in settings.py; the last three are guesses
        "UserMedia": 500,
        "ListMembers": 500,
        "BlueVerifiedFollowers": 500,
        "UserCreatorSubscriptions": 500,
        "CommunityQuery": 50,
        "CommunityTweetsTimeline": 500,
        "membersSliceTimeline_Query": 500,
        "moderatorsSliceTimeline_Query": 500,
        "AboutAccountQuery": 50,
        # twitter-api-client's readme table (emulator/ops_lookup.py): batch 500, single 50 per 15 min
        "TweetResultsByRestIds": 500,
        "TweetResultByRestId": 50,
    }
    assert {op: settings.limit_for(op) for op in expected} == expected == DEFAULT_RATE_LIMITS
    assert EmulatorSettings(rate_limits={"SearchTimeline": 7}).limit_for("SearchTimeline") == 7


def test_headers_last_slot_429_and_window_reopening(world: World) -> None:
    settings = EmulatorSettings(window_seconds=WINDOW, rate_limits={"UserByScreenName": 3})
    with EmulatorServer(world, settings) as emu:
        a, b = XClient(emu, "acc-a"), XClient(emu, "acc-b")
        name = world.users[0].screen_name
        started = time.time()
        reps = [a.get("UserByScreenName", screen_name=name) for _ in range(3)]
        assert [r.status_code for r in reps] == [200, 200, 200]
        assert [remaining(r) for r in reps] == [2, 1, 0]  # the last slot is served, with remaining 0
        assert all(r.headers["x-rate-limit-limit"] == "3" for r in reps)
        reset = int(reps[0].headers["x-rate-limit-reset"])
        assert {r.headers["x-rate-limit-reset"] for r in reps} == {str(reset)}
        assert started + WINDOW <= reset <= math.ceil(time.time() + WINDOW)  # window end, rounded up

        over = a.get("UserByScreenName", screen_name=name)
        assert over.status_code == 429
        assert over.json() == {"errors": [{"code": 88, "message": "Rate limit exceeded."}]}
        assert remaining(over) == 0 and int(over.headers["x-rate-limit-reset"]) == reset

        # other operations and other accounts have their own windows
        assert a.get("UserByRestId", userId=str(world.users[0].id)).status_code == 200
        assert remaining(b.get("UserByScreenName", screen_name=name)) == 2

        time.sleep(max(0.0, reset - time.time()) + 0.3)  # window over; the next request opens a new one
        again = a.get("UserByScreenName", screen_name=name)
        assert again.status_code == 200 and remaining(again) == 2
        assert int(again.headers["x-rate-limit-reset"]) > reset

        stats = emu.state.stats.snapshot()["accounts"]["acc-a"]["UserByScreenName"]
        assert (stats["pages"], stats["rate_limited"], stats["errors"]) == (4, 1, 0)
        a.close(), b.close()


def test_windows_are_fixed_not_sliding(world: World) -> None:
    settings = EmulatorSettings(window_seconds=WINDOW, rate_limits={"UserByRestId": 2})
    with EmulatorServer(world, settings) as emu:
        c = XClient(emu, "fixed")
        uid = str(world.users[1].id)
        first = c.get("UserByRestId", userId=uid)
        time.sleep(WINDOW * 0.6)
        second = c.get("UserByRestId", userId=uid)  # same window: same reset
        assert first.headers["x-rate-limit-reset"] == second.headers["x-rate-limit-reset"]
        assert c.get("UserByRestId", userId=uid).status_code == 429
        time.sleep(WINDOW * 0.6)  # the window opened by `first` has ended
        fresh = c.get("UserByRestId", userId=uid)
        assert fresh.status_code == 200 and remaining(fresh) == 1
        assert int(fresh.headers["x-rate-limit-reset"]) > int(first.headers["x-rate-limit-reset"])
        c.close()
