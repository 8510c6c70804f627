"""The emulator's responses have the structure of X's real responses.

1. For every operation we compute the set of JSON key paths of a real capture (dict keys joined
   with ".", list positions collapsed to "[]") and require every one of them in the emulator's
   response. Extra paths are allowed: the compared page is the showcase page (a user/list/search
   whose posts hold every feature at once, see `emulator/showcase.py`), a superset of a real page.
   Normalisations: none; no path is excluded. The captures hold no maps keyed by ids, and what
   differs by design (e.g. the cursorType TweetDetail uses) is a value, not a path.
2. Ordinary pages must not invent keys: every (type, key) pair must occur in some capture. The
   normalisations for that check are listed next to `typed_paths`.

The captures are required: without them these tests fail rather than skip.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from xget_pipelines.emulator import EmulatorServer

from .conftest import XClient, captures_dir

TRENDING = "VGltZWxpbmU6DAC2CwABAAAACHRyZW5kaW5nAAA"


def key_paths(obj: Any, prefix: str = "", out: set[str] | None = None) -> set[str]:
    out = set() if out is None else out
    if isinstance(obj, dict):
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            key_paths(value, path, out)
    elif isinstance(obj, list):
        for value in obj:
            key_paths(value, prefix + "[]", out)
    return out


def _cases(sc: dict) -> list[tuple[str, str, dict]]:
    """(capture file, operation, variables) — variables as twscrape sends them."""
    return [
        (
            "raw_search",
            "SearchTimeline",
            {"rawQuery": sc["search"], "count": 20, "product": "Latest", "querySource": "typed_query"},
        ),
        (
            "raw_user_by_login",
            "UserByScreenName",
            {"screen_name": sc["user"], "withSafetyModeUserFields": True},
        ),
        ("raw_user_by_id", "UserByRestId", {"userId": sc["user_id"], "withSafetyModeUserFields": True}),
        (
            "raw_user_tweets",
            "UserTweets",
            {
                "userId": sc["user_id"],
                "count": 40,
                "includePromotedContent": True,
                "withQuickPromoteEligibilityTweetFields": True,
                "withVoice": True,
                "withV2Timeline": True,
            },
        ),
        (
            "raw_user_tweets_and_replies",
            "UserTweetsAndReplies",
            {"userId": sc["user_id"], "count": 40, "includePromotedContent": True, "withCommunity": True},
        ),
        (
            "raw_followers",
            "Followers",
            {"userId": sc["user_id"], "count": 20, "includePromotedContent": False},
        ),
        (
            "raw_following",
            "Following",
            {"userId": sc["user_id"], "count": 20, "includePromotedContent": False},
        ),
        # count=1 only so that this short thread shows its "more replies" cursor, as the real page does.
        (
            "raw_tweet_details",
            "TweetDetail",
            {
                "focalTweetId": sc["focal_tweet_id"],
                "count": 1,
                "with_rux_injections": True,
                "withBirdwatchNotes": True,
                "withQuickPromoteEligibilityTweetFields": True,
            },
        ),
        ("raw_retweeters", "Retweeters", {"tweetId": sc["focal_tweet_id"], "count": 20}),
        ("raw_list_timeline", "ListLatestTweetsTimeline", {"listId": sc["list_id"], "count": 20}),
        ("raw_trends", "GenericTimelineById", {"timelineId": TRENDING, "count": 20}),
    ]


CAPTURES = [
    c[0] for c in _cases({"search": "", "user": "", "user_id": "", "focal_tweet_id": "", "list_id": ""})
]


def test_captures_are_present() -> None:
    folder = captures_dir()
    missing = [name for name in CAPTURES if not (folder / f"{name}.json").is_file()]
    assert not missing, f"real captures missing in {folder} (set XGET_CAPTURES_DIR): {missing}"


@pytest.mark.parametrize("capture", CAPTURES)
def test_response_has_every_path_of_the_real_capture(
    capture: str, server: EmulatorServer, client: XClient
) -> None:
    path = captures_dir() / f"{capture}.json"
    assert path.is_file(), f"real capture {path} is missing (set XGET_CAPTURES_DIR)"
    real = key_paths(json.loads(path.read_text()))
    sc = server.world.showcase.summary()
    _, operation, variables = next(c for c in _cases(sc) if c[0] == capture)
    ours = key_paths(client.gql(operation, **variables))
    missing = sorted(real - ours)
    assert not missing, f"{operation}: {len(missing)} paths of {capture}.json missing:\n" + "\n".join(missing)


# Per-type comparison for ordinary pages. Objects with a `__typename` start a new relative path,
# so a key is "known" if X sends it on that type anywhere in the captures. Normalisations:
#  * the unnamed `tweet` inside TweetWithVisibilityResults is a Tweet;
#  * translation and note entity sets use the same entity schema as `legacy.entities`.
_ENTITY_SETS = (
    "grok_translated_post_with_availability.data.entities.",
    "note_tweet.note_tweet_results.result.entity_set.",
)


def typed_paths(obj: Any, typename: str = "ROOT", rel: str = "", out: set[str] | None = None) -> set[str]:
    out = set() if out is None else out
    if isinstance(obj, dict):
        name = obj.get("__typename")
        if name is None and rel == "tweet" and typename == "TweetWithVisibilityResults":
            name = "Tweet"
        if name is not None and rel:
            out.add(f"{typename}:{rel}->{name}")
            typename, rel = name, ""
        for key, value in obj.items():
            path = f"{rel}.{key}" if rel else key
            for entity_set in _ENTITY_SETS:
                if path.startswith(entity_set):
                    path = "legacy.entities." + path[len(entity_set) :]
            out.add(f"{typename}:{path}")
            typed_paths(value, typename, path, out)
    elif isinstance(obj, list):
        for value in obj:
            typed_paths(value, typename, rel + "[]", out)
    return out


def test_ordinary_pages_only_use_keys_x_sends(server: EmulatorServer, client: XClient) -> None:
    """Guards against invented keys: random pages use only (type, key) pairs seen in real captures."""
    folder = captures_dir()
    known: set[str] = set()
    for name in CAPTURES:
        known |= {
            p.split(":", 1)[1] if p.startswith("ROOT:") else p
            for p in typed_paths(json.loads((folder / f"{name}.json").read_text()))
        }
    # The 2026 captures show a TweetWithVisibilityResults only inside a quote; the older
    # manual_tweet_with_video_2.json capture shows X also sends it as a timeline item's result.
    known.add("TimelineTweet:tweet_results.result->TweetWithVisibilityResults")
    world = server.world
    watch = world.watchlist_suggestions()
    busy_user = world.user_by_screen_name(watch["users"][0])
    busiest = max(world.tweets, key=lambda t: len(t.replies))
    bodies = [
        client.gql("SearchTimeline", rawQuery="python OR climate", count=100, product="Latest"),
        client.gql(
            "UserTweetsAndReplies",
            userId=str(busy_user.id),
            count=100,
            withQuickPromoteEligibilityTweetFields=True,
        ),
        client.gql("ListLatestTweetsTimeline", listId=watch["lists"][0], count=100),
        client.gql("TweetDetail", focalTweetId=str(busiest.id), withBirdwatchNotes=True),
        client.gql("Followers", userId=str(busy_user.id), count=100),
    ]
    ours: set[str] = set()
    for body in bodies:
        ours |= {p.split(":", 1)[1] if p.startswith("ROOT:") else p for p in typed_paths(body)}
    unknown = sorted(ours - known)
    assert not unknown, "keys no real capture has on that type:\n" + "\n".join(unknown)
