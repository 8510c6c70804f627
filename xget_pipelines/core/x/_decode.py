"""Typed msgspec views of X GraphQL response bodies: only the fields XGet reads, everything else skipped.

Why Structs and not dicts: msgspec skips undeclared keys while it scans the bytes, without building a
Python object for them, and most of a page (feature flags, entity indices, colour palettes, duplicated
``entities.media``) is never needed. Decoding into dicts first caps parsing at about 3x twscrape
(ARCHITECTURE.md section 6); this decode runs at 65-75% of the speed of msgspec merely skipping a body
outright, and the whole ``parse_page`` at about 7.5x twscrape on compact bodies as X sends them
and 5x on the pretty-printed capture files (``bench/parse.py``).

Design rules:
- every field is optional with a default, so a missing key never fails a page;
- X's polymorphic objects (``__typename`` Tweet / TweetWithVisibilityResults / TweetTombstone,
  User / UserUnavailable, timeline items / modules / cursors / trends) are decoded into one Struct per
  *position* with the union of the fields seen there, instead of tagged unions, because X does not put
  the tag first and varies it freely; the walker dispatches on ``typename``;
- one set of timeline Structs serves every operation: only the root path differs (``Data``);
- ``gc=False``: a decoded page is a tree without cycles, so the Structs need no GC tracking.

A type that does not match (say a count sent as a string) fails the whole typed decode; ``parse.py``
then decodes the body generically, drops the rejected value, marks its tweet or user unreadable and
converts again, so one bad object costs only itself.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import field

from xget_pipelines.core.x._decode_objects import TweetResults, UserResult, UserResults, View

# ---- timelines ------------------------------------------------------------------------------------


class RequestParam(View):
    key: str | None = None
    value: str | None = None


class UrtEndpointOptions(View):
    requestParams: list[RequestParam] = []


class TrendUrl(View):
    url: str | None = None
    urtEndpointOptions: UrtEndpointOptions | None = None


class TrendMetadata(View):
    domain_context: str | None = None
    meta_description: str | None = None


class SocialContext(View):
    text: str | None = None


class GroupedTrend(View):
    name: str | None = None


class PromotedMetadata(View):
    advertiser_results: UserResults | None = None


class ItemContent(View):
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


class ModuleItemBody(View):
    itemContent: ItemContent | None = None


class ModuleItem(View):
    entryId: str | None = None
    item: ModuleItemBody | None = None


class ClientEventInfo(View):
    component: str | None = None


class EntryContent(View):
    """Entry content: an item (``itemContent``), a module (``items``) or a cursor (``cursorType``)."""

    typename: str | None = field(default=None, name="__typename")
    entryType: str | None = None
    itemContent: ItemContent | None = None
    items: list[ModuleItem] = []
    cursorType: str | None = None
    value: str | None = None
    clientEventInfo: ClientEventInfo | None = None


class Entry(View):
    entryId: str | None = None
    content: EntryContent | None = None


class Instruction(View):
    type: str | None = None
    entries: list[Entry] = []
    entry: Entry | None = None  # TimelinePinEntry, TimelineReplaceEntry
    moduleItems: list[ModuleItem] = []  # TimelineAddToModule


class ScribeConfig(View):
    page: str | None = None


class TimelineMetadata(View):
    scribeConfig: ScribeConfig | None = None


class Timeline(View):
    instructions: list[Instruction] = []
    metadata: TimelineMetadata | None = None


class TimelineHolder(View):
    timeline: Timeline | None = None


# ---- roots ----------------------------------------------------------------------------------------


class RootUser(UserResult):
    """``data.user.result``: a user, which on profile timelines carries the timeline itself."""

    timeline: TimelineHolder | None = None


class RootUserResults(View):
    result: RootUser | None = None


class SearchByRawQuery(View):
    search_timeline: TimelineHolder | None = None


class ListData(View):
    tweets_timeline: TimelineHolder | None = None
    members_timeline: TimelineHolder | None = None


class SliceInfo(View):
    next_cursor: str | None = None
    previous_cursor: str | None = None


class Slice(View):
    items_results: list[UserResults] = []
    slice_info: SliceInfo | None = None


class Community(View):
    typename: str | None = field(default=None, name="__typename")
    rest_id: str | None = None
    name: str | None = None
    members_slice: Slice | None = None
    moderators_slice: Slice | None = None
    ranked_community_timeline: TimelineHolder | None = None
    community_timeline: TimelineHolder | None = None


class CommunityResults(View):
    result: Community | None = None


class Data(View):
    search_by_raw_query: SearchByRawQuery | None = None
    user: RootUserResults | None = None
    user_result_by_screen_name: UserResults | None = None
    list_: ListData | None = field(default=None, name="list")
    retweeters_timeline: TimelineHolder | None = None
    threaded_conversation_with_injections_v2: Timeline | None = None
    timeline: TimelineHolder | None = None
    communityResults: CommunityResults | None = None
    # TweetResultByRestId (one tweet: X's embeds and logged-out pages) and TweetResultsByRestIds (a list).
    tweetResult: TweetResults | list[TweetResults] | None = None


class Root(View):
    data: Data | None = None
    errors: list[dict[str, Any]] | None = None
    # A bare timeline entry (twscrape's ``_issue_42`` fixture) rather than a whole response.
    entryId: str | None = None
    content: EntryContent | None = None


ROOT_DECODER = msgspec.json.Decoder(Root)
