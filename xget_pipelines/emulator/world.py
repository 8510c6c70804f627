"""The synthetic world the emulator serves: configuration, generation and lookups.

A world is a pure function of its `WorldConfig` (seed, end date and sizes): generating it
twice gives identical users, ids, texts and bursts, so tests and benchmarks can state exact
expectations. Generation is single-pass and allocation-light so the demo size (3,000 users,
100,000 tweets) builds in a few seconds.
"""

from __future__ import annotations

import gc
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

from . import gen_people, gen_social, showcase, vocab
from .crowd import UserTable
from .deep import Deep, make_deep
from .gen_about import about_of
from .gen_campaigns import Campaign, make_campaigns
from .gen_schedule import assign_ids, burst_times, plan_bursts, tweet_times
from .gen_tweets import TweetFactory
from .model import LIMITED, About, Burst, Community, Tweet, User, XList

_DAY_MS = 86_400_000


def _default_end() -> date:
    return datetime.now(UTC).date() + timedelta(days=1)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass
class WorldConfig:
    """Sizes and seed of a world. The world covers the UTC days [end - days, end)."""

    seed: int = 7
    users: int = 300
    tweets: int = 5000
    days: int = 30
    end: date = field(default_factory=_default_end)
    bursts: int = 6
    burst_size: int | None = None  # extra tweets per burst; default max(20, tweets // 150)
    lists: int = 4
    communities: int = 3
    showcase: bool = True  # add the kitchen-sink accounts used by the shape tests
    deep: bool = True  # add the deep corner (deep.py): a flood term, a famous account, a long thread
    deep_followers: int = 20_500
    deep_flood: int = 5_200
    deep_replies: int = 540
    # Accounts suspended, and accounts that went private, after they posted (hydration's attrition): drawn
    # among the posting accounts with a generator of their own, so 0 (the default) leaves a world as it was.
    suspended_posters: int = 0
    protected_posters: int = 0
    # Coordinated campaigns (gen_campaigns.py; synthetic ground truth for the coordination detector): how
    # many, members per campaign (low, high), action rounds per active day, and noise accounts per campaign
    # that share its links at random times. Drawn from a generator of their own: 0 campaigns changes nothing.
    campaigns: int = 3
    campaign_members: tuple[int, int] = (8, 15)
    campaign_rounds_per_day: int = 4
    campaign_noise: int = 4

    def __post_init__(self) -> None:
        if isinstance(self.end, str):
            self.end = date.fromisoformat(self.end)
        elif isinstance(self.end, datetime):
            self.end = self.end.date()
        if (
            self.users < 2
            or self.tweets < 0
            or self.days < 1
            or self.bursts < 0
            or self.communities < 0
            or self.suspended_posters < 0
            or self.protected_posters < 0
            or self.campaigns < 0
            or self.campaign_noise < 0
            or self.campaign_rounds_per_day < 1
            or not 2 <= self.campaign_members[0] <= self.campaign_members[1]
        ):
            raise ValueError(f"invalid world size: {self}")
        self.campaign_members = tuple(self.campaign_members)
        if self.burst_size is None:
            self.burst_size = max(20, self.tweets // 150)

    @property
    def end_ms(self) -> int:
        return int(datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC).timestamp() * 1000)

    @property
    def start_ms(self) -> int:
        return self.end_ms - self.days * _DAY_MS


