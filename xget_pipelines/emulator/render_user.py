"""User objects in X's 2026 GraphQL schema (no `legacy`; fields split over sub-objects).

Embedded users (tweet authors, followers) and profile users (UserByScreenName/RestId) share
one builder; the profile form adds the fields X only sends on profile lookups. User objects
do not change while the server runs, so they are built once and reused (the most recently used ones).
"""

from __future__ import annotations

import base64
from collections import OrderedDict

from . import vocab
from .model import User, short_code, tco, x_date

_PROFESSIONS = dict(vocab.PROFESSIONS)
_AUTOMATED_BADGE = (
    f"https://pbs.twimg.com/semantic_core_img/{short_code('bot', length=16)}?format=png&name=orig"
)


def graphql_id(kind: str, rest_id: int | str) -> str:
    """X's opaque node id: base64 of "<Type>:<rest id>"."""
    return base64.b64encode(f"{kind}:{rest_id}".encode()).decode()


def _display(url: str) -> str:
    bare = url.split("://", 1)[-1]
    return bare if len(bare) <= 26 else bare[:25] + "…"


def _url_entity(url: str, short: str, start: int) -> dict:
    return {
        "display_url": _display(url),
        "expanded_url": url,
        "indices": [start, start + len(short)],
        "url": short,
    }


def bio_text(user: User) -> str:
    if user.bio_url is None:
        return user.bio
    return f"{user.bio} {tco(user.id, 'bio')}".strip()


def unavailable(reason: str = "NoReason") -> dict:
    message = "User is suspended" if reason == "Suspended" else "User is not available"
    return {"__typename": "UserUnavailable", "message": message, "reason": reason}


def highlighted_label(u: User) -> dict:
    """The label X highlights next to the name: "Automated by @owner" for a bot (raw_verified_followers.json),
    else the business affiliation badge; ``{}`` for neither."""
    if u.automated_by is not None:
        owner = u.automated_by.screen_name
        text = f"Automated by @{owner}"
        return {
            "label": {
                "badge": {"url": _AUTOMATED_BADGE},
                "description": "Automated",
                "longDescription": {
                    "entities": [
                        {
                            "fromIndex": len(text) - len(owner) - 1,
                            "ref": {
                                "mention_results": {
                                    "result": {
                                        "__typename": "User",
                                        "core": {"screen_name": owner},
                                        "rest_id": str(u.automated_by.id),
                                    }
                                },
                                "screen_name": owner,
                                "type": "TimelineRichTextMention",
                            },
                            "toIndex": len(text),
                        }
                    ],
                    "text": text,
                },
                "userLabelType": "AutomatedLabel",
            }
        }
    return business_label(u)


def business_label(u: User) -> dict:
    """The affiliation badge of an affiliated account, ``{}`` otherwise. It is also what X sends as
    ``identity_profile_labels_highlighted_label`` (raw_user_about.json, raw_community_members.json); the
    captures never show the automated label there, so neither does the emulator."""
    if not u.affiliate:
        return {}
    return {
        "label": {
            "badge": {
                "url": f"https://pbs.twimg.com/profile_images/{u.id}/{short_code('org', u.id)}_bigger.jpg"
            },
            "description": f"{u.name.split()[0]} Org",
            "url": {"url": f"https://twitter.com/{u.screen_name}_org", "urlType": "DeepLink"},
            "userLabelDisplayType": "Badge",
            "userLabelType": "BusinessLabel",
        }
    }


