"""Structure added to the world once its posts are written: communities (members, roles, the posts made
to them), automated accounts and creator subscriptions.

Each function draws from the generator it is given, which the world seeds apart from the one that wrote
the users, follows and posts: adding these changed none of those.
"""

from __future__ import annotations

import random

from . import vocab
from .model import NOT_SHARED, Community, CommunityRule, User, snowflake

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000


def make_communities(rng: random.Random, users: list[User], count: int, start_ms: int) -> list[Community]:
    """Up to ``count`` topic communities: the topic's most followed fan is the admin, the next one or two
    moderate, about two thirds of the other fans are members; a third of each member's own posts on the
    topic were posted to the community, a fifth of those without also sharing them with followers."""
    out = []
    for i, (topic, name, topic_name, description) in enumerate(vocab.COMMUNITIES[:count]):
        fans = [u for u in users if topic in u.topics and not u.unavailable]
        if len(fans) < 3:
            continue
        fans.sort(key=lambda u: (-u.popularity, u.idx))
        staff = fans[: 1 + rng.randrange(1, 3)]
        others = [u for u in fans[len(staff) :] if rng.random() < 0.7]
        rng.shuffle(others)  # the order they joined in, newest first, as X lists members
        created = start_ms - rng.randrange(200, 1500) * _DAY_MS
        picked = rng.sample(vocab.COMMUNITY_RULES, rng.randrange(2, len(vocab.COMMUNITY_RULES) + 1))
        rules = tuple(
            CommunityRule(snowflake(created + (n + 1) * _HOUR_MS, 0x2000 + n), rule, detail)
            for n, (rule, detail) in enumerate(picked)
        )
        community = Community(
            id=snowflake(created, 0x1800 + i),
            name=name,
            description=description,
            topic=topic_name,
            created_ms=created,
            rules=rules,
            members=staff + others,
            moderators=len(staff),
        )
        post_to(rng, community, topic)
        out.append(community)
    return out


def post_to(rng: random.Random, community: Community, topic: str | None, share: float = 0.35) -> None:
    """Marks a share of the members' own top-level posts (on ``topic``, if given) as posted to it."""
    for member in community.members:
        if member.protected:
            continue
        for t in member.tweets:
            if (
                t.community is None
                and t.reply_to is None
                and t.retweeted is None
                and not t.hidden
                and (topic is None or t.topic == topic)
                and rng.random() < share
            ):
                t.community = community
                if rng.random() < 0.2:
                    t.flags |= NOT_SHARED
                community.tweets.append(t)
    community.tweets.sort(key=lambda t: t.id)


def mark_automated(rng: random.Random, users: list[User], owners: list[User], share: float = 0.01) -> None:
    """A few accounts are bots run by another account: X labels them "Automated by @owner", naming the
    owner in a stub User object (raw_verified_followers.json). twscrape 0.20.1 keeps the last User object
    of an id on a page, so a stub after the owner's own object costs it the owner (and the owner's posts);
    the world draws owners from ``owners`` (the deep corner's quiet crowd, when there is one), accounts that
    share no page with the bots, so ordinary pages stay readable by it."""
    owners = [u for u in owners if not (u.unavailable or u.protected)]
    for user in users:
        if user.unavailable or user.affiliate or rng.random() >= share:
            continue
        owner = rng.choice(owners)
        if owner is not user:
            user.automated_by = owner


def make_subscriptions(rng: random.Random, users: list[User], share: float = 0.3) -> None:
    """Some accounts pay to subscribe to creators they follow (blue-verified professional accounts)."""
    creators = {u.idx for u in users if u.blue and u.professional and not (u.unavailable or u.protected)}
    for user in users:
        if user.unavailable:
            continue
        followed = [i for i in user.following if i in creators]
        if followed and rng.random() < share:
            user.subscriptions = rng.sample(followed, min(len(followed), rng.randrange(1, 4)))
