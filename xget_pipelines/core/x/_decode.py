"""Typed msgspec views of X GraphQL response bodies: only the fields XGet reads, everything else skipped.

Why Structs and not dicts: msgspec skips undeclared keys while it scans the bytes, without building a
Python object for them, and most of a page (feature flags, entity indices, colour palettes, duplicated
``entities.media``) is never needed. Decoding into dicts first caps parsing at about 3x twscrape; this
reaches about 9x (ARCHITECTURE.md section 6).

Design rules:
- every field is optional with a default, so a missing key never fails a page;
- X's polymorphic objects (``__typename`` Tweet / TweetWithVisibilityResults / TweetTombstone,
  User / UserUnavailable, timeline items / modules / cursors / trends) are decoded into one Struct per
  *position* with the union of the fields seen there, instead of tagged unions, because X does not put
  the tag first and varies it freely; the walker dispatches on ``typename``;
- one set of timeline Structs serves every operation: only the root path differs (``Data``);
- ``gc=False``: a decoded page is a tree without cycles, so the Structs need no GC tracking.

A type that does not match (say a count sent as a string) fails the whole typed decode; ``parse.py``
then falls back to converting object by object, so one bad object costs only itself.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import field


class _S(msgspec.Struct, gc=False):
    """Base: settings shared by every view."""


# ---- entities -------------------------------------------------------------------------------------


class UrlEntity(_S):
    url: str | None = None
    expanded_url: str | None = None
    display_url: str | None = None


class Hashtag(_S):
    text: str | None = None


class Mention(_S):
    id_str: str | None = None
    screen_name: str | None = None


class Entities(_S):
    hashtags: list[Hashtag] = []
    user_mentions: list[Mention] = []
    urls: list[UrlEntity] = []


class VideoVariant(_S):
    bitrate: int | None = None
    content_type: str | None = None
    url: str | None = None


class VideoInfo(_S):
    duration_millis: int | None = None
    variants: list[VideoVariant] = []


class OriginalInfo(_S):
    width: int | None = None
    height: int | None = None


class SourceUser(_S):
    user_results: UserResults | None = None


class AdditionalMediaInfo(_S):
    source_user: SourceUser | None = None


class MediaEntity(_S):
    media_key: str | None = None
    type: str | None = None
    media_url_https: str | None = None
    expanded_url: str | None = None
    original_info: OriginalInfo | None = None
    video_info: VideoInfo | None = None
    ext_alt_text: str | None = None
    additional_media_info: AdditionalMediaInfo | None = None


class ExtendedEntities(_S):
    media: list[MediaEntity] = []


# ---- tweets ---------------------------------------------------------------------------------------


class NoteTweetResult(_S):
    text: str | None = None
    entity_set: Entities | None = None


class NoteTweetResults(_S):
    result: NoteTweetResult | None = None


class NoteTweet(_S):
    note_tweet_results: NoteTweetResults | None = None


class Views(_S):
    count: str | int | None = None


class CardLegacy(_S):
    name: str | None = None
    user_refs_results: list[UserResults] = []


class Card(_S):
    legacy: CardLegacy | None = None


class TweetResults(_S):
    result: TweetResult | None = None


class TweetFields(_S):
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


class TweetCore(_S):
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


class UrlList(_S):
    urls: list[UrlEntity] = []


class UserEntities(_S):
    url: UrlList | None = None


class UserLegacy(_S):
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


class UserCore(_S):
    screen_name: str | None = None
    name: str | None = None
    created_at: str | None = None


class ImageUrl(_S):
    image_url: str | None = None


class UserLocation(_S):
    location: str | None = None


class Privacy(_S):
    protected: bool | None = None


class Verification(_S):
    verified: bool | None = None
    verified_type: str | None = None


class ProfileBio(_S):
    description: str | None = None
    entities: UserEntities | None = None


class RelationshipCounts(_S):
    followers: int | None = None
    following: int | None = None


class TweetCounts(_S):
    tweets: int | None = None
    media_tweets: int | None = None


class ActionCounts(_S):
    favorites_count: int | None = None


class UserResult(_S):
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
    timeline: TimelineHolder | None = None  # only on the root user of profile timelines


class UserResults(_S):
    result: UserResult | None = None


# ---- timelines ------------------------------------------------------------------------------------


class RequestParam(_S):
    key: str | None = None
    value: str | None = None


class UrtEndpointOptions(_S):
    requestParams: list[RequestParam] = []


class TrendUrl(_S):
    url: str | None = None
    urtEndpointOptions: UrtEndpointOptions | None = None


class TrendMetadata(_S):
    domain_context: str | None = None
    meta_description: str | None = None


class SocialContext(_S):
    text: str | None = None


class GroupedTrend(_S):
    name: str | None = None


class PromotedMetadata(_S):
    advertiser_results: UserResults | None = None


class ItemContent(_S):
    """A timeline item: a tweet, a user, an inline cursor or a trend (dispatch on ``typename``)."""

    typename: str | None = field(default=None, name="__typename")
    itemType: str | None = None
    tweet_results: TweetResults | None = None
    user_results: UserResults | None = None
    promotedMetadata: PromotedMetadata | None = None
    cursorType: str | None = None
    value: str | None = None
    name: str | None = None
    rank: int | str | None = None
    trend_url: TrendUrl | None = None
    trend_metadata: TrendMetadata | None = None
    social_context: SocialContext | None = None
    grouped_trends: list[GroupedTrend] = []
    is_ai_trend: bool | None = None


class ModuleItemBody(_S):
    itemContent: ItemContent | None = None


class ModuleItem(_S):
    entryId: str | None = None
    item: ModuleItemBody | None = None


class ClientEventInfo(_S):
    component: str | None = None


class EntryContent(_S):
    """Entry content: an item (``itemContent``), a module (``items``) or a cursor (``cursorType``)."""

    typename: str | None = field(default=None, name="__typename")
    entryType: str | None = None
    itemContent: ItemContent | None = None
    items: list[ModuleItem] = []
    cursorType: str | None = None
    value: str | None = None
    clientEventInfo: ClientEventInfo | None = None


class Entry(_S):
    entryId: str | None = None
    content: EntryContent | None = None


class Instruction(_S):
    type: str | None = None
    entries: list[Entry] = []
    entry: Entry | None = None  # TimelinePinEntry, TimelineReplaceEntry
    moduleItems: list[ModuleItem] = []  # TimelineAddToModule


class ScribeConfig(_S):
    page: str | None = None


class TimelineMetadata(_S):
    scribeConfig: ScribeConfig | None = None


class Timeline(_S):
    instructions: list[Instruction] = []
    metadata: TimelineMetadata | None = None


class TimelineHolder(_S):
    timeline: Timeline | None = None


# ---- roots ----------------------------------------------------------------------------------------


class SearchByRawQuery(_S):
    search_timeline: TimelineHolder | None = None


class ListData(_S):
    tweets_timeline: TimelineHolder | None = None
    members_timeline: TimelineHolder | None = None


class SliceInfo(_S):
    next_cursor: str | None = None
    previous_cursor: str | None = None


class Slice(_S):
    items_results: list[UserResults] = []
    slice_info: SliceInfo | None = None


class Community(_S):
    typename: str | None = field(default=None, name="__typename")
    rest_id: str | None = None
    name: str | None = None
    members_slice: Slice | None = None
    moderators_slice: Slice | None = None
    ranked_community_timeline: TimelineHolder | None = None
    community_timeline: TimelineHolder | None = None


class CommunityResults(_S):
    result: Community | None = None


class Data(_S):
    search_by_raw_query: SearchByRawQuery | None = None
    user: UserResults | None = None
    user_result_by_screen_name: UserResults | None = None
    list_: ListData | None = field(default=None, name="list")
    retweeters_timeline: TimelineHolder | None = None
    threaded_conversation_with_injections_v2: Timeline | None = None
    timeline: TimelineHolder | None = None
    communityResults: CommunityResults | None = None


class Root(_S):
    data: Data | None = None
    errors: list[dict[str, Any]] | None = None
    # A bare timeline entry (twscrape's ``_issue_42`` fixture) rather than a whole response.
    entryId: str | None = None
    content: EntryContent | None = None


ROOT_DECODER = msgspec.json.Decoder(Root)
