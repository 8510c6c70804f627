"""Generation of synthetic accounts, the follow graph and curated lists.

Activity and popularity are Pareto-distributed so a few accounts post and attract most of
the traffic, as on the real network; follows are drawn by preferential attachment on
popularity, which gives the follow graph its power-law-ish in-degree.
"""

from __future__ import annotations

import itertools
import random

from . import vocab
from .model import User, XList, snowflake

_YEAR_2011_MS = 1293840000000
_DAY_MS = 86_400_000


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(vocab.SYLLABLES) for _ in range(parts)).capitalize()


def _screen_name(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    style = rng.random()
    if style < 0.4:
        base = f"{first}{last}"
    elif style < 0.7:
        base = f"{first}_{last}"
    else:
        base = f"{first}{last[:3]}{rng.randrange(10, 99)}"
    base = base.lower()[:15]
    name = base
    for n in itertools.count(1):
        if name.lower() not in taken:
            break
        suffix = str(n)
        name = base[: 15 - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def _pick_topics(rng: random.Random) -> tuple[str, ...]:
    names = list(vocab.TOPIC_WEIGHTS)
    weights = list(vocab.TOPIC_WEIGHTS.values())
    picked: list[str] = []
    for topic in rng.choices(names, weights=weights, k=rng.choice((1, 2, 2, 3))):
        if topic not in picked:
            picked.append(topic)
    return tuple(picked)


def _bio(rng: random.Random, topics: tuple[str, ...]) -> str:
    terms = [vocab.TOPICS[t][0][0] for t in topics] + ["coffee", "books"]
    a, b = terms[0], terms[1]
    return rng.choice(vocab.BIO_TEMPLATES).format(a=a, b=b, A=a.capitalize())


def make_users(rng: random.Random, count: int, start_ms: int) -> list[User]:
    """`count` accounts created between 2011 and a day before the world starts."""
    taken: set[str] = set()
    users: list[User] = []
    latest = max(_YEAR_2011_MS + _DAY_MS, start_ms - _DAY_MS)
    for idx in range(count):
        first, last = _name(rng, 2), _name(rng, rng.choice((2, 2, 3)))
        screen_name = _screen_name(rng, first, last, taken)
        created_ms = rng.randrange(_YEAR_2011_MS, latest)
        topics = _pick_topics(rng)
        activity = min(rng.paretovariate(1.3), 200.0)
        roll = rng.random()
        user = User(
            idx=idx,
            id=snowflake(created_ms, idx),
            screen_name=screen_name,
            name=f"{first} {last}",
            bio=_bio(rng, topics),
            location=rng.choice(vocab.CITIES) if rng.random() < 0.7 else "",
            created_ms=created_ms,
            lang=rng.choices(vocab.LANGS, weights=vocab.LANG_WEIGHTS)[0],
            topics=topics,
            activity=activity,
            popularity=min(activity**0.5 * rng.paretovariate(1.1), 1000.0),
            blue=rng.random() < 0.18,
            verified_type="Business" if roll < 0.02 else "Government" if roll < 0.025 else None,
            protected=0.03 <= roll < 0.05,
            unavailable=0.05 <= roll < 0.06,
            professional=rng.choice(vocab.PROFESSIONS)[0] if rng.random() < 0.12 else None,
            affiliate=roll < 0.01 or rng.random() < 0.02,
            tipjar=rng.random() < 0.08,
            website=f"https://{rng.choice(vocab.DOMAINS)}/{screen_name}" if rng.random() < 0.35 else None,
            bio_url=f"https://{rng.choice(vocab.DOMAINS)}/about/{idx}" if rng.random() < 0.1 else None,
            favourites=int(min(rng.paretovariate(1.0) * 200, 500_000)),
            listed=int(min(rng.paretovariate(1.2) * 3, 50_000)),
            extra_statuses=int(activity * rng.uniform(50, 500)),
        )
        user.image_shape = "Square" if user.verified_type == "Business" else "Circle"
        if rng.random() < 0.005:
            user.withheld_in = (rng.choice(("DE", "FR", "IN", "TR")),)
        if user.unavailable:
            user.activity = 0.0
        elif user.protected:
            user.activity *= 0.2
        users.append(user)
    return users


def make_follow_graph(rng: random.Random, users: list[User]) -> None:
    """Fill `following`/`followers`; targets are drawn proportionally to popularity."""
    n = len(users)
    if n < 2:
        return
    population = range(n)
    cum_weights = list(itertools.accumulate(u.popularity + 0.05 for u in users))
    for user in users:
        want = min(n - 1, max(3, int(rng.lognormvariate(3.3, 0.9))))
        chosen: dict[int, None] = {}
        for target in rng.choices(population, cum_weights=cum_weights, k=int(want * 1.3) + 2):
            if target != user.idx:
                chosen[target] = None
                if len(chosen) >= want:
                    break
        user.following = list(chosen)
    for user in users:
        for target in user.following:
            users[target].followers.append(user.idx)


def follow(users: list[User], follower: User, target: User) -> None:
    if target.idx not in follower.following:
        follower.following.append(target.idx)
        target.followers.append(follower.idx)


def make_lists(rng: random.Random, users: list[User], count: int, start_ms: int) -> list[XList]:
    """Topic lists ("Python folks") whose members are that topic's most active accounts."""
    topics = sorted(vocab.TOPIC_WEIGHTS, key=lambda t: -vocab.TOPIC_WEIGHTS[t])[:count]
    lists: list[XList] = []
    for i, topic in enumerate(topics):
        fans = [u for u in users if topic in u.topics and not u.unavailable and not u.protected]
        fans.sort(key=lambda u: (-u.activity, u.idx))
        members = fans[: rng.randrange(25, 61)]
        if not members:
            continue
        xl = XList(
            id=snowflake(start_ms - (30 + i) * _DAY_MS, 0x1000 + i),
            name=f"{topic.capitalize()} folks",
            owner=members[0],
            members=members,
            topic=topic,
        )
        for member in members:
            member.listed += 1
        lists.append(xl)
    return lists
