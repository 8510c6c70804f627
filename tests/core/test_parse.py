"""``xget_pipelines.core.x.parse``: operation detection, failure policy and table contents.

Faithfulness against twscrape on every capture is ``test_parse_parity.py``; this file checks what
twscrape has no opinion on: which operation a body answers, what happens to bad bodies and bad
objects, cursors, timeline user ids, trends, media, the two user formats and the table schemas.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

from xget_pipelines.core.x import schema
from xget_pipelines.core.x.parse import (
    OPERATIONS,
    AmbiguousOperation,
    MalformedPage,
    UnknownOperation,
    detect_operation,
    parse_page,
)

REPO = Path(__file__).resolve().parents[2]
CAPTURES = Path(os.environ.get("XGET_CAPTURES_DIR", REPO.parent / "shared" / "x-captures" / "twscrape"))
# Bodies whose operation the body alone cannot name; the caller passes it (as the raw layer does).
OPERATION_OF = {
    "_issue_42.json": "TweetDetail",  # a single timeline entry of a TweetDetail, not a whole response
    "raw_user_by_id.json": "UserByRestId",
    "raw_user_by_login.json": "UserByScreenName",
}
DETECTED = {
    "raw_search.json": "SearchTimeline",
    "raw_user_about.json": "AboutAccountQuery",
    "raw_followers.json": "Followers",
    "raw_following.json": "Following",
    "raw_verified_followers.json": "BlueVerifiedFollowers",
    "raw_subscriptions.json": "UserCreatorSubscriptions",
    "raw_retweeters.json": "Retweeters",
    "raw_tweet_details.json": "TweetDetail",
    "raw_tweet_replies.json": "TweetDetail",
    "raw_tweet_thread.json": "TweetDetail",
    "raw_user_tweets.json": "UserTweets",
    "raw_user_tweets_and_replies.json": "UserTweetsAndReplies",
    "raw_user_media.json": "UserMedia",
    "raw_list_timeline.json": "ListLatestTweetsTimeline",
    "raw_list_members.json": "ListMembers",
    "raw_trends.json": "GenericTimelineById",
    "raw_community_info.json": "CommunityQuery",
    "raw_community_members.json": "membersSliceTimeline_Query",
    "raw_community_moderators.json": "moderatorsSliceTimeline_Query",
    "raw_community_tweets.json": "CommunityTweetsTimeline",
}


def capture_files() -> list[Path]:
    assert CAPTURES.is_dir(), f"captures directory {CAPTURES} is missing (set XGET_CAPTURES_DIR)"
    return sorted(p for p in CAPTURES.glob("*.json") if p.name != "__meta.json")


def body(name: str) -> bytes:
    path = CAPTURES / name
    assert path.is_file(), f"capture {path} is missing"
    return path.read_bytes()


def doc(name: str) -> dict:
    return json.loads(body(name))


def encode(obj: dict) -> bytes:
    return json.dumps(obj).encode()


# ---- detection --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in CAPTURES.glob("*.json") if p.name != "__meta.json") or ["<no captures found>"],
)
def test_detect_operation_on_every_capture(name: str) -> None:
    raw = body(name)
    if name in DETECTED:
        assert detect_operation(raw) == DETECTED[name]
    elif name in ("raw_user_by_id.json", "raw_user_by_login.json"):
        # UserByScreenName and UserByRestId return the very same object: the body cannot tell.
        with pytest.raises(AmbiguousOperation) as info:
            detect_operation(raw)
        assert set(info.value.candidates) == {"UserByScreenName", "UserByRestId"}
        assert OPERATION_OF[name] in info.value.candidates
    elif name == "_issue_42.json":
        with pytest.raises(UnknownOperation, match="single timeline entry"):
            detect_operation(raw)
    else:  # the older _issue_*, card_* and manual_* captures are all TweetDetail
        assert name.startswith(("_issue_", "card_", "manual_")), name
        assert detect_operation(raw) == "TweetDetail"
    assert set(DETECTED.values()) <= set(OPERATIONS)


def test_every_capture_parses_without_problems() -> None:
    for path in capture_files():
        page = parse_page(path.read_bytes(), OPERATION_OF.get(path.name))
        assert page.parse_errors == [], path.name
        assert page.api_errors == [], path.name
        for name, sch in schema.ALL.items():
            assert getattr(page, name).schema == sch, (path.name, name)


def test_meta_json_is_not_a_page() -> None:
    meta = CAPTURES / "__meta.json"
    assert meta.is_file()
    assert "__meta.json" not in {p.name for p in capture_files()}
    with pytest.raises(UnknownOperation, match="no 'data'"):
        detect_operation(meta.read_bytes())
    with pytest.raises(UnknownOperation):
        parse_page(meta.read_bytes())


def test_user_timeline_hints_decide_between_shared_roots() -> None:
    d = doc("raw_followers.json")
    for ins in d["data"]["user"]["result"]["timeline"]["timeline"]["instructions"]:
        for entry in ins.get("entries", []):
            entry["content"].pop("clientEventInfo", None)
    with pytest.raises(AmbiguousOperation) as info:
        detect_operation(encode(d))
    assert "Following" in info.value.candidates and "Followers" in info.value.candidates
    page = parse_page(encode(d), "Following")  # the caller's word settles it
    assert page.operation == "Following" and len(page.timeline_user_ids) == 69


def test_unknown_operation_messages() -> None:
    with pytest.raises(UnknownOperation, match="data holds \\['somethingNew'\\]"):
        detect_operation(b'{"data": {"somethingNew": {"result": {}}}}')
    page = parse_page(body("raw_search.json"), "NoSuchOperation")  # a name it does not know, a root it does
    assert page.tweets.num_rows == 25 and "not one this parser knows" in page.parse_errors[0]
    assert issubclass(UnknownOperation, ValueError)


# ---- failure policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b'{"data": {"search_by_raw_query": {"search_timeline"',
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"null",
    ],
)
def test_malformed_bodies_raise(raw: bytes) -> None:
    with pytest.raises(MalformedPage):
        parse_page(raw, "SearchTimeline")
    assert issubclass(MalformedPage, ValueError)


def test_truncated_capture_raises_malformed() -> None:
    raw = body("raw_search.json")
    with pytest.raises(MalformedPage, match="not valid JSON"):
        parse_page(raw[: len(raw) // 2])


def _search_entries(d: dict) -> list[dict]:
    return d["data"]["search_by_raw_query"]["search_timeline"]["timeline"]["instructions"][0]["entries"]


def test_tweet_without_legacy_is_skipped_and_reported() -> None:
    d = doc("raw_search.json")
    victim = _search_entries(d)[0]["content"]["itemContent"]["tweet_results"]["result"]
    del victim["legacy"]
    page = parse_page(encode(d), "SearchTimeline")
    ids = set(page.tweets.column("tweet_id").to_pylist())
    assert int(victim["rest_id"]) not in ids
    assert len(ids) == parse_page(body("raw_search.json")).tweets.num_rows - 1
    assert len(page.parse_errors) == 1 and victim["rest_id"] in page.parse_errors[0]


def test_tweet_with_a_wrongly_typed_field_is_skipped_and_reported() -> None:
    d = doc("raw_search.json")
    victim = _search_entries(d)[3]["content"]["itemContent"]["tweet_results"]["result"]
    victim["legacy"]["favorite_count"] = "lots"
    page = parse_page(encode(d), "SearchTimeline")
    ids = set(page.tweets.column("tweet_id").to_pylist())
    assert int(victim["rest_id"]) not in ids and len(ids) == 24
    assert len(page.parse_errors) == 1
    assert victim["rest_id"] in page.parse_errors[0] and "favorite_count" in page.parse_errors[0]
    assert page.users.num_rows == 20  # the bad tweet's author is a sound object of its own: kept


def test_user_with_a_wrongly_typed_field_is_skipped_and_reported() -> None:
    d = doc("raw_followers.json")
    entries = d["data"]["user"]["result"]["timeline"]["timeline"]["instructions"][-1]["entries"]
    victim = entries[5]["content"]["itemContent"]["user_results"]["result"]
    victim["relationship_counts"]["followers"] = {"oops": 1}
    page = parse_page(encode(d))
    assert int(victim["rest_id"]) not in page.timeline_user_ids
    assert len(page.timeline_user_ids) == 68 and page.users.num_rows == 68
    assert len(page.parse_errors) == 1 and victim["rest_id"] in page.parse_errors[0]


def test_bad_date_and_bad_id_are_reported_per_object() -> None:
    d = doc("raw_search.json")
    entries = _search_entries(d)
    entries[1]["content"]["itemContent"]["tweet_results"]["result"]["legacy"]["created_at"] = "yesterday"
    entries[2]["content"]["itemContent"]["tweet_results"]["result"]["rest_id"] = "12ab"
    page = parse_page(encode(d), "SearchTimeline")
    assert page.tweets.num_rows == 23
    assert len(page.parse_errors) == 2
    assert any("created_at" in e for e in page.parse_errors)
    assert any("12ab" in e for e in page.parse_errors)


def test_structural_damage_is_reported_not_raised() -> None:
    d = doc("raw_search.json")
    cursor = _search_entries(d)[-1]
    cursor["content"]["value"] = 12345  # a cursor entry of the wrong type: that entry goes
    page = parse_page(encode(d), "SearchTimeline")
    assert page.tweets.num_rows == 25 and page.cursor_bottom is None
    assert len(page.parse_errors) == 1 and cursor["entryId"] in page.parse_errors[0]
    d["data"]["search_by_raw_query"]["search_timeline"]["timeline"]["instructions"] = {"not": "a list"}
    page = parse_page(encode(d), "SearchTimeline")
    assert page.tweets.num_rows == 0 and page.entry_count == 0
    assert len(page.parse_errors) == 1 and "instructions" in page.parse_errors[0]


def test_empty_data_is_nothing_found() -> None:
    page = parse_page(b'{"data": {}}', "UserByScreenName")
    assert page.parse_errors == [] and page.users.num_rows == 0
    with pytest.raises(UnknownOperation, match="data holds \\[\\]"):
        parse_page(b'{"data": {}}')


def test_ids_beyond_int64_are_reported() -> None:
    d = doc("raw_search.json")
    victim = _search_entries(d)[4]["content"]["itemContent"]["tweet_results"]["result"]
    victim["rest_id"] = victim["legacy"]["id_str"] = "99999999999999999999999"
    page = parse_page(encode(d), "SearchTimeline")
    assert page.tweets.num_rows == 24 and len(page.parse_errors) == 1
    assert "99999999999999999999999" in page.parse_errors[0]
    assert set(page.media.column("tweet_id").to_pylist()) <= set(page.tweets.column("tweet_id").to_pylist())


def _paths(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,)
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield path + (i,)
            yield from _paths(value, path + (i,))


def test_damaged_captures_never_raise() -> None:
    """Seeded fuzzing: values replaced or deleted anywhere; only MalformedPage may be raised."""
    rng = random.Random(20260807)
    junk = [
        None,
        0,
        -1,
        "x",
        "",
        [],
        {},
        {"__typename": "Tweet"},
        {"__typename": "User"},
        True,
        1.5,
        "99999999999999999999999",
        2**64,
        [None],
        {"result": None},
        "Xed Jul 99 99:99:99 +0000 2026",
    ]
    names = [
        "raw_search.json",
        "raw_user_tweets.json",
        "raw_followers.json",
        "raw_tweet_details.json",
        "raw_community_members.json",
        "raw_trends.json",
        "manual_tweet_with_video_2.json",
    ]
    originals = {name: doc(name) for name in names}
    paths = {name: list(_paths(d)) for name, d in originals.items()}
    for _ in range(150):
        name = rng.choice(names)
        d = json.loads(json.dumps(originals[name]))
        for _ in range(rng.randint(1, 6)):
            *parents, last = rng.choice(paths[name])
            node = d
            try:
                for key in parents:
                    node = node[key]
                if rng.random() < 0.3:
                    del node[last]
                else:
                    node[last] = rng.choice(junk)
            except (KeyError, IndexError, TypeError):
                pass
        op = "TweetDetail" if name.startswith("manual") else DETECTED[name]
        try:
            page = parse_page(encode(d), op)
        except MalformedPage:
            continue
        ids = page.tweets.column("tweet_id").to_pylist()
        assert len(ids) == len(set(ids))


def test_x_errors_are_reported_not_raised() -> None:
    raw = b'{"errors": [{"code": 88, "message": "Rate limit exceeded"}]}'
    page = parse_page(raw, "SearchTimeline")
    assert page.api_errors == [{"code": 88, "message": "Rate limit exceeded"}]
    assert page.parse_errors == [] and page.tweets.num_rows == 0 and page.entry_count == 0
    with pytest.raises(UnknownOperation, match="Rate limit exceeded"):
        parse_page(raw)
    partial = parse_page(
        b'{"data": {"user": {}}, "errors": [{"code": 50, "message": "User not found."}]}', "UserByScreenName"
    )
    assert partial.users.num_rows == 0 and partial.api_errors[0]["code"] == 50 and not partial.parse_errors


def test_wrong_operation_is_noted_but_parsed() -> None:
    page = parse_page(body("raw_search.json"), "Followers")
    assert page.tweets.num_rows == 25
    assert page.parse_errors == [
        "body has the root data.search_by_raw_query.search_timeline of SearchTimeline, not Followers"
    ]


# ---- contents ---------------------------------------------------------------------------------------


def test_empty_tables_carry_the_schema() -> None:
    page = parse_page(body("raw_followers.json"))
    for name in ("tweets", "media", "hashtags", "mentions", "urls", "trends"):
        table = getattr(page, name)
        assert table.num_rows == 0 and table.schema == schema.ALL[name]
    assert schema.TWEETS.field("created_at").type.tz == "UTC"


def test_cursors_and_counts() -> None:
    search = parse_page(body("raw_search.json"))
    entries = _search_entries(doc("raw_search.json"))
    by_type = {e["content"].get("cursorType"): e["content"].get("value") for e in entries}
    assert (search.cursor_bottom, search.cursor_top) == (by_type["Bottom"], by_type["Top"])
    assert search.entry_count == 20
    thread = parse_page(body("card_summary.json"))  # TweetDetail: ShowMoreThreads is the next page
    assert thread.cursor_bottom and thread.cursor_top is None
    members = parse_page(body("raw_community_members.json"))
    assert (
        members.cursor_bottom
        == doc("raw_community_members.json")["data"]["communityResults"]["result"]["members_slice"][
            "slice_info"
        ]["next_cursor"]
    )
    assert parse_page(body("raw_community_moderators.json")).cursor_bottom is None


def test_timeline_user_ids_are_the_timelines_own_users_in_order() -> None:
    d = doc("raw_followers.json")
    entries = d["data"]["user"]["result"]["timeline"]["timeline"]["instructions"][-1]["entries"]
    expected = [int(e["entryId"][5:]) for e in entries if e["entryId"].startswith("user-")]
    assert parse_page(body("raw_followers.json")).timeline_user_ids == expected
    retweeters = parse_page(body("raw_retweeters.json"))
    assert len(retweeters.timeline_user_ids) == 19 and retweeters.unavailable == 1
    tweets = parse_page(body("raw_user_tweets.json"))  # who-to-follow suggestions are no edges
    assert tweets.timeline_user_ids == [] and tweets.users.num_rows == 19


def test_tweets_via_visibility_and_dedup() -> None:
    page = parse_page(body("raw_user_tweets.json"))
    rows = page.tweets.to_pylist()
    assert len({r["tweet_id"] for r in rows}) == len(rows)
    retweets = [r for r in rows if r["is_retweet"]]
    assert retweets and all(r["retweeted_tweet_id"] for r in retweets)
    vias = {r["tweet_id"]: r["via"] for r in rows}
    assert all(vias[r["retweeted_tweet_id"]] in ("retweeted", "timeline", "quoted") for r in retweets)
    limited = parse_page(body("manual_tweet_with_video_2.json")).tweets.to_pylist()
    assert [(r["tweet_id"], r["visibility"]) for r in limited if r["visibility"] != "visible"] == [
        (1667220696295178240, "limited")
    ]


def test_tombstones_are_counted_not_parsed() -> None:
    d = doc("raw_search.json")
    entries = _search_entries(d)
    entries[0]["content"]["itemContent"]["tweet_results"]["result"] = {
        "__typename": "TweetTombstone",
        "tombstone": {"text": {"text": "This Post was deleted."}},
    }
    entries[1]["content"]["itemContent"]["tweet_results"] = {}
    page = parse_page(encode(d))
    assert page.unavailable == 2 and page.parse_errors == []
    assert page.tweets.filter(pc.equal(page.tweets.column("via"), "timeline")).num_rows == 18


def test_users_in_both_formats() -> None:
    new = parse_page(body("raw_user_by_login.json"), "UserByScreenName").users.to_pylist()[0]
    assert new["user_id"] == 2244994945 and new["username"] == "XDevelopers"
    assert (new["followers_count"], new["following_count"], new["media_count"]) == (695695, 762, 829)
    assert new["url"] == "https://docs.x.com/" and new["listed_count"] is None
    assert new["blue_verified"] is True and new["verified"] is False and new["protected"] is False
    old = {u["username"]: u for u in parse_page(body("manual_tweet_with_video_1.json")).users.to_pylist()}
    figen = old["TheFigen_"]
    assert figen["listed_count"] == 2846 and figen["url"] == "https://www.instagram.com/thefigen/"
    assert figen["created_at"].isoformat() == "2022-08-23T11:27:52+00:00"
    members = parse_page(body("raw_community_members.json")).users.to_pylist()
    assert members and all(m["followers_count"] is None for m in members)  # X sent no counts


def test_media_hashtags_urls_and_trends() -> None:
    media = parse_page(body("manual_tweet_with_video_1.json")).media.to_pylist()
    video = next(m for m in media if m["media_type"] == "video")
    assert video["best_bitrate"] == 2176000 and video["best_variant_url"].endswith(".mp4?tag=12")
    assert video["duration_ms"] == 5434 and (video["width"], video["height"]) == (1080, 1920)
    tags = parse_page(body("raw_community_tweets.json")).hashtags.to_pylist()
    assert all(t["tag_lower"] == t["tag"].lower() for t in tags) and {"Mets", "LGM"} <= {
        t["tag"] for t in tags
    }
    urls = parse_page(body("raw_search.json")).urls.to_pylist()
    assert urls == [
        {
            "tweet_id": 2072535265533456878,
            "url": "https://t.co/LlA3cHBiBV",
            "expanded_url": "https://teslascope.com/software/2026.20.6.1",
            "display_url": "teslascope.com/software/2026.…",
            "domain": "teslascope.com",
        }
    ]
    trends = parse_page(body("raw_trends.json")).trends.to_pylist()
    assert [t["position"] for t in trends] == [1, 2, 3, 4, 5]
    assert trends[0]["name"] == "Football Legend Kevin Keegan Dies at 75 After Cancer Battle"
    assert trends[0]["social_context"] == "1 day ago · Sports · 152K posts" and trends[0]["is_ai_trend"]


def test_str_body_and_bytes_body_agree() -> None:
    raw = body("raw_search.json")
    assert parse_page(raw.decode()).tweets.equals(parse_page(raw).tweets)


def test_compact_bodies_parse_the_same() -> None:
    """The captures are pretty-printed with escaped non-ASCII; X sends compact UTF-8. Same tables."""
    for path in capture_files():
        raw = path.read_bytes()
        compact = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()
        a, b = (parse_page(x, OPERATION_OF.get(path.name)) for x in (raw, compact))
        for name in schema.ALL:
            assert getattr(a, name).equals(getattr(b, name)), (path.name, name)
        assert (a.cursor_bottom, a.timeline_user_ids, a.entry_count) == (
            b.cursor_bottom,
            b.timeline_user_ids,
            b.entry_count,
        )


def test_core_x_never_imports_dagster() -> None:
    code = (
        "import sys; import xget_pipelines.core.x.parse, xget_pipelines.core.x.schema; "
        "sys.exit('dagster' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_gone_tweets_are_recorded_by_the_id_in_their_entry() -> None:
    """Deleted (empty result), tombstoned and unavailable tweets: no content, but their ids from the entry
    ids, so the entities can mark them; a quoted tombstone inside a live tweet marks nothing."""

    def entry(eid: str, result: dict) -> dict:
        return {
            "entryId": eid,
            "sortIndex": "1",
            "content": {
                "entryType": "TimelineTimelineItem",
                "__typename": "TimelineTimelineItem",
                "itemContent": {
                    "itemType": "TimelineTweet",
                    "__typename": "TimelineTweet",
                    "tweet_results": result,
                },
            },
        }

    tombstone = {
        "result": {
            "__typename": "TweetTombstone",
            "tombstone": {
                "__typename": "TextTombstone",
                "text": {"text": "This Post was deleted by the Post author."},
            },
        }
    }
    body = {
        "data": {
            "search_by_raw_query": {
                "search_timeline": {
                    "timeline": {
                        "instructions": [
                            {
                                "type": "TimelineAddEntries",
                                "entries": [
                                    entry("tweet-111", {}),
                                    entry("tweet-222", tombstone),
                                    entry(
                                        "conversationthread-5-tweet-333",
                                        {"result": {"__typename": "TweetUnavailable", "reason": "Suspended"}},
                                    ),
                                    entry(
                                        "cursor-ish-444", {}
                                    ),  # an entry id that names no tweet: counted, not recorded
                                ],
                            }
                        ]
                    }
                }
            }
        }
    }
    page = parse_page(json.dumps(body), "SearchTimeline")
    assert page.tombstones.to_pylist() == [
        {"tweet_id": 111, "reason": "deleted"},
        {"tweet_id": 222, "reason": "tombstone"},
        {"tweet_id": 333, "reason": "unavailable"},
    ]
    assert page.unavailable == 4 and page.parse_errors == [] and page.tweets.num_rows == 0
