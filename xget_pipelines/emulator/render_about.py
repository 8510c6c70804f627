"""AboutAccountQuery's user object: the "About this account" facts next to a short profile.

Shape from raw_user_about.json (``data.user_result_by_screen_name.result``): ``about_profile``
(account_based_in, location_accurate, created_country_accurate, source, username_changes with its count
and last change as strings, learn_more_url, affiliate_username for an affiliated account), the
highlighted label (``affiliates_highlighted_label``) and the affiliation badge
(``identity_profile_labels_highlighted_label``; the same label in the capture), and ``verification_info``
with ``is_identity_verified`` and the verified-since time.
"""

from __future__ import annotations

from .model import About, User, x_date
from .render_user import business_label, graphql_id, highlighted_label, unavailable


def about_result(u: User, facts: About) -> dict:
    if u.unavailable:
        return unavailable("Suspended")
    # X sends the count as a string and the last change in epoch ms (raw_user_about.json); with no change
    # there is nothing to date, so only the count is sent (a guess: the capture's account changed once).
    changes: dict = {"count": str(facts.username_changes)}
    if facts.last_changed_ms is not None:
        changes["last_changed_at_msec"] = str(facts.last_changed_ms)
    profile: dict = {
        "account_based_in": facts.based_in,
        "created_country_accurate": facts.created_country_accurate,
        "learn_more_url": "https://help.example.com/about-this-account",
        "location_accurate": facts.location_accurate,
        "source": facts.source,
        "username_changes": changes,
    }
    if u.affiliate:
        profile["affiliate_username"] = f"{u.screen_name}_org"  # the organisation the label links to
    label = highlighted_label(u)
    verification: dict = {"verified": False}
    if u.verified_type is not None:
        verification["verified_type"] = u.verified_type
    obj: dict = {
        "__typename": "User",
        "about_profile": profile,
        "affiliates_highlighted_label": label,
        "avatar": {"image_url": u.avatar_url},
        "core": {"created_at": x_date(u.created_ms), "name": u.name, "screen_name": u.screen_name},
        "id": graphql_id("User", u.id),
        "identity_profile_labels_highlighted_label": business_label(u),
        "is_blue_verified": u.blue,
        "privacy": {"protected": u.protected},
        "profile_image_shape": u.image_shape,
        "rest_id": str(u.id),
        "verification": verification,
    }
    if u.blue or u.verified_type is not None:
        obj["verification_info"] = {
            "id": graphql_id("UserVerificationInfo", u.id),
            "is_identity_verified": facts.identity_verified,
            "reason": {"verified_since_msec": str(u.created_ms + 86_400_000)},
        }
    return obj
