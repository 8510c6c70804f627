"""XGet's parser against twscrape 0.20.1's on every real X capture.

For each ``*.json`` body in the captures directory (``XGET_CAPTURES_DIR``, default
``<repo>/../shared/x-captures/twscrape``; missing -> FAIL, never skip) both parsers read the same
bytes: twscrape's ``parse_tweets``/``parse_users`` (given the dict) and ``parse_page``. They must agree
on which tweets and users the page holds and on what each says.

Documented differences, where XGet deliberately differs from twscrape (each checked precisely below):

1. Retweeted originals: twscrape drops them from ``parse_tweets`` (it nests them as
   ``retweetedTweet``); XGet keeps them as rows with ``via="retweeted"``. Their ids must be exactly
   twscrape's ``retweetedTweet`` ids and their fields must equal those nested objects.
2. Hashtags and mentions of long tweets (``note_tweet``): twscrape reads ``legacy.entities``, which
   only covers the first 280 characters although its ``rawContent`` is the whole note text; XGet reads
   the note's ``entity_set``, which covers the text it stores. For those tweets XGet's set must contain
   twscrape's and may add tags from the rest of the text (``raw_community_tweets``: #LGM,
   #MetsTwitter; ``raw_search``: @Cybertruck). Elsewhere the sets are equal.
3. Repeats: twscrape keeps a hashtag, mention or link once per occurrence (legacy + note links of a
   long tweet repeat); XGet keeps one row per distinct value per tweet, so sets are compared.
4. Quoted ids: twscrape only sets ``quotedTweet`` when the quoted object is in the body; XGet keeps
   ``quoted_tweet_id`` whenever X names one (``quoted_status_id_str``). Where twscrape has a quoted
   tweet the ids must match; where it has none, XGet's id must point at a tweet absent from the page.
5. Users without counts (community member/moderator slices, ``AboutAccountQuery``): twscrape fills
   missing counts with 0, XGet leaves them null so a partial observation never overwrites real counts.
6. ``raw_verified_followers``: its 21st ``User`` object sits inside another user's affiliate label
   (``affiliates_highlighted_label...mention_results``) with only ``rest_id`` and ``screen_name``:
   twscrape fails on its missing ``name`` and drops it; XGet never reads label mentions (they are not
   profile observations). Both therefore report the same 20 users.
7. ``manual_tweet_with_video_2`` and ``raw_list_timeline``: a ``conversation_owner_results`` user
   without ``rest_id`` makes twscrape log a parse error and drop it; XGet does not read it either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("TWS_TELEMETRY", "0")
from twscrape.models import parse_tweets, parse_users  # noqa: E402

from xget_pipelines.core.x.parse import parse_page  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CAPTURES = Path(os.environ.get("XGET_CAPTURES_DIR", REPO.parent / "shared" / "x-captures" / "twscrape"))
# Bodies whose operation the body alone cannot name (see test_parse.py); everything else is detected.
OPERATION_OF = {
    "_issue_42.json": "TweetDetail",  # a single timeline entry of a TweetDetail, not a whole response
    "raw_user_by_id.json": "UserByRestId",
    "raw_user_by_login.json": "UserByScreenName",
}


def capture_files() -> list[Path]:
    files = sorted(p for p in CAPTURES.glob("*.json") if p.name != "__meta.json")
    return files


def test_captures_present() -> None:
    assert CAPTURES.is_dir(), f"captures directory {CAPTURES} is missing (set XGET_CAPTURES_DIR)"
    assert len(capture_files()) >= 33, f"expected the 33 twscrape captures in {CAPTURES}"


def _files() -> list[str]:
    # Parametrise by name so a missing directory fails in test_captures_present and in each test.
    return [p.name for p in capture_files()] or ["<no captures found>"]


def _twscrape(doc: dict) -> tuple[list, list]:
    return list(parse_tweets(doc)), list(parse_users(doc))


def _load(name: str):
    path = CAPTURES / name
    assert path.is_file(), f"capture {path} is missing"
    body = path.read_bytes()
    page = parse_page(body, OPERATION_OF.get(name))
    tws, twu = _twscrape(json.loads(body))
    return body, page, tws, twu


def _check_tweet(ours: dict, theirs, note_ids: set[int]) -> None:
    tid = theirs.id
    assert ours["text"] == theirs.rawContent, tid
    assert ours["like_count"] == theirs.likeCount, tid
    assert ours["retweet_count"] == theirs.retweetCount, tid
    assert ours["reply_count"] == theirs.replyCount, tid
    assert ours["quote_count"] == theirs.quoteCount, tid
    assert ours["bookmark_count"] == theirs.bookmarkedCount, tid
    assert ours["view_count"] == theirs.viewCount, tid
    assert ours["author_id"] == theirs.user.id, tid
    assert ours["created_at"] == theirs.date, tid
    assert ours["lang"] == theirs.lang, tid
    assert ours["conversation_id"] == theirs.conversationId, tid
    assert ours["reply_to_tweet_id"] == theirs.inReplyToTweetId, tid
    assert ours["possibly_sensitive"] == theirs.possibly_sensitive, tid
    assert ours["source_label"] == theirs.sourceLabel, tid
    assert ours["retweeted_tweet_id"] == (theirs.retweetedTweet.id if theirs.retweetedTweet else None), tid
    assert ours["is_retweet"] == (theirs.retweetedTweet is not None), tid
    assert ours["has_media"] == bool(theirs.media.photos or theirs.media.videos or theirs.media.animated), tid


@pytest.mark.parametrize("name", _files())
def test_tweets_match_twscrape(name: str) -> None:
    body, page, tws, _ = _load(name)
    rows = {r["tweet_id"]: r for r in page.tweets.to_pylist()}
    assert len(rows) == page.tweets.num_rows, "tweet ids must be unique within a page"
    emitted = {tid for tid, r in rows.items() if r["via"] in ("timeline", "quoted")}
    retweeted = {tid for tid, r in rows.items() if r["via"] == "retweeted"}
    assert emitted == {t.id for t in tws}
    assert retweeted == {t.retweetedTweet.id for t in tws if t.retweetedTweet}  # difference 1

    theirs_all = {t.id: t for t in tws}
    theirs_all.update({t.retweetedTweet.id: t.retweetedTweet for t in tws if t.retweetedTweet})
    hashtags = _grouped(page.hashtags.to_pylist(), "tag")
    mentions = _grouped(page.mentions.to_pylist(), "username")
    links = _grouped(page.urls.to_pylist(), "expanded_url")
    doc = json.loads(body)
    note_ids = _note_tweet_ids(doc)
    for tid, theirs in theirs_all.items():
        ours = rows[tid]
        _check_tweet(ours, theirs, note_ids)
        # difference 4: quoted ids
        if theirs.quotedTweet is not None:
            assert ours["quoted_tweet_id"] == theirs.quotedTweet.id, tid
        elif ours["quoted_tweet_id"] is not None:
            assert ours["quoted_tweet_id"] not in rows, tid
        # differences 2 and 3: entity sets
        their_tags, their_mentions = set(theirs.hashtags), {m.username for m in theirs.mentionedUsers}
        if tid in note_ids:
            assert hashtags.get(tid, set()) >= their_tags, tid
            assert mentions.get(tid, set()) >= their_mentions, tid
        else:
            assert hashtags.get(tid, set()) == their_tags, tid
            assert mentions.get(tid, set()) == their_mentions, tid
        assert links.get(tid, set()) == {link.url for link in theirs.links}, tid


def _grouped(rows: list[dict], key: str) -> dict[int, set]:
    out: dict[int, set] = {}
    for r in rows:
        out.setdefault(r["tweet_id"], set()).add(r[key])
    return out


def _note_tweet_ids(doc) -> set[int]:
    found: set[int] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("note_tweet") and node.get("rest_id"):
                found.add(int(node["rest_id"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


@pytest.mark.parametrize("name", _files())
def test_users_match_twscrape(name: str) -> None:
    _, page, _, twu = _load(name)
    rows = {r["user_id"]: r for r in page.users.to_pylist()}
    assert len(rows) == page.users.num_rows, "user ids must be unique within a page"
    assert set(rows) == {u.id for u in twu}  # differences 6 and 7: both drop the same objects
    for theirs in twu:
        ours = rows[theirs.id]
        assert ours["username"] == theirs.username, theirs.id
        assert ours["display_name"] == theirs.displayname, theirs.id
        for col, attr in (("followers_count", "followersCount"), ("following_count", "friendsCount"),
                          ("tweet_count", "statusesCount")):
            value = getattr(theirs, attr)
            if ours[col] is None:  # difference 5: X sent no count, twscrape says 0
                assert value == 0, (theirs.id, col)
            else:
                assert ours[col] == value, (theirs.id, col)
