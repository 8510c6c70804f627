"""One walker over every X timeline shape, collecting rows column-ready for Arrow.

All operations nest the same way: instructions -> entries -> content -> itemContent (or a module's
items[].item.itemContent) -> tweet_results / user_results -> result; only the root path differs, and
``parse.py`` resolves that. The walker follows exactly the positions where X puts tweet and user
objects (timeline items, quoted and retweeted tweets, authors, card and media source users, promoted
advertisers, community slices) rather than scanning the whole tree like twscrape does, which is what
keeps it fast. Rows are tuples in schema order; ``parse.py`` turns each list into one Arrow table.

Every object is handled on its own: a bad one is skipped and described in ``errors`` (id and entry),
never raised, so one corrupted tweet cannot cost the rest of a page.
"""

from __future__ import annotations

import re

from xget_pipelines.core.x import _decode as d
from xget_pipelines.core.x import _decode_objects as o
from xget_pipelines.core.x.parse_rows import (
    author_name,
    media_row,
    raw_text,
    result_id,
    unescape_text,
    unwrap,
    user_row,
    view_count,
)
from xget_pipelines.core.x.parse_values import domain_of, opt_int, source_label, trend_query, x_time_us

UNAVAILABLE_TWEETS = frozenset({"TweetTombstone", "TweetUnavailable"})
_ENTRY_TWEET_ID = re.compile(r"(?:^|-)tweet-(\d+)$")
UNREADABLE = "XGetUnreadable"  # marker ``parse._repair`` puts in place of an object it had to drop
_VIA_RANK = {"timeline": 0, "quoted": 1, "retweeted": 2}
_LABELS: dict[str, str | None] = {}  # source HTML -> client name; a few dozen distinct values
VIA = 22  # index of ``via`` in a tweet row (schema.TWEETS order)


