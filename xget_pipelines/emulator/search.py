"""X search query language over the world: parser, inverted index and evaluation.

Supported operators: plain words (AND), `"exact phrase"`, `#hashtag`, `@mention`, `OR`
between terms, `-` negation, `from:`, `to:`, `lang:`, `since:`/`until:` (YYYY-MM-DD, or
YYYY-MM-DD_HH:MM:SS_UTC), `since_id:`/`max_id:`, `min_faves:`, `min_retweets:`,
`min_replies:`, `filter:`/`-filter:` replies, media, images, videos, links, quote, and
`quoted_tweet_id:<id>` (the posts quoting one post: igorbrigadir/twitter-advanced-search#15,
JustAnotherArchivist/snscrape#540, where X's search answers it with the quote tweets).
As on X, search never returns native retweets, deleted/withheld posts or posts of protected
and suspended accounts. The static part of a query is evaluated once against an inverted
index and cached; count thresholds depend on the fetch time and are applied per page.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .engagement import Engagement
from .model import Tweet, snowflake
from .world import World

_TOKEN = re.compile(r"[#@]?\w+")
_URL = re.compile(r"https?://\S+")
_QUERY_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
_INDEXED = ("word", "phrase", "from", "to", "lang", "quoted_tweet_id")
_DYNAMIC = ("min_faves", "min_retweets", "min_replies")


def tokens(text: str) -> list[str]:
    """Lower-cased words; `#tag` and `@name` also index as `tag` and `name`, as X matches them."""
    out = []
    for tok in _TOKEN.findall(_URL.sub(" ", text.lower())):
        out.append(tok)
        if tok[0] in "#@":
            out.append(tok[1:])
    return out


@dataclass(frozen=True)
class Atom:
    kind: str  # word | phrase | from | to | lang | since | until | since_id | max_id | min_* | filter
    value: str
    negated: bool = False


@dataclass
class Query:
    clauses: list[list[Atom]] = field(default_factory=list)  # AND of ORs

    @property
    def words(self) -> list[str]:
        """Positive words/hashtags/phrases, for search result highlights."""
        return [a.value for c in self.clauses for a in c if a.kind in ("word", "phrase") and not a.negated]


def _parse_time(value: str) -> int | None:
    for fmt in ("%Y-%m-%d_%H:%M:%S_UTC", "%Y-%m-%d_%H:%M:%S", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp() * 1000)
        except ValueError:
            continue
    return None


def parse_query(raw: str) -> Query:
    """Parses X's query syntax into AND-ed clauses of OR-ed atoms (parentheses are ignored)."""
    query, pending_or = Query(), False
    for tok in _QUERY_TOKEN.findall(raw):
        if tok == "OR":
            pending_or = bool(query.clauses)
            continue
        negated = tok.startswith("-") and len(tok) > 1
        tok = tok[1:] if negated else tok
        tok = tok.strip("()") if not tok.startswith('"') else tok
        if not tok:
            continue
        if tok.startswith('"'):
            atom = Atom("phrase", tok.strip('"').lower(), negated)
        elif ":" in tok and tok.split(":", 1)[0].lower() in (
            "from",
            "to",
            "lang",
            "since",
            "until",
            "since_id",
            "max_id",
            "filter",
            "quoted_tweet_id",
            *_DYNAMIC,
        ):
            op, value = tok.split(":", 1)
            atom = Atom(op.lower(), value.lstrip("@").lower(), negated)
        else:
            atom = Atom("word", tok.lower(), negated)
        if pending_or:
            query.clauses[-1].append(atom)
        else:
            query.clauses.append([atom])
        pending_or = False
    return query


