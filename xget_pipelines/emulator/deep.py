"""The deep corner of the world: volumes large enough to exercise collection budgets.

Issue 17 asks for "a term with more than 5,000 tweets a day, an account with more than 20,000
followers, a conversation with more than 500 replies". Growing the whole world to those sizes would
make every test world slow to build, so they live in one corner, added after everything else from a
generator of its own (the rest of the world is the same with or without it):

- ``xget_famous`` and a crowd of ``WorldConfig.deep_followers`` accounts following it (and no one
  else; nobody follows them), made one by one when read (crowd.py). About 18% are blue-verified, 3%
  protected and 0.8% suspended, as elsewhere in the world, so a follower crawl meets every kind; the
  first 1,500 are the ones who post;
- on ``day`` (the world's second-to-last day: yesterday for a default world, whose end is tomorrow),
  ``deep_flood`` posts by the crowd with the word ``xgetflood``, spread over the day's hours with the
  world's daily rhythm. They carry no hashtags, so no hashtag's trend baseline changes;
- the same day, a post by xget_famous with ``deep_replies`` direct replies from the crowd and a tenth
  as many follow-ups under them, a third of those by xget_famous itself;
- one post by xget_famous on each of the other days, so it is an account with data on every day.

Crowd accounts post only in English, from the same templates as the rest of the world, so their
sentiment labels hold. Ids use sequence numbers from 0x300000 up, which the rest of the world never
reaches, so no id of the rest changes.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime

from . import vocab
from .crowd import Crowd
from .gen_schedule import tweet_times
from .model import SENTIMENTS, Tweet, User, snowflake

FAMOUS = "xget_famous"
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_POSTERS = 1500  # the crowd's members who post (the first ones): the rest only follow
_SEQ = 0x300000
_SOURCE_CUM = (45, 75, 97, 100)


@dataclass(eq=False)
class Deep:
    famous: User
    crowd: Crowd  # made member by member when read (crowd.py)
    posters: list[User]  # the members who post
    day_ms: int  # start of the flood's day (UTC)
    flood: list[Tweet]
    root: Tweet  # the conversation with the most replies
    tweets: list[Tweet]  # every post of the corner, ascending id
    term: str = vocab.FLOOD_TERM

    def summary(self) -> dict:
        conversation = [t for t in self.tweets if t.conversation_id == self.root.id and t is not self.root]
        return {
            "user": self.famous.screen_name,
            "user_id": str(self.famous.id),
            "followers": len(self.famous.followers),
            "blue_verified_followers": self.crowd.blue_verified(),
            "term": self.term,
            "day": datetime.fromtimestamp(self.day_ms / 1000, tz=UTC).date().isoformat(),
            "term_posts_on_day": len(self.flood),
            "conversation_id": str(self.root.id),
            "direct_replies": len(self.root.replies),
            "conversation_replies": len(conversation),
        }


def make_deep(
    seed: int,
    first_idx: int,
    start_ms: int,
    end_ms: int,
    followers: int,
    flood: int,
    replies: int,
) -> Deep:
    """The corner of a world whose own users take indexes ``[0, first_idx)``: xget_famous gets
    ``first_idx``, its crowd the ``followers`` indexes after it."""
    rng = random.Random(f"{seed}:deep")
    days = (end_ms - start_ms) // _DAY_MS
    day_ms = start_ms + max(0, days - 2) * _DAY_MS
    famous = _famous(first_idx, start_ms)
    crowd = Crowd(seed, first_idx + 1, followers, start_ms, famous.idx)
    famous.followers = list(range(first_idx + 1, first_idx + 1 + followers))
    posters = [u for u in crowd[:_POSTERS] if not (u.protected or u.unavailable)] or [famous]
    writer = _Writer(rng)
    tweets: list[Tweet] = []
    root = None
    for d in range(days):
        day = start_ms + d * _DAY_MS
        ms = day + (8 if day == day_ms else 12) * _HOUR_MS + rng.randrange(_HOUR_MS)
        post = writer.post(ms, famous, vocab.FAMOUS_TERM, pop=900.0)
        tweets.append(post)
        if day == day_ms:
            root = post
    assert root is not None  # days >= 1, so day_ms is one of the world's days
    n_posters, rand = len(posters), rng.random
    flood_posts = [
        writer.post(ms, posters[int(rand() * n_posters)], vocab.FLOOD_TERM, pop=3.0)
        for ms in sorted(tweet_times(rng, flood, day_ms, 1))
    ]
    tweets += flood_posts
    day_end = day_ms + _DAY_MS - 60_000
    direct = [
        writer.reply(ms, rng.choice(posters), root)
        for ms in sorted(
            min(day_end, root.ms + 60_000 + int(rng.expovariate(1 / (3 * _HOUR_MS)))) for _ in range(replies)
        )
    ]
    follow_ups = []
    for _ in range(replies // 10):
        parent = rng.choice(direct)
        author = famous if rng.random() < 1 / 3 else rng.choice(posters)
        follow_ups.append((rng.randrange(parent.ms + 1, max(parent.ms + 2, day_end)), author, parent))
    tweets += direct
    tweets += [
        writer.reply(ms, author, parent) for ms, author, parent in sorted(follow_ups, key=lambda f: f[0])
    ]
    tweets.sort(key=lambda t: t.id)
    for t in tweets:
        t.author.tweets.append(t)
    return Deep(famous, crowd, posters, day_ms, flood_posts, root, tweets)


class _Writer:
    """Writes the corner's posts from the world's English templates, with ids of its own sequence."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.seq = _SEQ
        self._texts: dict[str, list[tuple[str, str]]] = {}

    def _id(self, ms: int) -> int:
        self.seq += 1
        return snowflake(ms, self.seq)

    def _source(self) -> int:
        return bisect_right(_SOURCE_CUM, self.rng.random() * _SOURCE_CUM[-1])

    def _sentence(self, term: str) -> tuple[str, str]:
        """(text, sentiment): a template of a random sentiment filled with ``term`` and a word of it."""
        texts = self._texts.get(term)
        if texts is None:
            texts = self._texts[term] = [
                (template.format(t=term, w=word), sentiment)
                for sentiment in SENTIMENTS
                for template in vocab.TEMPLATES["en"][sentiment]
                for word in (vocab.NEGATIVE if sentiment == "negative" else vocab.POSITIVE)["en"]
            ]
        return texts[int(self.rng.random() * len(texts))]

    def post(self, ms: int, author: User, term: str, pop: float) -> Tweet:
        text, sentiment = self._sentence(term)
        tid = self._id(ms)
        return Tweet(
            id=tid,
            ms=ms,
            author=author,
            text=text,
            lang="en",
            sentiment=sentiment,
            conversation_id=tid,
            pop=pop * (0.2 + 3 * self.rng.random() ** 3),
            source=self._source(),
        )

    def reply(self, ms: int, author: User, parent: Tweet) -> Tweet:
        rng = self.rng
        sentiment = rng.choice(SENTIMENTS)
        words = vocab.POSITIVE if sentiment == "positive" else vocab.NEGATIVE
        opener = rng.choice(vocab.REPLY_OPENERS[sentiment]).format(w=rng.choice(words["en"]))
        tweet = Tweet(
            id=self._id(ms),
            ms=ms,
            author=author,
            text=f"@{parent.author.screen_name} {opener}",
            lang="en",
            sentiment=sentiment,
            mentions=(parent.author,),
            reply_to=parent,
            conversation_id=parent.conversation_id,
            pop=rng.lognormvariate(0, 1.0),
            source=self._source(),
        )
        parent.replies.append(tweet)
        return tweet


def _famous(idx: int, start_ms: int) -> User:
    created = start_ms - 3000 * _DAY_MS
    return User(
        idx=idx,
        id=snowflake(created, idx),
        screen_name=FAMOUS,
        name="Famous Account",
        bio="Posts that thousands answer: the emulator's deep corner.",
        location="Austin",
        created_ms=created,
        lang="en",
        topics=("space",),
        activity=0.0,
        popularity=1000.0,
        blue=True,
        professional="Journalist",
        website=f"https://example.com/{FAMOUS}",
        favourites=1200,
        listed=850,
        extra_statuses=4000,
    )
