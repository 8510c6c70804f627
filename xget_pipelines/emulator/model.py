"""Plain data records of the synthetic X world, plus the id and date helpers X uses.

The records hold only facts (who wrote what, when, with which media); everything that X
derives per request (counts at fetch time, JSON shapes) lives in `engagement.py` and
`render.py`. Records reference each other directly (a reply holds its parent `Tweet`) so
rendering never needs a lookup table.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field

TWITTER_EPOCH_MS = 1288834974657
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SENTIMENTS = ("positive", "negative", "neutral")

# Tweet.flags bits: rare states X renders differently.
EDITED = 1  # edit_control_initial + previous_counts
LIMITED = 2  # conversation control; wrapped in TweetWithVisibilityResults
DELETED = 4  # rendered as a TweetTombstone where it appears in a timeline
WITHHELD = 8  # rendered as a TweetTombstone (withheld) where it appears
ARTICLE = 16  # carries an X article preview
BIRDWATCH = 32  # has community notes
NOT_SHARED = 64  # a community post its author did not also share with followers (`legacy.scopes`)


def snowflake(ms: int, seq: int) -> int:
    """X's id layout: milliseconds since the Twitter epoch, shifted past 22 sequence bits."""
    return ((ms - TWITTER_EPOCH_MS) << 22) | (seq & 0x3FFFFF)


def snowflake_ms(sid: int) -> int:
    """Creation time (epoch ms) encoded in a snowflake id."""
    return (sid >> 22) + TWITTER_EPOCH_MS