class SearchIndex:
    """Inverted index over searchable tweet positions (ascending = oldest first)."""

    def __init__(self, world: World, cache_size: int = 512):
        self.world = world
        self.postings: dict[str, list[int]] = {}
        self.by_author: dict[str, list[int]] = {}
        self.to_user: dict[str, list[int]] = {}
        self.by_lang: dict[str, list[int]] = {}
        self.by_quoted: dict[str, list[int]] = {}
        self.searchable: list[int] = []
        self._cache: OrderedDict[tuple[str, str], list[int]] = OrderedDict()
        self._cache_size = cache_size
        seen: dict[str, list[str]] = {}  # posts of one text share its tokens (the deep corner's flood)
        for t in world.tweets:
            if t.retweeted is not None or t.hidden or t.author.protected or t.author.unavailable:
                continue
            pos = t.pos
            self.searchable.append(pos)
            toks = seen.get(t.text)
            if toks is None:
                toks = seen[t.text] = list(dict.fromkeys(tokens(t.text)))
            for tok in toks:
                self.postings.setdefault(tok, []).append(pos)
            self.by_author.setdefault(t.author.screen_name.lower(), []).append(pos)
            self.by_lang.setdefault(t.lang, []).append(pos)
            if t.reply_to is not None:
                self.to_user.setdefault(t.reply_to.author.screen_name.lower(), []).append(pos)
            if t.quoted is not None:
                self.by_quoted.setdefault(str(t.quoted.id), []).append(pos)

    def _postings(self, atom: Atom) -> list[int]:
        if atom.kind == "word":
            return self.postings.get(atom.value, [])
        if atom.kind == "phrase":
            words = tokens(atom.value)
            sets = sorted((self.postings.get(w, []) for w in words), key=len)
            if not sets:
                return []
            keep = set(sets[0]).intersection(*sets[1:])
            return [p for p in sets[0] if p in keep and atom.value in self.world.tweets[p].text.lower()]
        table = {
            "from": self.by_author,
            "to": self.to_user,
            "lang": self.by_lang,
            "quoted_tweet_id": self.by_quoted,
        }[atom.kind]
        return table.get(atom.value, [])

    def evaluate(self, query: Query, product: str = "Latest") -> list[int]:
        """Positions matching the static part of `query`, oldest first (Top: most popular first)."""
        key = (repr(query.clauses), product)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result = self._evaluate(query)
        if product == "Top":
            tweets = self.world.tweets
            result = sorted(result, key=lambda p: (-tweets[p].pop, -p))
        elif product == "Media":
            result = [p for p in result if self.world.tweets[p].media]
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def _evaluate(self, query: Query) -> list[int]:
        indexed: list[set[int]] = []
        filters: list[list[Atom]] = []
        lo, hi = 0, len(self.world.tweets)
        ids = self.world.ids
        for clause in query.clauses:
            if (
                len(clause) == 1
                and not clause[0].negated
                and clause[0].kind in ("since", "until", "since_id", "max_id")
            ):
                lo, hi = self._bound(clause[0], lo, hi, ids)
            elif all(a.kind in _INDEXED and not a.negated for a in clause):
                indexed.append(set().union(*(self._postings(a) for a in clause)))
            elif not all(a.kind in _DYNAMIC for a in clause):
                filters.append(clause)
        if indexed:
            indexed.sort(key=len)
            base = sorted(indexed[0].intersection(*indexed[1:]))
        else:
            base = self.searchable
        tweets = self.world.tweets
        return [p for p in base if lo <= p < hi and all(self._match(c, tweets[p]) for c in filters)]

    @staticmethod
    def _bound(atom: Atom, lo: int, hi: int, ids: list[int]) -> tuple[int, int]:
        """Narrows the position range [lo, hi) for since/until (dates) and since_id/max_id."""
        if atom.kind in ("since", "until"):
            ms = _parse_time(atom.value)
            if ms is None:
                return lo, hi
            pos = bisect_left(ids, snowflake(ms, 0))
        else:
            try:
                pos = bisect_left(ids, int(atom.value) + 1)  # since_id is exclusive, max_id inclusive
            except ValueError:
                return lo, hi
        return (max(lo, pos), hi) if atom.kind in ("since", "since_id") else (lo, min(hi, pos))

    def _match(self, clause: list[Atom], t: Tweet) -> bool:
        return any(self._match_atom(a, t) != a.negated for a in clause if a.kind not in _DYNAMIC)

    def _match_atom(self, atom: Atom, t: Tweet) -> bool:
        kind, value = atom.kind, atom.value
        if kind == "word":
            return value in tokens(t.text)
        if kind == "phrase":
            return value in t.text.lower()
        if kind == "from":
            return t.author.screen_name.lower() == value
        if kind == "to":
            return t.reply_to is not None and t.reply_to.author.screen_name.lower() == value
        if kind == "lang":
            return t.lang == value
        if kind == "quoted_tweet_id":
            return t.quoted is not None and str(t.quoted.id) == value
        if kind == "filter":
            return {
                "replies": t.reply_to is not None,
                "media": bool(t.media),
                "images": any(m.kind == "photo" for m in t.media),
                "videos": any(m.kind != "photo" for m in t.media),
                "links": bool(t.urls),
                "quote": t.quoted is not None,
            }.get(value, False)
        return False


def passes_thresholds(query: Query, t: Tweet, engagement: Engagement, now_ms: int) -> bool:
    """The fetch-time part of a query (min_faves & co)."""
    limits = [a for c in query.clauses for a in c if a.kind in _DYNAMIC and not a.negated]
    if not limits:
        return True
    counts = engagement.counts(t, now_ms)
    have = {"min_faves": counts.likes, "min_retweets": counts.retweets, "min_replies": counts.replies}
    for atom in limits:
        try:
            if have[atom.kind] < int(atom.value):
                return False
        except ValueError:
            return False
    return True
