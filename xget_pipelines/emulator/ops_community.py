"""Community operations: CommunityQuery, CommunityTweetsTimeline, membersSliceTimeline_Query and
moderatorsSliceTimeline_Query.

Members and moderators come in "slices", not timelines (raw_community_members.json,
raw_community_moderators.json): ``items_results`` and a plain ``slice_info.next_cursor`` while more
remain, ``slice_info: {}`` on the last slice (as the moderators capture, a single slice, shows). The
posts come as a timeline whose entries the captures show for ``rankingMode: Relevance``
(raw_community_tweets.json); ``Recency`` is served newest first with the same shape. That X takes
``Recency`` (besides ``Relevance`` and ``Likes``) on this operation, with ``displayLocation: Community``,
and answers under the same ``ranked_community_timeline`` path, is what gallery-dl's twitter extractor
(``community_tweets_timeline``) relies on; the web UI's community "Top" / "Latest" tabs are the two modes
(insin/control-panel-for-twitter issues #553, #585).
"""

from __future__ import annotations

from .render_community import community_info, slice_user, unavailable_community
from .render_user import graphql_id
from .timeline import (
    Ctx,
    cursor_entry,
    encode_cursor,
    entry,
    id_bottom,
    id_cursor,
    offset_cursor,
    page_newest_first,
    tweet_content,
    visible_id,
)

_EVENT = {
    "component": "suggest_community_tweet",
    "details": {"timelinesDetails": {"injectionType": "CommunityTweet"}},
    "element": "tweet",
}


def _community(ctx: Ctx):
    return ctx.world.community_by_id(ctx.variables.get("communityId", ""))


def community_query(ctx: Ctx) -> dict:
    community = _community(ctx)
    if community is None:
        return unavailable_community()
    return {
        "data": {
            "communityResults": {
                "id": graphql_id("CommunityResults", community.id),
                "result": community_info(community),
            }
        }
    }


def _slice(ctx: Ctx, key: str, moderators_only: bool) -> dict:
    community = _community(ctx)
    if community is None:
        return unavailable_community()
    members = community.members[: community.moderators] if moderators_only else community.members
    off, count = offset_cursor(ctx), ctx.count()
    page = members[off : off + count]
    info: dict = {}
    if off + len(page) < len(members):
        info["next_cursor"] = ctx.bottom = encode_cursor("off", off + len(page))
    elif ctx.variables.get("cursor"):
        ctx.ended = True
    items = [slice_user(u, community.role(off + i)) for i, u in enumerate(page)]
    return {
        "data": {
            "communityResults": {
                "id": graphql_id("CommunityResults", community.id),
                "result": {
                    "__typename": "Community",
                    "id": graphql_id("Community", community.id),
                    key: {"items_results": items, "slice_info": info},
                },
            }
        }
    }


def members_slice(ctx: Ctx) -> dict:
    """Every member: the admin, the moderators, then the others, newest first."""
    return _slice(ctx, "members_slice", moderators_only=False)


def moderators_slice(ctx: Ctx) -> dict:
    """The admin and the moderators."""
    return _slice(ctx, "moderators_slice", moderators_only=True)


def community_tweets(ctx: Ctx) -> dict:
    """The posts made to the community: ``Relevance`` (the default) most liked first, paged by offset;
    ``Recency`` newest first, paged by id."""
    community = _community(ctx)
    if community is None:
        return unavailable_community()
    newest = visible_id(ctx)
    relevance = ctx.variables.get("rankingMode", "Relevance") != "Recency"
    if relevance:
        key = ("community_ranked", community.id)
        if key not in ctx.cache:
            ctx.cache[key] = sorted(community.tweets, key=lambda t: (-t.pop, t.id))
        ranked = [t for t in ctx.cache[key] if t.id <= newest]
        off = offset_cursor(ctx)
        page = ranked[off : off + ctx.count(40)]
        bottom = encode_cursor("off", off + len(page)) if page else id_bottom(ctx, None)
    else:
        before, valid = id_cursor(ctx)
        page = (
            page_newest_first(community.tweets, lambda t: t.id, before, newest, ctx.count(40))
            if valid
            else []
        )
        bottom = id_bottom(ctx, page[-1].id if page else None)
    ctx.bottom = bottom
    top = ctx.top_fields()
    entries = [
        entry(f"tweet-{t.id}", ctx.sort_base - 1 - i, tweet_content(ctx.tweet_result(t, top), _EVENT))
        for i, t in enumerate(page)
    ]
    entries += [
        cursor_entry("Top", encode_cursor("top", ctx.sort_base), ctx.sort_base + 1),
        cursor_entry("Bottom", bottom, ctx.sort_base - len(page) - 1),
    ]
    instructions: list[dict] = [{"entries": entries, "type": "TimelineAddEntries"}]
    if ctx.variables.get("cursor") is None:
        instructions.insert(0, {"type": "TimelineClearCache"})
    return {
        "data": {
            "communityResults": {
                "result": {
                    "__typename": "Community",
                    "ranked_community_timeline": {
                        "timeline": {
                            "instructions": instructions,
                            # "top" as in the capture (Relevance); "latest" for Recency is not captured.
                            "metadata": {"scribeConfig": {"page": "top" if relevance else "latest"}},
                        }
                    },
                }
            }
        }
    }
