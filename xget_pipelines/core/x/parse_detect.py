"""Which GraphQL operation a response body answers, from its JSON root path.

Most operations have a root of their own (README of the captures, "JSON root" column). Some share one:
``data.user.result.timeline`` serves the profile timelines and the follower-type user lists, and
``data.user.result`` alone is both UserByScreenName and UserByRestId. There the body's own hints
decide: the timeline's ``scribeConfig.page`` (``profileBest``, ``profileAll``, ``media``) and the
user entries' ``clientEventInfo.component`` (``FollowersSgs``...). When the body carries no hint
(a lone user object, an empty last page), ``AmbiguousOperation`` names the candidates instead of
guessing: the raw layer always knows the operation it asked for and passes it to ``parse_page``.
"""

from __future__ import annotations

from xget_pipelines.core.x import _decode as d

USER_TIMELINES = ("UserTweets", "UserTweetsAndReplies", "UserMedia")
USER_LISTS = ("Followers", "Following", "BlueVerifiedFollowers", "UserCreatorSubscriptions")
USER_LOOKUPS = ("UserByScreenName", "UserByRestId")
OPERATIONS: tuple[str, ...] = (
    "SearchTimeline",
    *USER_LOOKUPS,
    "AboutAccountQuery",
    *USER_TIMELINES,
    *USER_LISTS,
    "Retweeters",
    "TweetDetail",
    "ListLatestTweetsTimeline",
    "ListMembers",
    "GenericTimelineById",
    "CommunityQuery",
    "CommunityTweetsTimeline",
    "membersSliceTimeline_Query",
    "moderatorsSliceTimeline_Query",
    "TweetResultByRestId",
    "TweetResultsByRestIds",
)
_SCRIBE_PAGES = {"profileBest": "UserTweets", "profileAll": "UserTweetsAndReplies", "media": "UserMedia"}
_COMPONENTS = {
    "FollowersSgs": "Followers",
    "FollowingSgs": "Following",
    "BlueVerifiedFollowersSgs": "BlueVerifiedFollowers",
    "CreatorSubscriptionsSgs": "UserCreatorSubscriptions",
}


class UnknownOperation(ValueError):
    """The body does not look like the answer of any operation this parser knows."""


class AmbiguousOperation(UnknownOperation):
    """The body fits several operations that share its root and carries nothing to tell them apart."""

    def __init__(self, root: str, candidates: tuple[str, ...], why: str) -> None:
        self.candidates = candidates
        super().__init__(
            f"{root} is the root of {', '.join(candidates)}; {why}: pass operation= to parse_page"
        )


def _tl(holder: d.TimelineHolder | None) -> d.Timeline | None:
    return holder.timeline if holder is not None else None