class UserRenderer:
    """Builds user objects once and reuses them, for the ``keep`` most recently used accounts: a crawl of
    the deep corner's 20,000 followers would otherwise hold about 100 MB of them."""

    def __init__(self, keep: int = 8192) -> None:
        self._embedded: OrderedDict[int, dict] = OrderedDict()
        self._profiles: OrderedDict[int, dict] = OrderedDict()
        self._keep = keep

    def result(self, user: User) -> dict:
        """The `user_results.result` object for an embedded user."""
        if user.unavailable:
            return unavailable()
        return self._remember(self._embedded, user, self._build)

    def profile(self, user: User) -> dict:
        return self._remember(self._profiles, user, self._build_profile)

    def _remember(self, cache: OrderedDict[int, dict], user: User, build) -> dict:
        cached = cache.get(user.idx)
        if cached is None:
            cached = cache[user.idx] = build(user)
            if len(cache) > self._keep:
                cache.popitem(last=False)
        else:
            cache.move_to_end(user.idx)
        return cached

    @staticmethod
    def owner_stub(user: User) -> dict:
        """The minimal user X nests in `conversation_control.conversation_owner_results`."""
        return {"__typename": "User", "core": {"screen_name": user.screen_name}}

    def _build(self, u: User) -> dict:
        description = bio_text(u)
        entities: dict = {"description": {}}
        if u.bio_url is not None:
            short = tco(u.id, "bio")
            entities["description"] = {"urls": [_url_entity(u.bio_url, short, description.index(short))]}
        if u.website is not None:
            entities["url"] = {"urls": [_url_entity(u.website, tco(u.id, "web"), 0)]}
        obj: dict = {
            "__typename": "User",
            "id": graphql_id("User", u.id),
            "rest_id": str(u.id),
            "action_counts": {"favorites_count": u.favourites},
            "affiliates_highlighted_label": highlighted_label(u),
            "avatar": {"image_url": u.avatar_url},
            "banner": {"image_url": u.banner_url},
            "core": {"created_at": x_date(u.created_ms), "name": u.name, "screen_name": u.screen_name},
            "dm_permissions": {"can_dm": u.blue},
            "follow_request_sent": False,
            "has_graduated_access": True,
            "is_blue_verified": u.blue,
            "location": {"location": u.location},
            "media_permissions": {"can_media_tag": not u.protected},
            "notifications_settings": {"notifications_enabled": False},
            "pinned_items": {"tweet_ids_str": [str(u.pinned.id)]} if u.pinned is not None else {},
            "possibly_sensitive": False,
            "privacy": {"protected": u.protected},
            "profile_bio": {"description": description, "entities": entities},  # + withheld_in_countries
            "profile_image_shape": u.image_shape,
            "profile_metadata": {"profile_interstitial_type": ""},
            "profile_translation": {"translator_type": "regular" if u.blue else "none"},
            "relationship_counts": {"followers": len(u.followers), "following": len(u.following)},
            "relationship_perspectives": {
                "blocked_by": False,
                "blocking": False,
                "followed_by": False,
                "following": False,
                "live_following": False,
                "muting": False,
            },
            "super_follow_eligible": False,
            "super_followed_by": False,
            "super_following": False,
            "tipjar_settings": self._tipjar(u) if u.tipjar else {},
            "tweet_counts": {"media_tweets": u.media_count, "tweets": len(u.tweets) + u.extra_statuses},
            "verification": {"verified": False},
            "website": {"url": tco(u.id, "web")} if u.website is not None else {},
        }
        if u.withheld_in:
            obj["profile_bio"]["withheld_in_countries"] = list(u.withheld_in)
        if u.verified_type is not None:
            obj["verification"]["verified_type"] = u.verified_type
        if u.professional is not None:
            obj["professional"] = {
                "category": [
                    {
                        "icon_name": "IconBriefcaseStroke",
                        "id": _PROFESSIONS.get(u.professional, 1),
                        "name": u.professional,
                    }
                ],
                "professional_type": "Business" if u.verified_type == "Business" else "Creator",
                "rest_id": str(u.id + 1),
            }
        if description:
            obj["profile_description_language"] = "en" if u.lang == "ja" else u.lang
        return obj

    def _build_profile(self, u: User) -> dict:
        if u.unavailable:
            return unavailable("Suspended")
        obj = dict(self._build(u))
        obj.update(
            {
                "business_account": {},
                "creator_subscriptions_count": len(u.subscriptions),
                "has_hidden_subscriptions_on_profile": False,
                "highlights_info": {"can_highlight_tweets": u.blue, "highlighted_tweets": "0"},
                "is_profile_translatable": False,
                "legacy_extended_profile": {},
                "profile_sort_enabled": True,
            }
        )
        if u.blue or u.verified_type is not None:
            text = "This account is verified because it's subscribed to Premium. Learn more"
            obj["verification_info"] = {
                "reason": {
                    "description": {
                        "entities": [
                            {
                                "from_index": len(text) - 10,
                                "to_index": len(text),
                                "ref": {
                                    "url": "https://help.example.com/verification",
                                    "url_type": "ExternalUrl",
                                },
                            }
                        ],
                        "text": text,
                    },
                    "verified_since_msec": str(u.created_ms + 86_400_000),
                }
            }
        return obj

    @staticmethod
    def _tipjar(u: User) -> dict:
        handle = u.screen_name
        return {
            "is_enabled": True,
            "bitcoin_handle": f"bc1q{short_code('btc', u.id, length=20).lower()}",
            "cash_app_handle": f"${handle}",
            "ethereum_handle": f"0x{short_code('eth', u.id, length=16)}",
            "patreon_handle": handle,
            "venmo_handle": handle,
        }
