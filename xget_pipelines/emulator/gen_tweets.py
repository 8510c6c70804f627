"""Writing the tweet stream: kinds, text with sentiment, entities, media, rare flags.

Tweets are written in time order (times come from `gen_schedule`) so replies, quotes and
retweets always point to earlier posts, preferring recent and popular ones as people do.
"""

from __future__ import annotations

import itertools
import random

from . import vocab
from .model import (
    ARTICLE,
    BIRDWATCH,
    DELETED,
    EDITED,
    LIMITED,
    WITHHELD,
    Burst,
    Media,
    Place,
    Tweet,
    User,
    retweet_of,
    snowflake,
    tco,
)

_PHOTO_SIZES = ((1200, 675), (1080, 1080), (1600, 900), (900, 1200))
_VIDEO_SIZES = ((1280, 720), (720, 1280), (1920, 1080))
_TOPIC_NAMES = tuple(vocab.TOPIC_WEIGHTS)
_TOPIC_CUM = tuple(itertools.accumulate(vocab.TOPIC_WEIGHTS.values()))
_SOURCE_CUM = tuple(itertools.accumulate(vocab.SOURCE_WEIGHTS))
_PLACES = tuple(Place(*p) for p in vocab.PLACES)


class TweetFactory:
    """Writes tweets one by one in time order; keeps the pools that replies and retweets draw on."""

    def __init__(self, rng: random.Random, users: list[User], bursts: list[Burst]):
        self.rng = rng
        self.users = users
        self.bursts = bursts
        self.pool: list[Tweet] = []  # visible originals/quotes that others react to
        self.burst_pool: dict[int, list[Tweet]] = {}
        self.videos: list[Tweet] = []
        authors = [u for u in users if u.activity > 0]
        self._authors = authors
        self._author_cum = list(itertools.accumulate(u.activity for u in authors))

    def pick_author(self) -> User:
        return self.rng.choices(self._authors, cum_weights=self._author_cum)[0]

    def _recent(self, pool: list[Tweet], tournament: int) -> Tweet | None:
        if not pool:
            return None
        rng, n = self.rng, len(pool)
        best = None
        for _ in range(tournament):
            cand = pool[n - 1 - min(n - 1, int(rng.expovariate(1 / 400)))]
            if best is None or cand.pop > best.pop:
                best = cand
        return best

    def _topic(self, author: User) -> str:
        rng = self.rng
        if rng.random() < 0.75:
            return rng.choice(author.topics)
        return rng.choices(_TOPIC_NAMES, cum_weights=_TOPIC_CUM)[0]

    def _sentence(self, lang: str, sentiment: str, term: str) -> tuple[str, str | None]:
        rng = self.rng
        templates = vocab.TEMPLATES[lang][sentiment]
        ti = rng.randrange(len(templates))
        wi = rng.randrange(len(vocab.POSITIVE["en"]))
        words = vocab.POSITIVE if sentiment == "positive" else vocab.NEGATIVE
        text = templates[ti].format(t=term, w=words[lang][wi])
        english = (
            None if lang == "en" else vocab.TEMPLATES["en"][sentiment][ti].format(t=term, w=words["en"][wi])
        )
        return text, english

    def make(self, tid: int, ms: int, author: User, burst: int = -1) -> Tweet:
        rng = self.rng
        roll = rng.random()
        if burst >= 0:
            return self._burst_tweet(tid, ms, author, burst, roll)
        if roll < 0.12:
            target = self._recent(self.pool, 3)
            if target is not None and target.author is not author:
                return self._retweet(tid, ms, author, target)
        parent = quoted = None
        if roll < 0.28:
            parent = self._pick_parent(author)
        elif roll < 0.34:
            quoted = self._recent(self.pool, 2)
        return self._post(tid, ms, author, self._topic(author), None, parent, quoted, burst)

    def _pick_parent(self, author: User) -> Tweet | None:
        own = author.tweets
        if own and self.rng.random() < 0.25 and own[-1].retweeted is None and not own[-1].hidden:
            return own[-1]
        return self._recent(self.pool, 2)

    def _burst_tweet(self, tid: int, ms: int, author: User, burst: int, roll: float) -> Tweet:
        earlier = self.burst_pool.setdefault(burst, [])
        if roll < 0.2 and earlier:
            target = self.rng.choice(earlier)
            if target.author is not author:
                return self._retweet(tid, ms, author, target)
        parent = self.rng.choice(earlier) if roll > 0.9 and earlier else None
        bias = self.bursts[burst].sentiment_bias
        sentiment = bias if self.rng.random() < 0.7 else None
        tweet = self._post(tid, ms, author, self._topic(author), sentiment, parent, None, burst)
        earlier.append(tweet)
        return tweet

    def _retweet(self, tid: int, ms: int, author: User, target: Tweet) -> Tweet:
        return retweet_of(tid, ms, author, target, source=self._source())

    def _source(self) -> int:
        return self.rng.choices(range(len(_SOURCE_CUM)), cum_weights=_SOURCE_CUM)[0]

    def _post(
        self,
        tid: int,
        ms: int,
        author: User,
        topic: str,
        sentiment: str | None,
        parent: Tweet | None,
        quoted: Tweet | None,
        burst: int,
    ) -> Tweet:
        rng = self.rng
        lang = author.lang if rng.random() < 0.9 else "en"
        sentiment = sentiment or rng.choice(("positive", "positive", "negative", "neutral", "neutral"))
        terms, tags = vocab.TOPICS[topic]
        term = terms[0] if rng.random() < 0.5 else rng.choice(terms)
        if parent is not None and rng.random() < 0.7:
            opener = rng.choice(vocab.REPLY_OPENERS[sentiment])
            words = vocab.POSITIVE if sentiment == "positive" else vocab.NEGATIVE
            text, english = opener.format(w=words["en"][rng.randrange(8)]), None
            lang = "en"
        else:
            text, english = self._sentence(lang, sentiment, term)
        long_post = rng.random() < 0.03
        while long_post and len(text) < 320:
            more, more_en = self._sentence(lang, sentiment, rng.choice(terms))
            text += ". " + more
            english = english + ". " + more_en if english else None
        hashtags: list[str] = []
        if burst >= 0:
            hashtags.append(self.bursts[burst].term[1:])
        if rng.random() < 0.45:
            hashtags.append(rng.choice(tags))
            if rng.random() < 0.2:
                hashtags.append(rng.choice(tags))
        hashtags = list(dict.fromkeys(hashtags))
        mentions: list[User] = []
        if parent is not None:
            mentions.append(parent.author)
        if rng.random() < 0.1 and author.following:
            mentions.append(self.users[rng.choice(author.following)])
        mentions = list(dict.fromkeys(m for m in mentions if m is not author or parent is not None))
        body = text
        if hashtags:
            body += " " + " ".join("#" + h for h in hashtags)
        if rng.random() < 0.3:
            body += " " + rng.choice(vocab.FILLERS)
        extra_mentions = [m for m in mentions if parent is None or m is not parent.author]
        if extra_mentions:
            body += " " + " ".join("@" + m.screen_name for m in extra_mentions)
        urls: list[str] = []
        if rng.random() < 0.18:
            slug = term.replace(" ", "-")
            urls.append(f"https://{rng.choice(vocab.DOMAINS)}/{slug}/{tid % 100000}")
            body += " " + tco(tid, 0)
        if english is not None:
            english += body[len(text) :]
        if parent is not None:
            body = f"@{parent.author.screen_name} " + body
            english = f"@{parent.author.screen_name} " + english if english else None
        media = self._media(tid, ms, author) if rng.random() < 0.22 else ()
        tweet = Tweet(
            id=tid,
            ms=ms,
            author=author,
            text=body,
            lang=lang,
            sentiment=sentiment,
            hashtags=tuple(hashtags),
            mentions=tuple(mentions),
            urls=tuple(urls),
            media=media,
            reply_to=parent,
            quoted=quoted,
            conversation_id=parent.conversation_id if parent else tid,
            translation=english,
            topic=topic,
            burst=burst,
            source=self._source(),
        )
        if urls and not media and rng.random() < 0.4:
            tweet.card = rng.choices(("summary_large_image", "summary", "player"), weights=(70, 25, 5))[0]
        if rng.random() < 0.015:
            tweet.place = rng.choice(_PLACES)
        tweet.flags = self._flags(bool(urls))
        followers = len(author.followers)
        tweet.pop = (followers + 3) ** 0.75 * rng.lognormvariate(0, 1.0) * (1.5 if media else 1.0)
        tweet.pop *= 0.15 if parent is not None else 2.0 if burst >= 0 else 1.0
        if parent is not None:
            parent.replies.append(tweet)
        if quoted is not None:
            quoted.n_quotes += 1
        if not tweet.hidden and not author.protected and not tweet.flags & LIMITED:
            self.pool.append(tweet)
        if any(m.kind == "video" for m in media):
            self.videos.append(tweet)
        return tweet

    def _flags(self, has_url: bool) -> int:
        r, flags = self.rng.random(), 0
        if r < 0.02:
            flags |= EDITED
        elif r < 0.03:
            flags |= LIMITED
        elif r < 0.035:
            flags |= DELETED
        elif r < 0.037:
            flags |= WITHHELD
        elif r < 0.042:
            flags |= BIRDWATCH
        if has_url and self.rng.random() < 0.02:
            flags |= ARTICLE
        return flags

    def _media(self, tid: int, ms: int, author: User) -> tuple[Media, ...]:
        rng = self.rng
        kind = rng.choices(("photo", "video", "animated_gif"), weights=(70, 22, 8))[0]
        author.media_count += 1

        def media_id(i: int) -> int:
            return snowflake(ms - rng.randrange(1_000, 60_000), (tid + i) & 0xFFF)

        if kind == "photo":
            photos = []
            for i in range(rng.choice((1, 1, 1, 2, 3, 4))):
                w, h = rng.choice(_PHOTO_SIZES)
                tagged = (
                    (self.users[rng.choice(author.following)],)
                    if author.following and rng.random() < 0.05
                    else ()
                )
                photos.append(
                    Media(
                        "photo",
                        media_id(i),
                        w,
                        h,
                        faces=rng.choice((0, 0, 0, 0, 1, 2)),
                        alt=rng.choice(vocab.ALT_TEXTS) if rng.random() < 0.1 else None,
                        tagged=tagged,
                    )
                )
            return tuple(photos)
        if kind == "animated_gif":
            return (Media("animated_gif", media_id(0), 480, 270, alt=rng.choice(vocab.ALT_TEXTS)),)
        w, h = rng.choice(_VIDEO_SIZES)
        video = Media("video", media_id(0), w, h, duration_ms=rng.randrange(5_000, 120_000))
        if self.videos and rng.random() < 0.1:
            source = rng.choice(self.videos[-200:])
            if source.author is not author:
                video.source = source
        if rng.random() < 0.03:
            video.call_to_action = f"https://{rng.choice(vocab.DOMAINS)}/watch/{tid % 1000}"
        return (video,)