class PageBuilder:
    """Accumulates one page's rows; ``tweets``/``users`` map id -> row, first observation kept."""

    def __init__(self) -> None:
        self.tweets: dict[int, tuple] = {}
        self.users: dict[int, tuple] = {}
        self._partial_users: set[int] = set()
        self._complete_users: dict[str, int] = {}  # rest_id string -> id, for the fast path
        self.media: list[tuple] = []
        self.hashtags: list[tuple] = []
        self.mentions: list[tuple] = []
        self.urls: list[tuple] = []
        self.trends: list[tuple] = []
        self.timeline_user_ids: list[int] = []
        self._timeline_ids: set[int] = set()
        self.cursor_top: str | None = None
        self.cursor_bottom: str | None = None
        self.entry_count = 0
        self.unavailable = 0
        self.tombstones: dict[int, tuple] = {}  # tweet id -> (id, reason), ids from the entry ids
        self.errors: list[str] = []

    # ---- timelines --------------------------------------------------------------------------------

    def timeline(self, tl: d.Timeline | None) -> None:
        if tl is None:
            return
        for ins in tl.instructions:
            for entry in ins.entries:
                self.entry(entry)
            if ins.entry is not None:
                self.entry(ins.entry)
            for mi in ins.moduleItems:
                self.entry_count += 1
                self._module_item(mi)

    def entry(self, e: d.Entry) -> None:
        c = e.content
        if c is None:
            return
        if c.cursorType is not None:
            self._cursor(c.cursorType, c.value)
            return
        ic = c.itemContent
        if ic is not None and ic.cursorType is not None:  # TweetDetail's ShowMoreThreads item
            self._cursor(ic.cursorType, ic.value)
            return
        self.entry_count += 1
        where = e.entryId or "?"
        if ic is not None:
            self._item(ic, where, top=True)
        for mi in c.items:
            self._module_item(mi)

    def _module_item(self, mi: d.ModuleItem) -> None:
        if mi.item is not None and mi.item.itemContent is not None:
            self._item(mi.item.itemContent, mi.entryId or "?", top=False)

    def _item(self, ic: d.ItemContent, where: str, top: bool) -> None:
        if ic.tweet_results is not None:
            if ic.tweet_results.result is None:
                self.unavailable += 1  # X sends ``tweet_results: {}`` for a deleted tweet
                self._tombstone(where, "deleted")
            else:
                self.tweet(ic.tweet_results.result, "timeline", where)
        elif ic.user_results is not None:
            uid = self.user(ic.user_results.result, where)
            if top:  # not the users of a module (who-to-follow): those are suggestions, not edges
                self._timeline_user(uid)
        elif ic.typename == "TimelineTrend" or ic.itemType == "TimelineTrend":
            self._trend(ic, where)
        elif ic.typename == "TimelineTombstone" or ic.itemType == "TimelineTombstone":
            self.unavailable += 1
            self._tombstone(where, "tombstone")
        if ic.promotedMetadata is not None and ic.promotedMetadata.advertiser_results is not None:
            self.user(ic.promotedMetadata.advertiser_results.result, where + " (advertiser)")

    def _tombstone(self, where: str, reason: str) -> None:
        """Record a gone tweet whose id the timeline entry id names (``tweet-<id>``, ``...-tweet-<id>``)."""
        match = _ENTRY_TWEET_ID.search(where)
        if match:
            tid = int(match.group(1))
            self.tombstones[tid] = (tid, reason)

    def _timeline_user(self, uid: int | None) -> None:
        """Keep a timeline's own user (a follower, a member...) once, in page order."""
        if uid is not None and uid not in self._timeline_ids:
            self._timeline_ids.add(uid)
            self.timeline_user_ids.append(uid)

    def _cursor(self, kind: str, value: str | None) -> None:
        if kind == "Bottom":
            self.cursor_bottom = value
        elif kind == "Top":
            self.cursor_top = value
        elif kind == "ShowMoreThreads" and self.cursor_bottom is None:
            self.cursor_bottom = value

    def slice(self, s: d.Slice | None) -> None:
        """Community member/moderator slices: a plain list of users plus ``next_cursor``."""
        if s is None:
            return
        for i, ur in enumerate(s.items_results):
            self.entry_count += 1
            self._timeline_user(self.user(ur.result, f"items_results[{i}]"))
        if s.slice_info is not None:
            self.cursor_bottom = s.slice_info.next_cursor

    def _trend(self, ic: d.ItemContent, where: str) -> None:
        if not ic.name:
            self.errors.append(f"trend without a name at {where}")
            return
        url = ic.trend_url.url if ic.trend_url is not None else None
        params = {}
        if ic.trend_url is not None and ic.trend_url.urtEndpointOptions is not None:
            params = {p.key: p.value for p in ic.trend_url.urtEndpointOptions.requestParams if p.key}
        meta = ic.trend_metadata
        rank = ic.rank
        if isinstance(rank, str):
            rank = int(rank) if rank.strip().isdigit() else None
        self.trends.append(
            (
                ic.name,
                rank,
                len(self.trends) + 1,
                url,
                trend_query(url, params),
                meta.domain_context if meta else None,
                meta.meta_description if meta else None,
                ic.social_context.text if ic.social_context else None,
                ic.is_ai_trend,
                [g.name for g in ic.grouped_trends if g.name] or None,
            )
        )

    # ---- tweets -----------------------------------------------------------------------------------

    def tweet(self, res: o.TweetResult, via: str, where: str) -> int | None:
        """Record a tweet result (and the quoted/retweeted tweets and users inside it); its id.

        ``where`` is the timeline entry id, named in any problem reported for this object.
        """
        tn = res.typename
        if tn == UNREADABLE:  # rejected by the typed decode and reported; its insides may be fine
            inner = res.tweet or res
            self._nested(inner, inner.legacy or inner, where)
            return None
        if tn in UNAVAILABLE_TWEETS:
            self.unavailable += 1
            if via == "timeline":  # a quoted/retweeted one has no id of its own here
                self._tombstone(where, "tombstone" if tn == "TweetTombstone" else "unavailable")
            return None
        if tn == "Tweet" and res.legacy is not None:  # the common case, without a call
            t, leg = res, res.legacy
        else:
            t, leg = unwrap(res)
        if t is None or leg is None:
            ident = res.rest_id or (res.tweet.rest_id if res.tweet is not None else None)
            reason = (
                f"unknown __typename {tn!r}"
                if t is None and tn not in (None, "Tweet", "TweetWithVisibilityResults")
                else "no legacy fields"
            )
            self.errors.append(f"tweet {ident} ({via}, entry {where}): {reason}; skipped")
            return None
        try:
            tid = int(t.rest_id or leg.id_str)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.errors.append(f"tweet ({via}, entry {where}): bad id {t.rest_id!r}; skipped")
            return None
        seen = self.tweets.get(tid)
        if seen is None:
            try:
                self._tweet_row(tid, t, leg, tn == "TweetWithVisibilityResults", via)
            except Exception as exc:  # noqa: BLE001 - one bad object must never cost the page
                self.errors.append(
                    f"tweet {tid} ({via}, entry {where}): {type(exc).__name__}: {exc}; skipped"
                )
                return None
        elif _VIA_RANK[via] < _VIA_RANK[seen[VIA]]:
            self.tweets[tid] = (*seen[:VIA], via, *seen[VIA + 1 :])
        # Nested objects are walked even for a tweet seen before: a quoted tweet inside a quote
        # carries only ``quotedRefResult`` (an id), and its full quote may come with a later copy.
        self._nested(t, leg, where)
        return tid

    def _nested(self, t: o.TweetResult, leg: o.TweetFields, where: str) -> None:
        """The objects a tweet carries: author, card and media users, quoted and retweeted tweets."""
        core = t.core
        if core is not None and core.user_results is not None and core.user_results.result is not None:
            self.user(core.user_results.result, where)
        if t.card is not None and t.card.legacy is not None:
            for ref in t.card.legacy.user_refs_results:
                self.user(ref.result, where)
        if leg.extended_entities is not None:
            for m in leg.extended_entities.media:
                ami = m.additional_media_info
                if ami is not None and ami.source_user is not None and ami.source_user.user_results:
                    self.user(ami.source_user.user_results.result, where)
        if t.quoted_status_result is not None and t.quoted_status_result.result is not None:
            self.tweet(t.quoted_status_result.result, "quoted", where)
        if leg.retweeted_status_result is not None and leg.retweeted_status_result.result is not None:
            self.tweet(leg.retweeted_status_result.result, "retweeted", where)

    def _tweet_row(self, tid: int, t: o.TweetResult, leg: o.TweetFields, limited: bool, via: str) -> None:
        """Build the tweet's row and its entity rows; commit them only if all of them could be built."""
        note = (
            t.note_tweet.note_tweet_results.result
            if (t.note_tweet is not None and t.note_tweet.note_tweet_results is not None)
            else None
        )
        text = note.text if note is not None and note.text is not None else leg.full_text
        rt_res = leg.retweeted_status_result
        rt_id = rt = None
        if rt_res is not None:
            rt_id = result_id(rt_res)
            rt, rt_leg = unwrap(rt_res.result)
            if rt is not None and rt_leg is not None and text is not None and text.endswith("…"):
                rt_user = author_name(rt)
                if rt_user is not None:  # X truncates retweet text; rebuild it from the original
                    text = f"RT @{rt_user}: {raw_text(rt, rt_leg)}"
        views = t.views.count if t.views is not None else None
        if views is None and rt is not None:
            views = view_count(rt)
        elif views is not None:
            views = int(views)
        quoted = leg.quoted_status_id_str
        if quoted is None and t.quoted_status_result is not None:
            quoted = result_id(t.quoted_status_result)
        author = leg.user_id_str
        if author is None and t.core is not None and t.core.user_results and t.core.user_results.result:
            author = t.core.user_results.result.rest_id
        media = leg.extended_entities.media if leg.extended_entities is not None else None
        source = t.source
        label = _LABELS.get(source) if source is not None else None
        if label is None and source is not None:
            label = source_label(source)
            if len(_LABELS) < 4096:  # bounded: a hostile body must not grow it forever
                _LABELS[source] = label
        conv = leg.conversation_id_str
        row = (
            tid,
            int(conv) if conv else tid,
            opt_int(author),
            x_time_us(leg.created_at),
            unescape_text(text),
            leg.lang,
            label,
            opt_int(leg.in_reply_to_status_id_str),
            opt_int(leg.in_reply_to_user_id_str),
            opt_int(quoted),
            opt_int(rt_id),
            leg.favorite_count or 0,
            leg.retweet_count or 0,
            leg.reply_count or 0,
            leg.quote_count or 0,
            leg.bookmark_count or 0,
            views,
            leg.possibly_sensitive,
            bool(leg.is_quote_status),
            rt_id is not None,
            bool(media),
            "limited" if limited else "visible",
            via,
            t.card.legacy.name if t.card is not None and t.card.legacy is not None else None,
        )
        ents = leg.entities
        # hashtags and mentions of a long tweet come from its note, which covers the whole ``text``
        tag_src = note.entity_set if note is not None and note.entity_set is not None else ents
        hashtags = mentions = urls = media_rows = ()
        if tag_src is not None and tag_src.hashtags:
            hashtags = [
                (tid, tag, tag.lower()) for tag in dict.fromkeys(h.text for h in tag_src.hashtags if h.text)
            ]
        if tag_src is not None and tag_src.user_mentions:
            named = {m.screen_name: m.id_str for m in tag_src.user_mentions if m.screen_name}
            mentions = [(tid, opt_int(uid), name) for name, uid in named.items()]
        links = ents.urls if ents is not None else []
        if note is not None and note.entity_set is not None and note.entity_set.urls:
            links = links + note.entity_set.urls
        if links:  # like twscrape: legacy and note links, only those with both URLs; once each
            found = {u.url: u for u in links if isinstance(u.url, str) and isinstance(u.expanded_url, str)}
            urls = [
                (tid, u.url, u.expanded_url, u.display_url, domain_of(u.expanded_url)) for u in found.values()
            ]
        if media:
            media_rows = [media_row(tid, m) for m in media]
        self.tweets[tid] = row
        self.hashtags += hashtags
        self.mentions += mentions
        self.urls += urls
        self.media += media_rows

    # ---- users ------------------------------------------------------------------------------------

    def user(self, u: o.UserResult | None, where: str) -> int | None:
        """Record a user result; its id, or None when it is unavailable or unreadable."""
        if u is None:
            return None
        uid = self._complete_users.get(u.rest_id)  # type: ignore[arg-type]
        if uid is not None:
            return uid  # the common case: an author seen before, complete
        if u.typename == UNREADABLE:
            return None
        if u.typename == "UserUnavailable":
            self.unavailable += 1
            return None
        try:
            uid = int(u.rest_id)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.errors.append(f"user at {where}: bad or missing rest_id {u.rest_id!r}; skipped")
            return None
        if uid in self.users and uid not in self._partial_users:
            return uid  # the common case: an author seen before
        complete = u.legacy is not None or u.relationship_counts is not None
        if uid in self.users and not complete:
            return uid
        try:
            row = user_row(uid, u)
        except Exception as exc:  # noqa: BLE001 - one bad object must never cost the page
            self.errors.append(f"user {uid} at {where}: {type(exc).__name__}: {exc}; skipped")
            return None
        if row[1] is None:
            self.errors.append(f"user {uid} at {where}: no screen_name; skipped")
            return None
        self.users[uid] = row  # first observation, or a complete one replacing a partial one
        if complete:
            self._partial_users.discard(uid)
            self._complete_users[u.rest_id] = uid  # type: ignore[index]
        else:
            self._partial_users.add(uid)
        return uid
