"""The facts of X's "About this account" panel, per account: where it is based, whether X calls that
accurate, where it signed up from, and its handle changes.

What X shows (raw_user_about.json, AboutAccountQuery): ``about_profile.account_based_in`` (a country, or
for some accounts a region: X-Posed's README, "the account's reported country or regional label"),
``location_accurate`` and ``created_country_accurate`` (false when X suspects the location, e.g. a VPN),
``source`` (the capture has "Web"; public AboutAccountQuery clients show app-store values such as
"United States App Store" and "Google Play"), and ``username_changes`` (a count and the last change).

Drawn per account from (world seed, account id), so an account's facts do not depend on which other
accounts exist or on the order they are asked for; the 20,000 accounts of the deep corner cost nothing
until someone asks. The shares below are this emulator's choices, not measured on X. A few accounts
are "operated from elsewhere": based in a country other than the one their profile names (what
researchers of coordinated campaigns look for).
"""

from __future__ import annotations

import random

from . import vocab
from .model import About, User

_DAY_MS = 86_400_000
REGIONS = {
    "Europe": (
        "Portugal",
        "Germany",
        "Norway",
        "United Kingdom",
        "Estonia",
        "Ireland",
        "Austria",
        "Spain",
        "France",
        "Belgium",
        "Switzerland",
    ),
    "North America": ("United States", "Canada", "Mexico"),
    "South Asia": ("India",),
    "West Africa": ("Nigeria", "Ghana"),
    "East Asia": ("Japan", "South Korea"),
    "South America": ("Peru", "Ecuador", "Argentina", "Colombia", "Brazil"),
}
_REGION_OF = {country: region for region, countries in REGIONS.items() for country in countries}
_ALL_COUNTRIES = tuple(sorted({c for cs in vocab.LANG_COUNTRIES.values() for c in cs} | set(_REGION_OF)))


def home_country(rng: random.Random, user: User) -> str:
    """The country the profile suggests: its city, else a country where its language is spoken."""
    return vocab.CITY_COUNTRIES.get(user.location) or rng.choice(
        vocab.LANG_COUNTRIES.get(user.lang, ("United States",))
    )


def about_of(seed: int, user: User, end_ms: int) -> About:
    rng = random.Random(f"about|{seed}|{user.id}")
    home = home_country(rng, user)
    roll = rng.random()
    if roll < 0.06:  # operated from elsewhere: X places it in another country than its profile says
        country = rng.choice([c for c in _ALL_COUNTRIES if c != home])
    else:
        country = home
    based_in = _REGION_OF.get(country, country) if 0.06 <= roll < 0.11 else country
    location_accurate = rng.random() >= 0.07
    source_roll = rng.random()
    source = "Web" if source_roll < 0.4 else f"{country} App Store" if source_roll < 0.75 else "Google Play"
    return About(
        based_in=based_in,
        location_accurate=location_accurate,
        created_country_accurate=rng.random() >= 0.04,
        source=source,
        handles=handle_history(rng, user, end_ms),
        identity_verified=user.blue and rng.random() < 0.4,
    )


def handle_history(rng: random.Random, user: User, end_ms: int, changes: int | None = None) -> tuple:
    """The account's handles, oldest first, each with when it came into use; the last is its handle now.
    Most accounts never changed it; a few did up to three times, on dates between sign-up and now."""
    if changes is None:
        changes = rng.choices((0, 1, 2, 3), weights=(72, 18, 7, 3))[0]
    start, end = user.created_ms + _DAY_MS, max(user.created_ms + 2 * _DAY_MS, end_ms - _DAY_MS)
    times = sorted(rng.randrange(start, end) for _ in range(changes))
    first = user.name.split()[0].lower() if user.name.split() else "user"
    taken = {user.screen_name.lower()}
    olds = []
    while len(olds) < changes:
        style = rng.randrange(3)
        base = (
            f"{first}{rng.randrange(1970, 2010)}"
            if style == 0
            else f"the_{first}{rng.randrange(10, 99)}"
            if style == 1
            else f"{first}_{rng.choice(vocab.SYLLABLES)}{rng.randrange(100, 999)}"
        )[:15]
        if base.lower() not in taken:
            taken.add(base.lower())
            olds.append(base)
    since = [user.created_ms, *times]
    return tuple(zip([*olds, user.screen_name], since, strict=True))
