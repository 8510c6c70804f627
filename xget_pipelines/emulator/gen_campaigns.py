"""Coordinated campaigns: groups of accounts that post the same link and near-identical text within
seconds of each other, several times a day, and retweet the same posts together.

SYNTHETIC GROUND TRUTH. Nothing here imitates a particular real campaign; the injections follow what the
coordination literature describes as the signature to look for (Pacheco et al., ICWSM 2021, "Uncovering
Coordinated Networks on Social Media"; Giglietto et al. 2020, CooRnet's "coordinated link sharing
behaviour": the same URL shared by the same accounts within seconds, again and again; Weber & Neumann 2021,
co-retweets and co-URLs within short windows) so that a detector can be scored against it
(``World.ground_truth()["campaigns"]``). Each campaign also has *noise accounts* that share the campaign's
links at random times with texts of their own: what organic sharing of a popular link looks like, which a
detector must not cluster.

Decisions, and why:

- campaign accounts and noise accounts are *new* accounts (recently created, as campaign accounts often
  are), added after the crowd of the deep corner, and every post draws from ``Random(f"{seed}:campaigns")``
  with ids in a sequence range of their own (``_SEQ``): the rest of the world (users, ids, texts, bursts)
  is the same with or without campaigns;
- their texts contain one of the watchlist's plain terms (``vocab.WATCH_TERMS``), so the demo's searches
  see them; they carry *no hashtag*, so no hashtag's hourly count (what the trend detector scores) moves;
- links are rendered like every other link of the world (``Tweet.urls`` plus its t.co token in the text;
  ``render_parts.text_entities`` writes the ``urls`` entity with ``expanded_url``);
- a round is one campaign action: most members act within ``_SPREAD_S`` seconds of its start (post the
  round's link with a variant of its message, or retweet the post a member has just made), at
  ``rounds_per_day`` random times of each active day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import vocab
from .model import Tweet, User, retweet_of, snowflake, tco

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_SEQ = 0x200000  # campaign ids: sequence numbers no other part of the world uses
_SPREAD_S = 45  # a round's members act within this many seconds of its start
_RETWEET_ROUNDS = 0.35  # share of rounds that are a post by one member retweeted by the others
_TERMS = tuple(t for t in vocab.WATCH_TERMS if not t.startswith("#"))  # plain terms: no hashtag added
# Invented campaign messages ({t}: the campaign's term, {T}: capitalised). Labelled neutral: they hold none of
# the sentiment words (vocab.POSITIVE / NEGATIVE) the world's labels rest on.
_MESSAGES = (
    "Everyone working on {t} needs to read this",
    "The truth about {t} they do not want you to see",
    "This changes everything for {t}",
    "Stop scrolling and read this about {t}",
    "{T} news you will not hear anywhere else",
    "Share before it is gone: {t} exposed",
    "Finally someone says it about {t}",
    "Big if true: the {t} report",
    "Why is nobody talking about this {t} story",
    "The {t} scandal in one thread",
)
# Small edits members make to the shared message (case, punctuation, an emoji): near-identical texts.
_VARIANTS = ("{m}", "{m}!", "{m}!!", "{m} 👇", "🚨 {m}", "{m}.", "{u}", "{m} ⬇️")
_NOISE_TEXTS = (
    "interesting read on {t}",
    "saw this {t} link shared around, not sure what to make of it",
    "someone sent me this about {t}",
    "bookmarking this {t} piece for later",
)


def _iso(ms: int) -> str:
    """The ground truth's timestamp format (as World.ground_truth writes bursts)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass(eq=False)
class Campaign:
    """Ground truth of one injected campaign."""

    id: str
    term: str
    members: list[User]
    noise: list[User]
    links: list[str]
    start_ms: int
    end_ms: int
    rounds_per_day: int
    tweets: list[Tweet] = field(default_factory=list)

    def summary(self) -> dict:
        def people(users: list[User]) -> list[dict]:
            return [{"id": str(u.id), "screen_name": u.screen_name} for u in users]

        return {
            "id": self.id,
            "term": self.term,
            "members": people(self.members),
            "noise_accounts": people(self.noise),
            "links": list(self.links),
            "start": _iso(self.start_ms),
            "end": _iso(self.end_ms),
            "cadence": {
                "rounds_per_day": self.rounds_per_day,
                "seconds_within": _SPREAD_S,
                "retweet_round_share": _RETWEET_ROUNDS,
            },
            "tweets": len(self.tweets),
        }


