"""twscrape's own parsers read every emulator response and recover what the world holds."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from twscrape.models import Tweet as TwTweet
from twscrape.models import User as TwUser
from twscrape.models import parse_trends, parse_tweet, parse_tweets, parse_user, parse_users

from xget_pipelines.emulator import EmulatorServer, World
from xget_pipelines.emulator.model import Tweet, User
from xget_pipelines.emulator.render_user import bio_text

from .conftest import XClient, entries, ordinary_tweets, ordinary_users, tweet_ids


def check_user(parsed: TwUser, u: User) -> None:
    assert (parsed.id, parsed.username, parsed.displayname) == (u.id, u.screen_name, u.name)
    assert parsed.followersCount == len(u.followers) and parsed.friendsCount == len(u.following)
    assert parsed.statusesCount == len(u.tweets) + u.extra_statuses and parsed.mediaCount == u.media_count
    assert parsed.favouritesCount == u.favourites
    assert parsed.rawDescription == bio_text(u) and parsed.location == u.location
    assert parsed.created == datetime.fromtimestamp(u.created_ms // 1000, tz=UTC)
    assert (parsed.protected, parsed.blue, parsed.verified) == (u.protected, u.blue, False)
    assert parsed.profileImageUrl == u.avatar_url
    assert parsed.pinnedIds == ([u.pinned.id] if u.pinned else [])


def check_tweet(parsed: TwTweet, t: Tweet, top_level: bool = True) -> None:
    assert parsed.id == t.id and parsed.user.id == t.author.id
    assert parsed.date == datetime.fromtimestamp(t.ms // 1000, tz=UTC)
    assert parsed.lang == t.lang and parsed.conversationId == t.conversation_id
    if t.retweeted is not None:
        assert parsed.retweetedTweet is not None and parsed.retweetedTweet.id == t.retweeted.id
        return
    note = len(t.text) > 280  # long post: `legacy` holds a truncated text and only its entities
    assert parsed.rawContent == t.text if note else parsed.rawContent.startswith(t.text)
    shown = t.text[:275] if note else t.text
    assert parsed.hashtags == [h for h in t.hashtags if f"#{h}" in shown]
    assert [m.id for m in parsed.mentionedUsers] == [m.id for m in t.mentions if f"@{m.screen_name}" in shown]
    assert {link.url for link in parsed.links} == set(t.urls)
    assert parsed.inReplyToTweetId == (t.reply_to.id if t.reply_to else None)
    if parsed.quotedTweet is not None or top_level:  # a quote inside a quote is only referenced, as on X
        assert (parsed.quotedTweet.id if parsed.quotedTweet else None) == (
            t.quoted.id if t.quoted and not t.quoted.hidden else None
        )
    kinds = Counter(m.kind for m in t.media)
    assert (len(parsed.media.photos), len(parsed.media.videos), len(parsed.media.animated)) == (
        kinds["photo"],
        kinds["video"],
        kinds["animated_gif"],
    )
    for video in parsed.media.videos:
        assert len(video.variants) == 3 and all(
            v.bitrate > 0 and v.contentType == "video/mp4" for v in video.variants
        )
    assert parsed.viewCount and parsed.viewCount > 0 and parsed.likeCount >= 0
    assert (parsed.card is not None) == (t.card is not None)
    assert (parsed.place.name if parsed.place else None) == (t.place.name if t.place else None)


def check_page(body: dict, world: World) -> dict[int, TwTweet]:
    parsed = {t.id: t for t in parse_tweets(body)}
    page = tweet_ids(body)
    # twscrape drops a post that is also retweeted on the same page (it stays as retweetedTweet)
    retweeted = {t.retweetedTweet.id for t in parsed.values() if t.retweetedTweet is not None}
    assert page and set(page) - retweeted <= set(parsed)
    for tid, tweet in parsed.items():
        check_tweet(tweet, world.tweet_by_id(tid), top_level=tid in page)
    return parsed


def test_search(client: XClient, world: World) -> None:
    check_page(client.gql("SearchTimeline", rawQuery="python OR #ai", count=60, product="Latest"), world)
    check_page(client.gql("SearchTimeline", rawQuery="#xgetshowcase", count=40, product="Latest"), world)


@pytest.mark.parametrize("operation", ["UserByScreenName", "UserByRestId"])
def test_user_lookups(operation: str, client: XClient, world: World) -> None:
    for user in [world.users[0], world.users[7], world.showcase.user, world.showcase.friend]:
        variables = (
            {"screen_name": user.screen_name} if operation == "UserByScreenName" else {"userId": str(user.id)}
        )
        parsed = parse_user(client.gql(operation, **variables))
        assert parsed is not None
        check_user(parsed, user)


@pytest.mark.parametrize("operation", ["UserTweets", "UserTweetsAndReplies"])
def test_profile_timelines(operation: str, client: XClient, world: World) -> None:
    busy = world.user_by_screen_name(world.watchlist_suggestions()["users"][0])
    body = client.gql(operation, userId=str(busy.id), count=40)
    parsed = check_page(body, world)
    own = [
        t
        for t in busy.tweets
        if not t.hidden
        and (operation == "UserTweetsAndReplies" or t.reply_to is None or t.reply_to.author is busy)
    ]
    add = next(
        i
        for i in body["data"]["user"]["result"]["timeline"]["timeline"]["instructions"]
        if i["type"] == "TimelineAddEntries"
    )
    newest_first = []  # one id per entry: the post itself, or the last (newest) post of a conversation
    heads = set()  # posts shown as the head of a conversation module are not also shown on their own
    for e in add["entries"]:
        if e["entryId"].startswith(("tweet-", "profile-conversation-")):
            ids = tweet_ids({"instructions": [{"entries": [e]}]})
            newest_first.append(ids[-1])
            heads |= set(ids[:-1])
    assert newest_first == [i for i in sorted((t.id for t in own), reverse=True)[:40] if i not in heads]
    assert set(parsed) >= set(newest_first)


@pytest.mark.parametrize("operation", ["Followers", "Following"])
def test_follow_lists(operation: str, client: XClient, world: World) -> None:
    user = max(ordinary_users(world), key=lambda u: len(u.followers))
    body = client.gql(operation, userId=str(user.id), count=50)
    idxs = user.followers if operation == "Followers" else user.following
    expected = [world.users[i] for i in reversed(idxs)][:50]
    parsed = {u.id: u for u in parse_users(body)}
    assert set(parsed) == {u.id for u in expected if not u.unavailable}
    for u in expected:
        if not u.unavailable:
            check_user(parsed[u.id], u)


def test_tweet_detail(client: XClient, world: World) -> None:
    focal = max((t for t in ordinary_tweets(world) if not t.hidden), key=lambda t: len(t.replies))
    assert len(focal.replies) > 20  # more than one page by default
    body = client.gql("TweetDetail", focalTweetId=str(focal.id), count=100)
    parsed = parse_tweet(body, focal.id)
    assert parsed is not None
    check_tweet(parsed, focal)
    replies = {t.id for t in parse_tweets(body) if t.inReplyToTweetId == focal.id}
    assert replies == {r.id for r in focal.replies if not r.hidden}


def test_retweeters(client: XClient, world: World) -> None:
    tweet = max(world.tweets, key=lambda t: len(t.retweeters))
    body = client.gql("Retweeters", tweetId=str(tweet.id), count=100)
    assert {u.id for u in parse_users(body)} == {u.id for u in tweet.retweeters if not u.unavailable}


def test_list_timeline(client: XClient, world: World) -> None:
    xlist = world.lists[0]
    body = client.gql("ListLatestTweetsTimeline", listId=str(xlist.id), count=30)
    parsed = check_page(body, world)
    members = {u.id for u in xlist.members}
    assert all(world.tweet_by_id(i).author.id in members for i in tweet_ids(body) if i in parsed)


def test_trends(client: XClient, world: World) -> None:
    body = client.gql("GenericTimelineById", timelineId="VGltZWxpbmU6DAC2CwABAAAACHRyZW5kaW5nAAA", count=10)
    trends = list(parse_trends(body))
    end = world.cfg.end_ms
    counts = Counter(
        tag
        for t in world.tweets
        if end - 86_400_000 <= t.ms < end and t.retweeted is None and not t.hidden and not t.author.protected
        for tag in t.hashtags
    )
    expected = [f"#{tag}" for tag, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]
    assert [t.name for t in trends] == expected
    assert all(t.trend_url.url.startswith("twitter://search/") for t in trends)
    assert entries(body)[0]["entryId"].startswith("frame-")


def test_showcase_parses(client: XClient, server: EmulatorServer, world: World) -> None:
    sc = server.world.showcase.summary()
    body = client.gql("UserTweets", userId=sc["user_id"], count=40)
    parsed = check_page(body, world)
    ks = parsed[int(sc["tweets"]["A0"])]
    assert ks.card is not None and ks.place is not None and ks.editControl
    assert len(ks.media.photos) == len(ks.media.videos) == len(ks.media.animated) == 1