def locate(root: d.Root) -> tuple[str, str, object, tuple[str, ...]]:
    """(root path, kind, node, candidate operations) of a decoded body; kind is
    timeline|slice|user|entry|tweets.

    Raises ``UnknownOperation`` when no known root is present.
    """
    data = root.data
    if data is None:
        if root.content is not None:
            return "entry", "entry", root, ()
        raise UnknownOperation(
            "body has no 'data' object"
            + (f" (X errors: {[e.get('message') for e in root.errors]})" if root.errors else "")
        )
    if data.tweetResult is not None:
        if isinstance(data.tweetResult, list):
            return "data.tweetResult[]", "tweets", data.tweetResult, ("TweetResultsByRestIds",)
        return "data.tweetResult", "tweets", [data.tweetResult], ("TweetResultByRestId",)
    if data.search_by_raw_query is not None:
        return (
            "data.search_by_raw_query.search_timeline",
            "timeline",
            _tl(data.search_by_raw_query.search_timeline),
            ("SearchTimeline",),
        )
    if data.threaded_conversation_with_injections_v2 is not None:
        return (
            "data.threaded_conversation_with_injections_v2",
            "timeline",
            data.threaded_conversation_with_injections_v2,
            ("TweetDetail",),
        )
    if data.user is not None:
        user = data.user.result
        if user is not None and user.timeline is not None:
            return (
                "data.user.result.timeline.timeline",
                "timeline",
                _tl(user.timeline),
                USER_TIMELINES + USER_LISTS,
            )
        return "data.user.result", "user", user, USER_LOOKUPS
    if data.user_result_by_screen_name is not None:
        return (
            "data.user_result_by_screen_name.result",
            "user",
            data.user_result_by_screen_name.result,
            ("AboutAccountQuery",),
        )
    if data.list_ is not None:
        if data.list_.members_timeline is not None:
            return (
                "data.list.members_timeline.timeline",
                "timeline",
                _tl(data.list_.members_timeline),
                ("ListMembers",),
            )
        return (
            "data.list.tweets_timeline.timeline",
            "timeline",
            _tl(data.list_.tweets_timeline),
            ("ListLatestTweetsTimeline",),
        )
    if data.retweeters_timeline is not None:
        return (
            "data.retweeters_timeline.timeline",
            "timeline",
            _tl(data.retweeters_timeline),
            ("Retweeters",),
        )
    if data.timeline is not None:
        return "data.timeline.timeline", "timeline", _tl(data.timeline), ("GenericTimelineById",)
    if data.communityResults is not None:
        c = data.communityResults.result
        base = "data.communityResults.result"
        if c is not None and c.members_slice is not None:
            return base + ".members_slice", "slice", c.members_slice, ("membersSliceTimeline_Query",)
        if c is not None and c.moderators_slice is not None:
            return base + ".moderators_slice", "slice", c.moderators_slice, ("moderatorsSliceTimeline_Query",)
        if c is not None and (c.ranked_community_timeline or c.community_timeline):
            return (
                base + ".ranked_community_timeline.timeline",
                "timeline",
                _tl(c.ranked_community_timeline or c.community_timeline),
                ("CommunityTweetsTimeline",),
            )
        return base, "community", c, ("CommunityQuery",)
    raise UnknownOperation("'data' holds none of the known roots")


def narrow(path: str, kind: str, node: object, candidates: tuple[str, ...]) -> str:
    """The one operation among ``candidates`` this body answers, from its hints."""
    if len(candidates) == 1:
        return candidates[0]
    if kind == "entry":
        raise UnknownOperation("body is a single timeline entry, not a whole GraphQL response")
    if kind == "user":
        raise AmbiguousOperation(path, candidates, "both return the same user object")
    tl = node if isinstance(node, d.Timeline) else None
    if tl is not None and tl.metadata and tl.metadata.scribeConfig and tl.metadata.scribeConfig.page:
        op = _SCRIBE_PAGES.get(tl.metadata.scribeConfig.page)
        if op is not None:
            return op
    users = tweets = grid = False
    for ins in tl.instructions if tl is not None else ():
        for e in (*ins.entries, *((ins.entry,) if ins.entry is not None else ())):
            c = e.content
            if c is None or c.cursorType is not None:
                continue
            comp = c.clientEventInfo.component if c.clientEventInfo is not None else None
            if comp in _COMPONENTS:
                return _COMPONENTS[comp]
            eid = e.entryId or ""
            users |= eid.startswith("user-")
            tweets |= eid.startswith(("tweet-", "profile-conversation-"))
            grid |= eid.startswith("profile-grid-")
        grid |= bool(ins.moduleItems)  # later UserMedia pages add to the grid module
    if grid:
        return "UserMedia"
    if users:
        raise AmbiguousOperation(path, USER_LISTS, "its user entries carry no clientEventInfo.component")
    if tweets:
        raise AmbiguousOperation(path, USER_TIMELINES[:2], "its timeline carries no scribeConfig.page")
    raise AmbiguousOperation(path, candidates, "the page has no entries to tell by")