def make_campaigns(
    seed: int,
    first_idx: int,
    taken: set[str],
    start_ms: int,
    end_ms: int,
    count: int,
    members: tuple[int, int],
    rounds_per_day: int,
    noise: int,
) -> tuple[list[Campaign], list[User], list[Tweet]]:
    """``count`` campaigns whose accounts take indexes from ``first_idx`` up; ``taken`` holds the world's
    handles (lower case), which new handles avoid. Returns the campaigns, their new accounts (members and
    noise, in index order) and every post, ascending id."""
    rng = random.Random(f"{seed}:campaigns")
    days = (end_ms - start_ms) // _DAY_MS
    users: list[User] = []
    writer = _Writer(rng)
    campaigns = []
    for c in range(count):
        term = _TERMS[c % len(_TERMS)]
        size = rng.randint(*members)
        crew = [_account(rng, first_idx + len(users) + i, taken, start_ms, term) for i in range(size)]
        users += crew
        chance = [_account(rng, first_idx + len(users) + i, taken, start_ms, term) for i in range(noise)]
        users += chance
        domain = rng.choice(vocab.DOMAINS)
        links = [f"https://{domain}/{term}-report-{c}{n:02d}" for n in range(rng.randint(4, 7))]
        first_day = rng.randrange(0, max(1, days * 2 // 5))
        last_day = max(first_day + 1, days - rng.randrange(0, 2))
        campaign = Campaign(
            id=f"campaign-{c + 1}",
            term=term,
            members=crew,
            noise=chance,
            links=links,
            start_ms=start_ms + first_day * _DAY_MS,
            end_ms=start_ms + last_day * _DAY_MS,
            rounds_per_day=rounds_per_day,
        )
        messages = rng.sample(_MESSAGES, 5)
        for day in range(first_day, last_day):
            times = sorted(
                start_ms + day * _DAY_MS + rng.randrange(7 * _HOUR_MS, 23 * _HOUR_MS)
                for _ in range(rounds_per_day)
            )
            for ms in times:
                message = rng.choice(messages)
                _round(rng, writer, campaign, ms, message.format(t=term, T=term.capitalize()), "neutral")
        for user in chance:  # the links again, by accounts that happen on them at random times
            for _ in range(rng.randint(1, 3)):
                ms = rng.randrange(campaign.start_ms, campaign.end_ms)
                text = rng.choice(_NOISE_TEXTS).format(t=term)
                campaign.tweets.append(writer.post(ms, user, text, rng.choice(links), "neutral"))
        campaign.tweets.sort(key=lambda t: t.id)
        campaigns.append(campaign)
    tweets = sorted((t for c in campaigns for t in c.tweets), key=lambda t: t.id)
    for tweet in tweets:
        tweet.author.tweets.append(tweet)
    return campaigns, users, tweets


def _round(
    rng: random.Random, writer: _Writer, campaign: Campaign, ms: int, message: str, sentiment: str
) -> None:
    """One action of the campaign at ``ms``: most members act within ``_SPREAD_S`` seconds."""
    acting = [u for u in campaign.members if rng.random() < 0.85]
    if len(acting) < 2:
        acting = rng.sample(campaign.members, 2)
    rng.shuffle(acting)
    link = rng.choice(campaign.links)
    offsets = sorted(rng.randrange(0, _SPREAD_S * 1000) for _ in acting)
    if rng.random() < _RETWEET_ROUNDS:
        seed_post = writer.post(ms, acting[0], message, link, sentiment)
        campaign.tweets.append(seed_post)
        for user, offset in zip(acting[1:], offsets[1:], strict=True):
            campaign.tweets.append(writer.retweet(ms + 1000 + offset, user, seed_post))
        return
    for user, offset in zip(acting, offsets, strict=True):
        text = rng.choice(_VARIANTS).format(m=message, u=message.upper())
        campaign.tweets.append(writer.post(ms + offset, user, text, link, sentiment))


class _Writer:
    """Campaign posts, with ids of their own sequence range."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.seq = _SEQ

    def _id(self, ms: int) -> int:
        self.seq += 1
        return snowflake(ms, self.seq)

    def post(self, ms: int, author: User, text: str, link: str, sentiment: str) -> Tweet:
        tid = self._id(ms)
        return Tweet(
            id=tid,
            ms=ms,
            author=author,
            text=f"{text} {tco(tid, 0)}",
            lang="en",
            sentiment=sentiment,
            urls=(link,),
            conversation_id=tid,
            topic=None,
            pop=self.rng.uniform(0.5, 3.0),
            source=self.rng.randrange(2),
        )

    def retweet(self, ms: int, author: User, target: Tweet) -> Tweet:
        return retweet_of(self._id(ms), ms, author, target, source=self.rng.randrange(2))


def _account(rng: random.Random, idx: int, taken: set[str], start_ms: int, term: str) -> User:
    """A plain, recently created account (weeks before the world starts), as campaign accounts often are."""
    first = "".join(rng.choice(vocab.SYLLABLES) for _ in range(2))
    last = "".join(rng.choice(vocab.SYLLABLES) for _ in range(2))
    base = f"{first}{last[:4]}{rng.randrange(100, 9999)}".lower()[:15]
    name = base
    n = 0
    while name in taken:
        n += 1
        name = base[: 15 - len(str(n))] + str(n)
    taken.add(name)
    created = start_ms - rng.randrange(5, 90) * _DAY_MS - rng.randrange(_DAY_MS)
    topic = next((t for t, (terms, _) in vocab.TOPICS.items() if term in terms), "python")
    return User(
        idx=idx,
        id=snowflake(created, idx),
        screen_name=name,
        name=f"{first.capitalize()} {last.capitalize()}",
        bio="" if rng.random() < 0.6 else f"News about {term}, every day.",
        location="",
        created_ms=created,
        lang="en",
        topics=(topic,),
        activity=0.0,
        popularity=0.0,
        favourites=rng.randrange(0, 50),
    )
