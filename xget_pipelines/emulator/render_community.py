"""Community objects in X's 2026 GraphQL schema: the community itself (CommunityQuery), its members as the
member and moderator slices list them, and the reference a post made to it carries.

Shapes from raw_community_info.json, raw_community_members.json, raw_community_moderators.json and
raw_community_tweets.json. Values X shows only to a signed-in member (invites, join requests) are the
"...Unavailable" ones the captures show for a visitor.
"""

from __future__ import annotations

from .model import Community, User, short_code
from .render_user import business_label, graphql_id, highlighted_label


def post_reference(community: Community) -> dict:
    """``community_results`` of a post made to the community (raw_community_tweets.json)."""
    return {
        "result": {
            "__typename": "Community",
            "id_str": str(community.id),
            "viewer_relationship": {
                "moderation_state": {"__typename": "CommunityUserDefaultModerationState"}
            },
        }
    }


def slice_user(u: User, role: str) -> dict:
    """A member as the members and moderators slices list them: a short User with its ``community_role``,
    the affiliation badge in full (``identity_profile_labels_highlighted_label``) and only the type of its
    highlighted label in ``affiliates_highlighted_label`` (raw_community_members.json)."""
    label = highlighted_label(u)
    verification: dict = {"verified": False}
    if u.verified_type is not None:
        verification["verified_type"] = u.verified_type
    return {
        "id": graphql_id("UserResults", u.id),
        "result": {
            "__typename": "User",
            "affiliates_highlighted_label": (
                {"label": {"user_label_type": label["label"]["userLabelType"]}} if label else {}
            ),
            "avatar": {"image_url": u.avatar_url},
            "community_role": role,
            "core": {"name": u.name, "screen_name": u.screen_name},
            "follow_request_sent": False,
            "id": graphql_id("User", u.id),
            "identity_profile_labels_highlighted_label": business_label(u),
            "is_blue_verified": u.blue,
            "privacy": {"protected": u.protected},
            "relationship_perspectives": {"blocking": False, "followed_by": False, "following": False},
            "rest_id": str(u.id),
            "super_follow_eligible": u.tipjar and u.blue,
            "super_followed_by": False,
            "super_following": False,
            "verification": verification,
        },
    }


def _banner(community: Community, kind: str, size: tuple[int, int]) -> dict:
    media_id = community.id + (1 if kind == "custom" else 2)
    code = short_code("community", kind, community.id, length=8)
    url = (
        f"https://pbs.twimg.com/community_banner_img/{media_id}/{code}?format=jpg&name=orig"
        if kind == "custom"
        else f"https://pbs.twimg.com/media/{short_code('banner', community.id, length=15)}.jpg"
    )
    seed = community.id % 97
    return {
        "id": graphql_id("ApiMedia", media_id),
        "media_info": {
            "__typename": "ApiImage",
            "color_info": {
                "palette": [
                    {"percentage": 61.5, "rgb": {"blue": seed, "green": 40 + seed, "red": 90}},
                    {"percentage": 38.5, "rgb": {"blue": 200, "green": 180, "red": 120 + seed}},
                ]
            },
            "original_img_height": size[1],
            "original_img_url": url,
            "original_img_width": size[0],
        },
    }


def community_info(community: Community) -> dict:
    """``communityResults.result`` of CommunityQuery, as a visitor who is not a member sees it."""
    creator = community.creator
    rules = []
    for rule in community.rules:
        item: dict = {"id": graphql_id("CommunityRule", rule.id), "name": rule.name, "rest_id": str(rule.id)}
        if rule.description:
            item["description"] = rule.description
        rules.append(item)
    return {
        "__typename": "Community",
        "actions": {
            "id": graphql_id("CommunityActions", community.id),
            "join_action_result": {"__typename": "CommunityJoinAction"},
            "list_members_action_result": {"__typename": "CommunityListMembersAction"},
        },
        "created_at": community.created_ms,
        "creator_results": {
            "id": graphql_id("UserResults", creator.id),
            "result": {
                "__typename": "User",
                "core": {"screen_name": creator.screen_name},
                "id": graphql_id("User", creator.id),
                "is_blue_verified": creator.blue,
                "verification": {"verified": False},
            },
        },
        "custom_banner_media": _banner(community, "custom", (1679, 671)),
        "default_banner_media": _banner(community, "default", (1200, 480)),
        "description": community.description,
        "id": graphql_id("Community", community.id),
        "invites_result": {"__typename": "CommunityInvitesUnavailable"},
        "is_member": False,
        "is_nsfw": community.nsfw,
        "join_policy": community.join_policy,
        "join_requests_result": {"__typename": "CommunityJoinRequestsUnavailable"},
        "member_count": len(community.members),
        # The faces above the member count: the first members X lists, avatar only (raw_community_info.json).
        "members_facepile_results": [
            {
                "id": graphql_id("UserResults", u.id),
                "result": {
                    "__typename": "User",
                    "avatar": {"image_url": u.avatar_url},
                    "id": graphql_id("User", u.id),
                },
            }
            for u in community.members[:5]
        ],
        "name": community.name,
        "primary_community_topic": {"topic_name": community.topic},
        "rest_id": str(community.id),
        "role": "NonMember",
        "rules": rules,
        "trending_hashtags_slice": {"__typename": "CommunityHashtagSlice", "items": []},
    }


def unavailable_community() -> dict:
    """An id that names no community. A guess: X answers unknown nodes with a "<Type>Unavailable" result
    (UserUnavailable; CommunityInvitesUnavailable in raw_community_info.json); no capture shows this case."""
    return {"data": {"communityResults": {"result": {"__typename": "CommunityUnavailable"}}}}