@dataclass(eq=False, repr=False)
class World:
    cfg: WorldConfig
    users: UserTable  # by idx; a plain list of users is wrapped
    tweets: list[Tweet]  # ascending id (= creation time)
    bursts: list[Burst]
    lists: list[XList]
    showcase: showcase.Showcase | None = None
    communities: list[Community] = field(default_factory=list)
    deep: Deep | None = None
    campaigns: list[Campaign] = field(default_factory=list)
    _by_name: dict[str, User] = field(default_factory=dict, repr=False)
    _by_uid: dict[int, User] = field(default_factory=dict, repr=False)
    _by_tid: dict[int, Tweet] = field(default_factory=dict, repr=False)
    _about: dict[int, About] = field(default_factory=dict, repr=False)  # by user idx (showcase: fixed)

    def __post_init__(self) -> None:
        if not isinstance(self.users, UserTable):
            self.users = UserTable(list(self.users))
        self._by_name = {u.screen_name.lower(): u for u in self.users.people}
        self._by_uid = {u.id: u for u in self.users.people}
        self._by_tid = {t.id: t for t in self.tweets}
        self.ids = [t.id for t in self.tweets]

    @classmethod
    def generate(cls, cfg: WorldConfig | None = None) -> World:
        """The world of ``cfg``. Building one allocates hundreds of thousands of linked objects and frees
        almost none, so the cyclic garbage collector, which would walk the growing heap again and again
        for nothing, is paused meanwhile (measured: it took 60% of the default world's build time)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            return cls._build(cfg or WorldConfig())
        finally:
            if enabled:
                gc.enable()

    @classmethod
    def _build(cls, cfg: WorldConfig) -> World:
        rng = random.Random(cfg.seed)
        start_ms, end_ms = cfg.start_ms, cfg.end_ms
        users = gen_people.make_users(rng, cfg.users, start_ms)
        gen_people.make_follow_graph(rng, users)
        sc_users = showcase.make_users(len(users), start_ms) if cfg.showcase else []
        bursts = plan_bursts(rng, cfg.bursts, cfg.burst_size or 0, start_ms, end_ms)
        specs = [(ms, -1) for ms in tweet_times(rng, cfg.tweets, start_ms, cfg.days)]
        for i, burst in enumerate(bursts):
            specs.extend((ms, i) for ms in burst_times(rng, burst))
        if sc_users:
            specs.extend((start_ms + (10 + i) * 60_000, -2) for i in range(len(showcase.SLOTS)))
        factory = TweetFactory(rng, users, bursts)
        tweets: list[Tweet] = []
        sc_slots: list[tuple[int, int]] = []
        for tid, ms, tag in assign_ids(specs):
            if tag == -2:
                sc_slots.append((tid, ms))
                continue
            author = factory.pick_author()
            tweet = factory.make(tid, ms, author, tag)
            author.tweets.append(tweet)
            tweets.append(tweet)
        lists = gen_people.make_lists(rng, users, cfg.lists, start_ms)
        _pin_tweets(rng, users)
        # What follows draws from generators of its own: the users, follows and posts above stay as they
        # were before the deep corner, communities, bots and subscriptions existed.
        deep = None
        if cfg.deep:
            deep = make_deep(
                cfg.seed,
                len(users) + len(sc_users),
                start_ms,
                end_ms,
                cfg.deep_followers,
                cfg.deep_flood,
                cfg.deep_replies,
            )
            tweets.extend(deep.tweets)
        social = random.Random(f"{cfg.seed}:social")
        communities = gen_social.make_communities(social, users, cfg.communities, start_ms)
        gen_social.mark_automated(social, users, deep.posters if deep else users)
        gen_social.make_subscriptions(social, users)
        sc, about = None, {}
        if sc_users:
            sc_tweets = showcase.make_tweets(users, sc_users, sc_slots)
            tweets.extend(sc_tweets.values())
            xlist = showcase.make_list(sc_users, start_ms)
            lists.append(xlist)
            community = showcase.make_community(users, sc_users, sc_tweets, start_ms)
            communities.append(community)
            sc = showcase.Showcase(*sc_users, sc_tweets, xlist, community)
            about = showcase.make_about(sc_users, end_ms)
        _attrition(cfg, users)
        people = users + sc_users + ([deep.famous] if deep else [])
        head = len(people)
        campaigns: list[Campaign] = []
        if cfg.campaigns:
            campaigns, accounts, posts = make_campaigns(
                cfg.seed,
                head + (len(deep.crowd) if deep else 0),
                {u.screen_name.lower() for u in people},
                start_ms,
                end_ms,
                cfg.campaigns,
                cfg.campaign_members,
                cfg.campaign_rounds_per_day,
                cfg.campaign_noise,
            )
            people += accounts
            tweets.extend(posts)
        tweets.sort(key=lambda t: t.id)
        for pos, tweet in enumerate(tweets):
            tweet.pos = pos
        return cls(
            cfg=cfg,
            users=UserTable(people, deep.crowd if deep else None, head),
            tweets=tweets,
            bursts=bursts,
            lists=lists,
            showcase=sc,
            communities=communities,
            deep=deep,
            campaigns=campaigns,
            _about=about,
        )

    def __repr__(self) -> str:
        sizes = f"users={len(self.users)}, tweets={len(self.tweets)}"
        return f"World(seed={self.cfg.seed}, {sizes}, end={self.cfg.end})"

    # lookups ---------------------------------------------------------------------------------

    def user_by_screen_name(self, name: str) -> User | None:
        name = name.lstrip("@").lower()
        user = self._by_name.get(name)
        if user is None and self.users.crowd is not None:
            user = self.users.crowd.by_name(name)
        return user

    def user_by_id(self, uid: int | str) -> User | None:
        try:
            uid = int(uid)
        except (TypeError, ValueError):
            return None
        user = self._by_uid.get(uid)
        if user is None and self.users.crowd is not None:
            user = self.users.crowd.by_id(uid)
        return user

    def tweet_by_id(self, tid: int | str) -> Tweet | None:
        try:
            return self._by_tid.get(int(tid))
        except (TypeError, ValueError):
            return None

    def list_by_id(self, lid: int | str) -> XList | None:
        return next((x for x in self.lists if str(x.id) == str(lid)), None)

    def community_by_id(self, cid: int | str) -> Community | None:
        return next((c for c in self.communities if str(c.id) == str(cid)), None)

    def about(self, user: User) -> About:
        """The user's "About this account" facts (``gen_about``), drawn when first asked for."""
        facts = self._about.get(user.idx)
        if facts is None:
            facts = self._about[user.idx] = about_of(self.cfg.seed, user, self.cfg.end_ms)
        return facts

    # summaries -------------------------------------------------------------------------------

    def summary(self) -> dict:
        return {
            "seed": self.cfg.seed,
            "users": len(self.users),
            "tweets": len(self.tweets),
            "days": self.cfg.days,
            "start": _iso(self.cfg.start_ms),
            "end": _iso(self.cfg.end_ms),
            "bursts": len(self.bursts),
            "lists": [{"id": str(x.id), "name": x.name, "members": len(x.members)} for x in self.lists],
            "communities": [
                {"id": str(c.id), "name": c.name, "members": len(c.members), "posts": len(c.tweets)}
                for c in self.communities
            ],
        }

    def ground_truth(self) -> dict:
        """What a pipeline should be able to recover: bursts, sentiment and volume counts."""
        kinds: Counter[str] = Counter()
        sentiment: Counter[str] = Counter()
        langs: Counter[str] = Counter()
        for t in self.tweets:
            kind = (
                "retweet" if t.retweeted else "reply" if t.reply_to else "quote" if t.quoted else "original"
            )
            kinds[kind] += 1
            if not t.retweeted:
                sentiment[t.sentiment] += 1
                langs[t.lang] += 1
        return {
            "bursts": [
                {
                    "term": b.term,
                    "start": _iso(b.start_ms),
                    "end": _iso(b.end_ms),
                    "tweets_added": b.tweets,
                    "sentiment_bias": b.sentiment_bias,
                }
                for b in self.bursts
            ],
            "counts": {
                "users": len(self.users),
                "tweets": len(self.tweets),
                "by_kind": dict(sorted(kinds.items())),
                "by_sentiment": dict(sorted(sentiment.items())),
                "by_lang": dict(sorted(langs.items())),
                "hidden": sum(1 for t in self.tweets if t.hidden),
                "limited": sum(1 for t in self.tweets if t.flags & LIMITED),
            },
            "showcase": self.showcase.summary() if self.showcase else None,
            "deep": self.deep.summary() if self.deep else None,
            # Synthetic: the coordinated campaigns gen_campaigns.py injected (members, noise accounts, links).
            "campaigns": [c.summary() for c in self.campaigns],
            "config": {**asdict(self.cfg), "end": self.cfg.end.isoformat()},
        }

    def watchlist_suggestions(self) -> dict[str, list[str]]:
        """Search terms, accounts and lists with plenty of data on every day of the world."""
        sc = {u.idx for u in self.users.people if u.screen_name.startswith("xget_")}
        sc |= {u.idx for c in self.campaigns for u in c.members + c.noise}  # injected, not suggested
        authors = [u for u in self.users.people if not (u.protected or u.unavailable or u.idx in sc)]
        authors.sort(key=lambda u: (-len(u.tweets), u.idx))
        return {
            "terms": list(vocab.WATCH_TERMS),
            "users": [u.screen_name for u in authors[:3]],
            "lists": [str(x.id) for x in self.lists if x.owner.idx not in sc][:2],
            "communities": [str(c.id) for c in self.communities if c.creator.idx not in sc][:2],
        }


def _attrition(cfg: WorldConfig, users: list[User]) -> None:
    """Suspend ``cfg.suspended_posters`` and protect ``cfg.protected_posters`` accounts that have posts: on X
    a suspended account's posts stay (lookups answer TweetUnavailable, ops_lookup.py), and a generated
    suspended account never posts at all (gen_people.py gives it no activity)."""
    wanted = cfg.suspended_posters + cfg.protected_posters
    if not wanted:
        return
    rng = random.Random(f"{cfg.seed}:attrition")
    posters = [u for u in users if u.tweets and not (u.protected or u.unavailable)]
    chosen = rng.sample(posters, min(wanted, len(posters)))
    for i, user in enumerate(chosen):
        if i < cfg.suspended_posters:
            user.unavailable = True
        else:
            user.protected = True


def _pin_tweets(rng: random.Random, users: list[User]) -> None:
    for user in users:
        originals = [t for t in user.tweets if not (t.reply_to or t.retweeted or t.hidden)]
        if len(originals) >= 5 and rng.random() < 0.3:
            user.pinned = max(originals, key=lambda t: (t.pop, t.id))
