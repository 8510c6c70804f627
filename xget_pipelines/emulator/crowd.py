"""The deep corner's crowd of followers, made one by one when something looks at them, and the table of
all the world's users it sits in.

20,500 accounts cost a 300-user world half its build time again when made up front (measured: 50 ms of
User objects and strings against a 90 ms world), and most worlds never look at more than a few of them.
So member ``k`` is a pure function of (world seed, k): made the first time it is read, kept after.
Its id carries its index (a snowflake's sequence bits), its handle ends in ``k``, so lookups by id or
handle need no table of all 20,500.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import overload

from . import vocab
from .model import TWITTER_EPOCH_MS, User

_MASK = (1 << 64) - 1
_DAY_MS = 86_400_000
_YEAR_2014_MS = 1388534400000
_HANDLE = re.compile(r"[a-z]+(\d{5,})")


def _mix(x: int) -> int:
    """SplitMix64: 64 well-mixed bits from any integer (Steele, Lea and Flood, 2014)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class Crowd(Sequence[User]):
    """``count`` plain accounts that follow ``follows`` and no one else. A quarter have no profile
    location; 18% are blue-verified, 3% protected, 0.8% suspended."""

    def __init__(self, seed: int, first_idx: int, count: int, start_ms: int, follows: int):
        self.first_idx, self.follows = first_idx, follows
        self._base = _mix(seed * 0x100000001B3 + 0xC0FFEE)
        self._span = max(_DAY_MS, start_ms - _DAY_MS - _YEAR_2014_MS)
        self._made: list[User | None] = [None] * count
        syllables = vocab.SYLLABLES
        self._names = [(a + b, (a + b).capitalize()) for a in syllables for b in syllables]

    def __len__(self) -> int:
        return len(self._made)

    @overload
    def __getitem__(self, k: int) -> User: ...
    @overload
    def __getitem__(self, k: slice) -> list[User]: ...
    def __getitem__(self, k: int | slice) -> User | list[User]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self._made)))]
        user = self._made[k]
        if user is None:
            user = self._made[k] = self._make(k % len(self._made))
        return user

    def __iter__(self) -> Iterator[User]:
        return (self[k] for k in range(len(self._made)))

    def _draws(self, k: int) -> tuple[int, int]:
        return _mix(self._base + 2 * k), _mix(self._base + 2 * k + 1)

    def _make(self, k: int) -> User:
        draw, flags = self._draws(k)
        names, cities = self._names, vocab.CITIES
        first, first_cap = names[(draw & 0xFFFF) % len(names)]
        last, last_cap = names[((draw >> 16) & 0xFFFF) % len(names)]
        age = (draw >> 32) % self._span
        standing = flags & 0x7F
        idx = self.first_idx + k
        return User(
            idx,
            ((_YEAR_2014_MS - TWITTER_EPOCH_MS + age) << 22) | idx,  # snowflake(created, idx)
            f"{first}{last[:3]}{k:05d}",
            f"{first_cap} {last_cap}",
            "",
            cities[((flags >> 17) & 0xFF) % len(cities)] if (flags >> 8) & 0x3 else "",
            _YEAR_2014_MS + age,
            "en",
            (),
            0.0,
            0.0,
            blue=(flags >> 10) & 0x7F < 23,
            protected=1 <= standing < 5,
            unavailable=standing == 0,
            favourites=(flags >> 25) & 0x7FF,
            following=[self.follows],
        )

    def blue_verified(self) -> int:
        """How many members are blue-verified and not suspended, without making any."""
        return sum(
            1
            for k in range(len(self._made))
            if ((flags := self._draws(k)[1]) >> 10) & 0x7F < 23 and flags & 0x7F != 0
        )

    def by_id(self, uid: int) -> User | None:
        k = (uid & 0x3FFFFF) - self.first_idx
        if 0 <= k < len(self._made):
            user = self[k]
            if user.id == uid:
                return user
        return None

    def by_name(self, name: str) -> User | None:
        match = _HANDLE.fullmatch(name.lower())
        if match is not None and int(match.group(1)) < len(self._made):
            user = self[int(match.group(1))]
            if user.screen_name == name.lower():
                return user
        return None


class UserTable(Sequence[User]):
    """Every user of a world by index: ``people`` (made with the world), then the crowd (made when read), then
    ``people[head:]``, accounts added after the crowd (gen_campaigns.py) so no index of the crowd moves.
    Iterating it makes the whole crowd; code that needs only the world's own accounts reads ``people``."""

    def __init__(self, people: list[User], crowd: Crowd | None = None, head: int | None = None):
        self.people, self.crowd = people, crowd
        self.head = len(people) if head is None else head

    def __len__(self) -> int:
        return len(self.people) + (len(self.crowd) if self.crowd is not None else 0)

    @overload
    def __getitem__(self, i: int) -> User: ...
    @overload
    def __getitem__(self, i: slice) -> list[User]: ...
    def __getitem__(self, i: int | slice) -> User | list[User]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        if i < self.head:
            return self.people[i]
        crowd = len(self.crowd) if self.crowd is not None else 0
        if i >= self.head + crowd:
            return self.people[i - crowd]
        assert self.crowd is not None  # len(self) counts it
        return self.crowd[i - self.head]

    def __iter__(self) -> Iterator[User]:
        yield from self.people[: self.head]
        if self.crowd is not None:
            yield from self.crowd
        yield from self.people[self.head :]
