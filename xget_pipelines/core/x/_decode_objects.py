"""Typed msgspec views of the objects inside X timelines: tweets, users and their entities.

Split from ``_decode`` (timelines and roots) only to keep modules short; the design notes are there.
Every field is optional and only what XGet reads is declared: msgspec skips the rest unseen.
"""

from __future__ import annotations

import msgspec
from msgspec import field


class View(msgspec.Struct, gc=False):
    """Base: decoded pages are trees without cycles, so no GC tracking is needed."""


# ---- entities -------------------------------------------------------------------------------------


class UrlEntity(View):
    url: str | None = None
    expanded_url: str | None = None
    display_url: str | None = None


class Hashtag(View):
    text: str | None = None


class Mention(View):
    id_str: str | None = None
    screen_name: str | None = None


class Entities(View):
    hashtags: list[Hashtag] = []
    user_mentions: list[Mention] = []
    urls: list[UrlEntity] = []


class VideoVariant(View):
    bitrate: int | None = None
    content_type: str | None = None
    url: str | None = None


class VideoInfo(View):
    duration_millis: int | None = None
    variants: list[VideoVariant] = []


class OriginalInfo(View):
    width: int | None = None
    height: int | None = None


class SourceUser(View):
    user_results: UserResults | None = None


class AdditionalMediaInfo(View):
    source_user: SourceUser | None = None


class MediaEntity(View):
    media_key: str | None = None
    type: str | None = None
    media_url_https: str | None = None
    expanded_url: str | None = None
    original_info: OriginalInfo | None = None
    video_info: VideoInfo | None = None
    ext_alt_text: str | None = None
    additional_media_info: AdditionalMediaInfo | None = None


class ExtendedEntities(View):
    media: list[MediaEntity] = []


# ---- tweets ---------------------------------------------------------------------------------------


class NoteTweetResult(View):
    text: str | None = None
    entity_set: Entities | None = None


class NoteTweetResults(View):
    result: NoteTweetResult | None = None


class NoteTweet(View):
    note_tweet_results: NoteTweetResults | None = None


class Views(View):
    count: str | int | None = None


class CardLegacy(View):
    name: str | None = None
    user_refs_results: list[UserResults] = []


class Card(View):
    legacy: CardLegacy | None = None


class TweetResults(View):
    result: TweetResult | None = None


class TweetFields(View):
    """The tweet fields of ``legacy``; also on ``TweetResult`` for objects served with ``legacy: null``."""

    id_str: str | None = None
    created_at: str | None = None
    full_text: str | None = None
    lang: str | None = None
    user_id_str: str | None = None
    conversation_id_str: str | None = None
    in_reply_to_status_id_str: str | None = None
    in_reply_to_user_id_str: str | None = None
    quoted_status_id_str: str | None = None
    is_quote_status: bool | None = None
    retweeted_status_result: TweetResults | None = None
    favorite_count: int | None = None
    retweet_count: int | None = None
    reply_count: int | None = None
    quote_count: int | None = None
    bookmark_count: int | None = None
    possibly_sensitive: bool | None = None
    entities: Entities | None = None
    extended_entities: ExtendedEntities | None = None


class TweetCore(View):
    user_results: UserResults | None = None


class TweetResult(TweetFields):
    typename: str | None = field(default=None, name="__typename")
    rest_id: str | None = None
    legacy: TweetFields | None = None
    core: TweetCore | None = None
    note_tweet: NoteTweet | None = None
    views: Views | None = None
    source: str | None = None
    card: Card | None = None
    quoted_status_result: TweetResults | None = None
    tweet: TweetResult | None = None  # the wrapped tweet of TweetWithVisibilityResults


# ---- users ----------------------------------------------------------------------------------------


class UrlList(View):
    urls: list[UrlEntity] = []


class UserEntities(View):
    url: UrlList | None = None


class UserLegacy(View):
    screen_name: str | None = None
    name: str | None = None
    description: str | None = None
    location: str | None = None
    entities: UserEntities | None = None
    created_at: str | None = None
    followers_count: int | None = None
    friends_count: int | None = None
    statuses_count: int | None = None
    listed_count: int | None = None
    favourites_count: int | None = None
    media_count: int | None = None
    verified: bool | None = None
    verified_type: str | None = None
    protected: bool | None = None
    profile_image_url_https: str | None = None
    profile_banner_url: str | None = None


class UserCore(View):
    screen_name: str | None = None
    name: str | None = None
    created_at: str | None = None


class ImageUrl(View):
    image_url: str | None = None


class UserLocation(View):
    location: str | None = None


class Privacy(View):
    protected: bool | None = None


class Verification(View):
    verified: bool | None = None
    verified_type: str | None = None


class ProfileBio(View):
    description: str | None = None
    entities: UserEntities | None = None


class RelationshipCounts(View):
    followers: int | None = None
    following: int | None = None


class TweetCounts(View):
    tweets: int | None = None
    media_tweets: int | None = None


class ActionCounts(View):
    favorites_count: int | None = None


class UserResult(View):
    typename: str | None = field(default=None, name="__typename")
    rest_id: str | None = None
    is_blue_verified: bool | None = None
    legacy: UserLegacy | None = None
    core: UserCore | None = None
    avatar: ImageUrl | None = None
    banner: ImageUrl | None = None
    location: UserLocation | str | None = None
    privacy: Privacy | None = None
    verification: Verification | None = None
    profile_bio: ProfileBio | None = None
    relationship_counts: RelationshipCounts | None = None
    tweet_counts: TweetCounts | None = None
    action_counts: ActionCounts | None = None


class UserResults(View):
    result: UserResult | None = None