def x_date(ms: int) -> str:
    """X's `created_at` format ("Wed Jul 08 21:59:10 +0000 2026"), locale independent."""
    t = time.gmtime(ms // 1000)
    return (
        f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000 {t.tm_year}"
    )


def short_code(*parts: object, length: int = 10) -> str:
    """Deterministic base62-ish token, used for t.co slugs and media file names."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).digest()
    text = base64.b64encode(digest, altchars=b"Ab").decode()
    return text[:length]


def tco(*parts: object) -> str:
    return "https://t.co/" + short_code("tco", *parts)


@dataclass(slots=True, eq=False, repr=False)
class User:
    """A synthetic account. `idx` is its position in `World.users`."""

    idx: int
    id: int
    screen_name: str
    name: str
    bio: str
    location: str
    created_ms: int
    lang: str
    topics: tuple[str, ...]
    activity: float  # relative posting rate
    popularity: float  # relative attractiveness in the follow graph
    blue: bool = False
    verified_type: str | None = None  # "Business" / "Government"
    protected: bool = False
    unavailable: bool = False  # suspended: rendered as UserUnavailable
    professional: str | None = None  # professional category name
    affiliate: bool = False  # affiliates_highlighted_label badge
    tipjar: bool = False
    website: str | None = None  # expanded url
    bio_url: str | None = None  # expanded url mentioned in the bio
    image_shape: str = "Circle"
    withheld_in: tuple[str, ...] = ()  # country codes the profile is withheld in
    pinned: Tweet | None = None
    favourites: int = 0
    listed: int = 0
    followers: list[int] = field(default_factory=list)  # user idx, oldest first
    following: list[int] = field(default_factory=list)
    tweets: list[Tweet] = field(default_factory=list)  # authored, ascending id
    media_count: int = 0
    extra_statuses: int = 0  # statuses X knows about that predate the world
    automated_by: User | None = None  # a bot account's "Automated by @owner" label
    subscriptions: list[int] = field(default_factory=list)  # creators it pays to subscribe to (idx)

    def __repr__(self) -> str:  # the default would recurse through the follow graph
        return f"User(@{self.screen_name}, id={self.id})"

    @property
    def avatar_url(self) -> str:
        return f"https://pbs.twimg.com/profile_images/{self.id}/{short_code('av', self.id)}_normal.jpg"

    @property
    def banner_url(self) -> str:
        return f"https://pbs.twimg.com/profile_banners/{self.id}/{self.created_ms // 1000}"


@dataclass(slots=True, eq=False)
class Media:
    kind: str  # "photo" | "video" | "animated_gif"
    id: int
    width: int
    height: int
    duration_ms: int = 0
    alt: str | None = None
    faces: int = 0
    tagged: tuple[User, ...] = ()
    source: Tweet | None = None  # media re-shared from another tweet
    call_to_action: str | None = None  # "visit site" url on promoted-style videos

    @property
    def key(self) -> str:
        prefix = {"photo": "3", "video": "7", "animated_gif": "16"}[self.kind]
        return f"{prefix}_{self.id}"


@dataclass(slots=True, eq=False)
class Place:
    id: str
    name: str
    full_name: str
    country: str
    country_code: str
    lon: float
    lat: float


@dataclass(slots=True, eq=False, repr=False)
class Tweet:
    """One post. Retweets are their own Tweet with `retweeted` set, as on X."""

    id: int
    ms: int
    author: User
    text: str  # full text (note tweets may exceed 280 characters)
    lang: str
    sentiment: str
    hashtags: tuple[str, ...] = ()  # without "#", in text order
    mentions: tuple[User, ...] = ()
    urls: tuple[str, ...] = ()  # expanded urls, in text order
    media: tuple[Media, ...] = ()
    reply_to: Tweet | None = None
    quoted: Tweet | None = None
    retweeted: Tweet | None = None
    conversation_id: int = 0
    card: str | None = None  # card name for the first url
    place: Place | None = None
    flags: int = 0
    translation: str | None = None  # English text for non-English tweets
    topic: str | None = None
    burst: int = -1  # index into World.bursts
    pop: float = 1.0  # final like count the tweet converges to
    pos: int = -1  # position in World.tweets
    replies: list[Tweet] = field(default_factory=list)
    retweeters: list[User] = field(default_factory=list)  # oldest first
    retweeted_at: list[int] = field(default_factory=list)  # when each retweeter retweeted (ms)
    n_quotes: int = 0
    source: int = 0  # index into vocab.SOURCES
    community: Community | None = None  # the community it was posted to

    def __repr__(self) -> str:  # the default would recurse through replies and quotes
        return f"Tweet(id={self.id}, @{self.author.screen_name}: {self.text[:40]!r})"

    @property
    def is_reply(self) -> bool:
        return self.reply_to is not None

    @property
    def hidden(self) -> bool:
        """Deleted or withheld: never a search hit, a tombstone elsewhere."""
        return bool(self.flags & (DELETED | WITHHELD))


@dataclass(slots=True, eq=False)
class Burst:
    """Ground truth of an injected trend burst."""

    term: str
    start_ms: int
    end_ms: int
    tweets: int
    sentiment_bias: str


@dataclass(slots=True, eq=False)
class XList:
    id: int
    name: str
    owner: User
    members: list[User]
    topic: str


@dataclass(slots=True, eq=False)
class CommunityRule:
    id: int
    name: str
    description: str | None = None


@dataclass(slots=True, eq=False, repr=False)
class Community:
    """An X community: its members in the order X lists them (the admin, the moderators, then the
    other members, newest first), their roles, and the posts made to it (ascending id)."""

    id: int
    name: str
    description: str
    topic: str  # primary_community_topic.topic_name
    created_ms: int
    rules: tuple[CommunityRule, ...]
    members: list[User]
    moderators: int  # members[0] is the admin, members[1:moderators] the moderators
    tweets: list[Tweet] = field(default_factory=list)
    join_policy: str = "Open"
    nsfw: bool = False

    def __repr__(self) -> str:
        return f"Community({self.name!r}, id={self.id}, members={len(self.members)})"

    @property
    def creator(self) -> User:
        return self.members[0]

    def role(self, position: int) -> str:
        """X's `community_role` of the member at `position` in `members`."""
        return "Admin" if position == 0 else "Moderator" if position < self.moderators else "Member"


@dataclass(slots=True, frozen=True)
class About:
    """What X's "About this account" shows: the country (or region) the account is based in and
    whether X calls that accurate, where it signed up from, and its handles over time."""

    based_in: str
    location_accurate: bool
    created_country_accurate: bool
    source: str  # "Web", "<country> App Store", "Google Play"
    handles: tuple[tuple[str, int], ...]  # (handle, in use since ms), oldest first; the last is current
    identity_verified: bool = False  # X checked a government id (verification_info.is_identity_verified)

    @property
    def username_changes(self) -> int:
        return len(self.handles) - 1

    @property
    def last_changed_ms(self) -> int | None:
        return self.handles[-1][1] if len(self.handles) > 1 else None


def retweet_of(tid: int, ms: int, author: User, target: Tweet, source: int = 0) -> Tweet:
    """A retweet of ``target`` by ``author``: X's truncated "RT @name: ..." text, the original linked."""
    target.retweeters.append(author)
    target.retweeted_at.append(ms)
    text = f"RT @{target.author.screen_name}: {target.text}"
    text = text if len(text) <= 140 else text[:139] + "…"
    return Tweet(
        id=tid,
        ms=ms,
        author=author,
        text=text,
        lang=target.lang,
        sentiment=target.sentiment,
        mentions=(target.author,),
        retweeted=target,
        conversation_id=tid,
        topic=target.topic,
        burst=target.burst,
        pop=0.0,
        source=source,
    )
