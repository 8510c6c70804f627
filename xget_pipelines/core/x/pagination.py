"""Paging through one X timeline, and why the paging stopped.

A timeline is read page by page, each page asking for the cursor the previous one returned. It stops for
one of four reasons (``Stop``), and which one matters to whoever reads the data later: only ``END`` and
``LOWER_BOUND`` mean X had nothing more for the request, ``BUDGET`` means there was more and it was left
on purpose, ``MALFORMED`` that X kept serving bodies that cannot be read.

- ``END``: a page with no next cursor, a next cursor equal to the one sent (X repeats itself at the end of
  some timelines), or two content-free pages in a row;
- ``LOWER_BOUND``: the caller's ``keep_going`` said no (an account's timeline paged back past the day);
- ``BUDGET``: ``max_pages`` pages were fetched, or ``max_items`` content entries counted, and the last page
  still had a next cursor (a budget of 0 stops before the first request, with the same reason). With
  ``max_pages`` None (a key's budget ``all``) only X's end stops the paging; a cursor X already served in
  this paging also counts as the end there, so a timeline that cycles cannot page forever;
- ``MALFORMED``: the same cursor was answered with an unreadable body more than ``max_malformed_retries``
  times after the first.

An error while fetching (no account left, X failing, the circuit open) propagates out of the iteration
and leaves ``stop`` at None: the paging did not stop, it broke.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import Enum
from typing import Protocol


class Stop(str, Enum):
    END = "end"
    LOWER_BOUND = "lower_bound"
    BUDGET = "budget"
    MALFORMED = "malformed"


class Page(Protocol):
    """What paging reads of a fetched page (``client.FetchedPage`` is one)."""

    @property
    def malformed(self) -> bool: ...

    @property
    def cursor_out(self) -> str | None: ...

    @property
    def summary(self): ...  # a cursors.PageSummary: content_entries


def ended(page: Page, cursor_sent: str | None, empty_before: int) -> bool:
    """Whether ``page`` (a readable one) is the timeline's last; ``empty_before``: content-free pages in a
    row just before it."""
    nxt = page.cursor_out
    empty = empty_before + 1 if page.summary.content_entries == 0 else 0
    return nxt is None or nxt == cursor_sent or empty >= 2


class Pagination:
    """The pages of one timeline, fetched lazily as the caller iterates; ``stop`` says why they ended.

    ``empty_before`` carries the content-free pages in a row a resumed paging already saw, so a resume
    stops exactly where an uninterrupted paging would have.
    """

    def __init__(
        self,
        fetch: Callable[[str, dict], Page],
        operation: str,
        variables: dict,
        *,
        cursor: str | None = None,
        max_pages: int | None = 50,
        keep_going: Callable[[Page], bool] | None = None,
        max_malformed_retries: int = 2,
        empty_before: int = 0,
        max_items: int | None = None,
        items_before: int = 0,
    ):
        self._fetch = fetch
        self.operation = operation
        self.variables = variables
        self.cursor = cursor
        self.max_pages = max_pages
        self.keep_going = keep_going
        self.max_malformed_retries = max_malformed_retries
        self.empty = empty_before
        self.max_items = max_items
        self.items = items_before  # content entries counted towards max_items (a resume's included)
        self.pages = 0
        self.stop: Stop | None = None

    def _budget_left(self) -> bool:
        if self.max_pages is not None and self.pages >= self.max_pages:
            return False
        return self.max_items is None or self.items < self.max_items

    def __iter__(self) -> Iterator[Page]:
        malformed = 0
        seen: set[str] = set() if self.cursor is None else {self.cursor}
        while self._budget_left():
            vars_ = dict(self.variables)
            if self.cursor is not None:
                vars_["cursor"] = self.cursor
            page = self._fetch(self.operation, vars_)
            self.pages += 1
            yield page
            if page.malformed:
                malformed += 1
                if malformed > self.max_malformed_retries:
                    self.stop = Stop.MALFORMED
                    return
                continue
            malformed = 0
            if ended(page, self.cursor, self.empty) or page.cursor_out in seen:
                self.stop = Stop.END
                return
            seen.add(page.cursor_out)
            self.items += page.summary.content_entries
            self.empty = self.empty + 1 if page.summary.content_entries == 0 else 0
            if self.keep_going is not None and not self.keep_going(page):
                self.stop = Stop.LOWER_BOUND
                return
            self.cursor = page.cursor_out
        self.stop = Stop.BUDGET
