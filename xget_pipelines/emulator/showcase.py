"""A small hand-built corner of the world that uses every feature of X's response schema.

Real pages mix many kinds of posts (media with tagged faces, cards, long "note" posts,
quotes of quotes, retweets of quotes, conversation-controlled posts...). Random generation
produces all of them eventually, but the shape test needs one page that is guaranteed to
hold every kind at once, in every nesting (a quote inside a retweet, a limited post inside
a quote). These "kitchen sink" posts live under their own accounts and hashtag so they barely
touch the statistics of the rest of the world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .gen_about import handle_history
from .gen_people import follow
from .model import (
    ARTICLE,
    BIRDWATCH,
    DELETED,
    EDITED,
    LIMITED,
    NOT_SHARED,
    About,
    Community,
    CommunityRule,
    Media,
    Place,
    Tweet,
    User,
    XList,
    retweet_of,
    snowflake,
    tco,
)

SHOWCASE_TAG = "xgetshowcase"
SHOWCASE_USER = "xget_showcase"
SHOWCASE_FRIEND = "xget_showcase2"
SHOWCASE_GONE = "xget_gone"
SHOWCASE_BOT = "xget_bot"
_LISBON = Place("07d9c93a5b1c0001", "Lisbon", "Lisbon, Portugal", "Portugal", "PT", -9.14, 38.72)
# Order of the showcase posts; each needs one time slot. Family "E" is edited, family "n" is
# not: an edited post has a different `edit_control` shape, and pages need both in every nesting.
SLOTS = (
    "S0",
    "A0",
    "A1",
    "A2",
    "B",
    "C",
    "R1",
    "R2",
    "nA0",
    "nA1",
    "nA2",
    "nB",
    "nC",
    "nR1",
    "S1",
    "S2",
    "X1",
    "L",
    "D",
)
_TEXT = (
    "Muy genial ver cómo salió python hoy con el equipo de datos, y pasé la mañana con pandas y fue "
    "excelente. Nuevas notas sobre asyncio publicadas, leyendo sobre pytest esta tarde para preparar "
    "la charla de la semana que viene sobre orquestación y calidad de datos en producción"
)
_ENGLISH = (
    "Really great to see how python turned out today with the data team, and I spent the morning "
    "with pandas and it was excellent. New notes on asyncio are up, reading about pytest this "
    "afternoon to prepare next week's talk on orchestration and data quality in production"
)


@dataclass
class Showcase:
    """Handles to the showcase records, for tests and the demo."""

    user: User
    friend: User
    gone: User
    bot: User
    tweets: dict[str, Tweet]
    xlist: XList
    community: Community
    tag: str = "#" + SHOWCASE_TAG

    def summary(self) -> dict:
        return {
            "user": self.user.screen_name,
            "user_id": str(self.user.id),
            "search": self.tag,
            "list_id": str(self.xlist.id),
            "community_id": str(self.community.id),
            "focal_tweet_id": str(self.tweets["nA0"].id),
            "tweets": {k: str(t.id) for k, t in self.tweets.items()},
        }


def make_users(first_idx: int, start_ms: int) -> list[User]:
    """The showcase accounts: two with every profile feature, one suspended, and a blue-verified bot
    run by the first (X labels it "Automated by @xget_showcase" where a business label would be)."""
    users = []
    for i, (handle, name) in enumerate(
        (
            (SHOWCASE_USER, "XGet Showcase"),
            (SHOWCASE_FRIEND, "Showcase Friend"),
            (SHOWCASE_GONE, "Gone Account"),
            (SHOWCASE_BOT, "Showcase Bot"),
        )
    ):
        created = start_ms - (400 + i) * 86_400_000
        users.append(
            User(
                idx=first_idx + i,
                id=snowflake(created, 0x3F0 + i),
                screen_name=handle,
                name=name,
                bio=f"Every feature at once, see https://t.co/{handle[:4]}",
                location="Lisbon",
                created_ms=created,
                lang="es",
                topics=("python",),
                activity=0.0,
                popularity=1000.0,
                blue=True,
                verified_type="Business",
                professional="Community",
                affiliate=True,
                tipjar=True,
                website=f"https://example.com/{handle}",
                bio_url=f"https://docs.example.dev/{handle}",
                image_shape="Square",
                favourites=42,
                listed=3,
                extra_statuses=100,
                unavailable=(i == 2),
                withheld_in=("DE",),
            )
        )
    bot = users[3]
    bot.affiliate, bot.automated_by, bot.verified_type = False, users[0], None
    return users


def _kitchen_sink(
    tid: int,
    ms: int,
    author: User,
    friend: User,
    source: Tweet | None,
    parent: Tweet | None = None,
    quoted: Tweet | None = None,
    flags: int = 0,
) -> Tweet:
    ids = [snowflake(ms - 5_000 - i, i) for i in range(3)]
    media = (
        Media("photo", ids[0], 1600, 900, faces=2, alt="A chart with a rising line", tagged=(friend,)),
        Media(
            "video",
            ids[1],
            1280,
            720,
            duration_ms=30_000,
            source=source,
            call_to_action="https://example.com/showcase/watch",
        ),
        Media("animated_gif", ids[2], 480, 270, alt="A cat waving"),
    )
    mentions = tuple(dict.fromkeys(((parent.author,) if parent else ()) + (friend,)))
    prefix = f"@{parent.author.screen_name} " if parent else ""
    # Entities first, so they survive the truncation of long ("note") posts in `legacy.full_text`.
    head = f"{prefix}#{SHOWCASE_TAG} #python @{friend.screen_name} {tco(tid, 0)} "
    tweet = Tweet(
        id=tid,
        ms=ms,
        author=author,
        text=head + _TEXT,
        lang="es",
        sentiment="positive",
        hashtags=(SHOWCASE_TAG, "python"),
        mentions=mentions,
        urls=(f"https://example.com/showcase/{tid % 1000}",),
        media=media,
        reply_to=parent,
        quoted=quoted,
        conversation_id=parent.conversation_id if parent else tid,
        card="summary_large_image",
        place=_LISBON,
        flags=ARTICLE | BIRDWATCH | flags,
        translation=head + _ENGLISH,
        topic="python",
        pop=500.0,
    )
    if parent is not None:
        parent.replies.append(tweet)
    if quoted is not None:
        quoted.n_quotes += 1
    return tweet


def _retweet(tid: int, ms: int, author: User, target: Tweet) -> Tweet:
    return retweet_of(tid, ms, author, target)


def make_tweets(users: list[User], sc_users: list[User], slots: list[tuple[int, int]]) -> dict[str, Tweet]:
    """Builds the showcase posts in the given (id, ms) slots, in `SLOTS` order."""
    me, friend, gone, bot = sc_users
    slot = dict(zip(SLOTS, slots, strict=False))
    t: dict[str, Tweet] = {}
    sid, sms = slot["S0"]
    t["S0"] = Tweet(
        id=sid,
        ms=sms,
        author=friend,
        text=f"Clip for the showcase #{SHOWCASE_TAG} {tco(sid, 'm')}",
        lang="en",
        sentiment="neutral",
        hashtags=(SHOWCASE_TAG,),
        conversation_id=sid,
        media=(Media("video", snowflake(sms - 9_000, 7), 1280, 720, duration_ms=12_000),),
        topic="python",
        pop=50.0,
    )
    src = t["S0"]
    friend.pinned = src
    ks, e = _kitchen_sink, EDITED
    t["A0"] = ks(*slot["A0"], me, friend, src, flags=e)
    t["A1"] = ks(*slot["A1"], me, friend, src, parent=t["A0"], quoted=t["A0"], flags=e)
    t["A2"] = ks(*slot["A2"], me, friend, src, parent=t["A1"], quoted=t["A1"], flags=e)
    t["B"] = ks(*slot["B"], me, friend, src, quoted=t["A1"], flags=e)
    t["C"] = ks(*slot["C"], me, friend, src, quoted=t["B"], flags=e)
    t["R1"] = _retweet(*slot["R1"], me, t["C"])
    t["R2"] = _retweet(*slot["R2"], me, t["A1"])
    t["nA0"] = ks(*slot["nA0"], me, friend, src)
    t["nA1"] = ks(*slot["nA1"], me, friend, src, parent=t["nA0"], quoted=t["nA0"])
    t["nA2"] = ks(*slot["nA2"], me, friend, src, parent=t["nA1"], quoted=t["nA1"])
    t["nB"] = ks(*slot["nB"], me, friend, src, quoted=t["nA1"])
    t["nC"] = ks(*slot["nC"], me, friend, src, quoted=t["nB"])
    t["nR1"] = _retweet(*slot["nR1"], me, t["nC"])
    t["S1"] = ks(*slot["S1"], friend, me, src, parent=t["nA0"])
    t["S2"] = _retweet(*slot["S2"], friend, t["nA0"])
    t["X1"] = ks(*slot["X1"], friend, me, src, parent=t["nA0"], flags=DELETED)
    t["L"] = ks(*slot["L"], me, friend, src, flags=LIMITED)
    t["D"] = ks(*slot["D"], me, friend, src, quoted=t["L"])
    t["nA0"].retweeters.append(gone)
    t["nA0"].retweeted_at.append(t["X1"].ms)
    me.pinned = t["nC"]
    for tweet in t.values():
        tweet.author.tweets.append(tweet)
        tweet.author.media_count += bool(tweet.media)
    # Followers/following: a few random accounts, then each other (the newest edge).
    for other in users[:12]:
        if not other.unavailable:
            follow(users, other, me)
            follow(users, me, other)
    follow(users, gone, me)
    follow(users, bot, me)
    follow(users, friend, me)
    follow(users, me, friend)
    me.subscriptions = [friend.idx]
    return t


def make_community(
    users: list[User], sc_users: list[User], tweets: dict[str, Tweet], start_ms: int
) -> Community:
    """The showcase's community: xget_showcase its admin, xget_showcase2 a moderator, the bot and the
    accounts that follow xget_showcase its members; every top-level showcase post was posted to it,
    "D" without being shared with followers (``legacy.scopes``, as one post of raw_community_tweets.json)."""
    me, friend, _, bot = sc_users
    created = start_ms - 300 * 86_400_000
    community = Community(
        id=snowflake(created, 0x3FE),
        name="XGet showcase community",
        description="Every feature of a community at once #xgetshowcase",
        topic="Programming",
        created_ms=created,
        rules=(
            CommunityRule(snowflake(created + 1_000, 1), "Keep posts on topic."),
            CommunityRule(snowflake(created + 2_000, 2), "Be respectful.", "No insults or harassment."),
        ),
        members=[me, friend, bot, *(u for u in users[:12] if not u.unavailable)],
        moderators=2,
    )
    for key in ("S0", "A0", "B", "C", "nA0", "nB", "nC", "L", "D"):
        tweets[key].community = community
        community.tweets.append(tweets[key])
    tweets["D"].flags |= NOT_SHARED
    community.tweets.sort(key=lambda t: t.id)
    return community


def make_about(sc_users: list[User], end_ms: int) -> dict[int, About]:
    """About-account facts of the showcase: xget_showcase changed its handle twice (every key of
    ``username_changes``) and X doubts where it is."""
    me, friend, _, bot = sc_users
    rng = random.Random("showcase-about")
    return {
        me.idx: About(
            "Portugal", False, True, "Portugal App Store", handle_history(rng, me, end_ms, 2), True
        ),
        friend.idx: About("Europe", True, True, "Web", handle_history(rng, friend, end_ms, 0)),
        bot.idx: About("Portugal", True, False, "Google Play", handle_history(rng, bot, end_ms, 1)),
    }


def make_list(sc_users: list[User], start_ms: int) -> XList:
    return XList(
        id=snowflake(start_ms - 86_400_000, 0x3FF),
        name="XGet showcase",
        owner=sc_users[0],
        members=sc_users[:2],
        topic="python",
    )
