"""One walker over every X timeline shape, collecting rows column-ready for Arrow.

All operations nest the same way: instructions -> entries -> content -> itemContent (or a module's
items[].item.itemContent) -> tweet_results / user_results -> result; only the root path differs, and
``parse.py`` resolves that. The walker follows exactly the positions where X puts tweet and user
objects (timeline items, quoted and retweeted tweets, authors, card and media source users, promoted
advertisers, community slices) rather than scanning the whole tree like twscrape does, which is what
keeps it fast. Rows are tuples per object; ``parse.py`` transposes them into columns.

Every object is handled on its own: a bad one is skipped and described in ``errors`` (id and entry),
never raised, so one corrupted tweet cannot cost the rest of a page.
"""

from __future__ import annotations

from xget_pipelines.core.x import _decode as d
from xget_pipelines.core.x.parse_values import domain_of, opt_int, source_label, trend_query, x_time_us

UNAVAILABLE_TWEETS = frozenset({"TweetTombstone", "TweetUnavailable"})
UNREADABLE = "XGetUnreadable"  # marker ``parse._repair`` puts in place of an object it had to drop
_VIA_RANK = {"timeline": 0, "quoted": 1, "retweeted": 2}
VIA = 22  # index of ``via`` in a tweet row (schema.TWEETS order)


def _unwrap(res: d.TweetResult | None) -> tuple[d.TweetResult | None, d.TweetFields | None]:
    """(tweet, its legacy fields) of a result, through a visibility wrapper; Nones if unreadable."""
    if res is None:
        return None, None
    if res.typename == "TweetWithVisibilityResults":
        res = res.tweet
        if res is None:
            return None, None
    elif res.typename not in (None, "Tweet"):
        return None, None
    leg = res.legacy
    if leg is None and (res.full_text is not None or res.created_at is not None):
        leg = res  # the 2026 form with ``legacy: null``: the fields sit on the tweet itself
    return res, leg


def _result_id(res: d.TweetResults | None) -> str | None:
    r = res.result if res is not None else None
    if r is None:
        return None
    return r.rest_id if r.rest_id is not None else (r.tweet.rest_id if r.tweet is not None else None)


def _raw_text(t: d.TweetResult, leg: d.TweetFields) -> str | None:
    """The full text: a long tweet's note text when X sends one, else ``full_text`` (as twscrape)."""
    note = t.note_tweet
    if note is not None and note.note_tweet_results is not None and note.note_tweet_results.result:
        text = note.note_tweet_results.result.text
        if text is not None:
            return text
    return leg.full_text


def _author_name(t: d.TweetResult) -> str | None:
    u = t.core.user_results.result if t.core and t.core.user_results else None
    if u is None:
        return None
    if u.legacy is not None and u.legacy.screen_name:
        return u.legacy.screen_name
    return u.core.screen_name if u.core is not None else None


def _views(t: d.TweetResult | None) -> int | None:
    return opt_int(t.views.count) if t is not None and t.views is not None else None


class PageBuilder:
    """Accumulates one page's rows; ``tweets``/``users`` map id -> row, first observation kept."""

    def __init__(self) -> None:
        self.tweets: dict[int, list] = {}
        self.users: dict[int, tuple] = {}
        self._partial_users: set[int] = set()
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
        if ic.promotedMetadata is not None and ic.promotedMetadata.advertiser_results is not None:
            self.user(ic.promotedMetadata.advertiser_results.result, where + " (advertiser)")

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
        self.trends.append((
            ic.name, rank, len(self.trends) + 1, url, trend_query(url, params),
            meta.domain_context if meta else None, meta.meta_description if meta else None,
            ic.social_context.text if ic.social_context else None, ic.is_ai_trend,
            [g.name for g in ic.grouped_trends if g.name] or None,
        ))

    # ---- tweets -----------------------------------------------------------------------------------

    def tweet(self, res: d.TweetResult, via: str, where: str) -> int | None:
        """Record a tweet result (and the quoted/retweeted tweets and users inside it); its id."""
        tn = res.typename
        if tn == UNREADABLE:  # rejected by the typed decode; ``parse._repair`` reported it
            return None
        if tn in UNAVAILABLE_TWEETS:
            self.unavailable += 1
            return None
        visibility = "limited" if tn == "TweetWithVisibilityResults" else "visible"
        t, leg = _unwrap(res)
        if t is None or leg is None:
            ident = res.rest_id or (res.tweet.rest_id if res.tweet is not None else None)
            reason = f"unknown __typename {tn!r}" if t is None and tn not in (
                None, "Tweet", "TweetWithVisibilityResults") else "no legacy fields"
            self.errors.append(f"tweet {ident} at {where}: {reason}; skipped")
            return None
        try:
            tid = int(t.rest_id or leg.id_str)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.errors.append(f"tweet at {where}: bad id {t.rest_id!r}; skipped")
            return None
        seen = self.tweets.get(tid)
        if seen is not None:
            if _VIA_RANK[via] < _VIA_RANK[seen[VIA]]:
                seen[VIA] = via
        else:
            try:
                self._tweet_row(tid, t, leg, visibility, via)
            except Exception as exc:  # noqa: BLE001 - one bad object must never cost the page
                self.errors.append(f"tweet {tid} at {where}: {type(exc).__name__}: {exc}; skipped")
                return None
        # Nested objects are walked even for a tweet seen before: a quoted tweet inside a quote
        # carries only ``quotedRefResult`` (an id), and its full quote may come with a later copy.
        inner = f"{where} > {tid}"
        author = t.core.user_results if t.core is not None else None
        if author is not None:
            self.user(author.result, inner + " author")
        if t.card is not None and t.card.legacy is not None:
            for ref in t.card.legacy.user_refs_results:
                self.user(ref.result, inner + " card")
        if leg.extended_entities is not None:
            for m in leg.extended_entities.media:
                ami = m.additional_media_info
                if ami is not None and ami.source_user is not None and ami.source_user.user_results:
                    self.user(ami.source_user.user_results.result, inner + " media source")
        if t.quoted_status_result is not None and t.quoted_status_result.result is not None:
            self.tweet(t.quoted_status_result.result, "quoted", inner + " quoted")
        if leg.retweeted_status_result is not None and leg.retweeted_status_result.result is not None:
            self.tweet(leg.retweeted_status_result.result, "retweeted", inner + " retweeted")
        return tid

    def _tweet_row(self, tid: int, t: d.TweetResult, leg: d.TweetFields, visibility: str, via: str) -> None:
        text = _raw_text(t, leg)
        rt, rt_leg = _unwrap(leg.retweeted_status_result.result if leg.retweeted_status_result else None)
        rt_id = _result_id(leg.retweeted_status_result)
        if rt is not None and rt_leg is not None and text is not None and text.endswith("…"):
            rt_user = _author_name(rt)
            if rt_user is not None:  # X truncates retweet text; rebuild it from the original
                text = f"RT @{rt_user}: {_raw_text(rt, rt_leg)}"
        views = _views(t)
        if views is None and rt is not None:
            views = _views(rt)
        quoted = leg.quoted_status_id_str or _result_id(t.quoted_status_result)
        author = leg.user_id_str
        if author is None and t.core is not None and t.core.user_results and t.core.user_results.result:
            author = t.core.user_results.result.rest_id
        ents = leg.entities
        note = t.note_tweet.note_tweet_results.result if (
            t.note_tweet is not None and t.note_tweet.note_tweet_results is not None) else None
        # hashtags and mentions of a long tweet come from its note, which covers the whole ``text``
        tag_src = note.entity_set if note is not None and note.entity_set is not None else ents
        media = leg.extended_entities.media if leg.extended_entities is not None else []
        card = t.card.legacy.name if t.card is not None and t.card.legacy is not None else None
        row = [
            tid, opt_int(leg.conversation_id_str) or tid, opt_int(author), x_time_us(leg.created_at),
            text, leg.lang, source_label(t.source), opt_int(leg.in_reply_to_status_id_str),
            opt_int(leg.in_reply_to_user_id_str), opt_int(quoted), opt_int(rt_id),
            leg.favorite_count or 0, leg.retweet_count or 0, leg.reply_count or 0,
            leg.quote_count or 0, leg.bookmark_count or 0, views, leg.possibly_sensitive,
            bool(leg.is_quote_status), rt_id is not None, bool(media), visibility, via, card,
        ]
        hashtags, mentions, urls, media_rows = [], [], [], []
        if tag_src is not None:
            tags = dict.fromkeys(h.text for h in tag_src.hashtags if h.text)
            hashtags = [(tid, tag, tag.lower()) for tag in tags]
            seen: set[str] = set()
            for m in tag_src.user_mentions:
                if m.screen_name and m.screen_name not in seen:
                    seen.add(m.screen_name)
                    mentions.append((tid, opt_int(m.id_str), m.screen_name))
        links = list(ents.urls) if ents is not None else []
        if note is not None and note.entity_set is not None:
            links += note.entity_set.urls
        seen_links: set[str] = set()
        for u in links:  # like twscrape: legacy and note links, only those with both URLs
            if isinstance(u.url, str) and isinstance(u.expanded_url, str) and u.url not in seen_links:
                seen_links.add(u.url)
                urls.append((tid, u.url, u.expanded_url, u.display_url, domain_of(u.expanded_url)))
        for m in media:
            media_rows.append(_media_row(tid, m))
        self.tweets[tid] = row
        self.hashtags += hashtags
        self.mentions += mentions
        self.urls += urls
        self.media += media_rows

    # ---- users ------------------------------------------------------------------------------------

    def user(self, u: d.UserResult | None, where: str) -> int | None:
        """Record a user result; its id, or None when it is unavailable or unreadable."""
        if u is None or u.typename == UNREADABLE:
            return None
        if u.typename == "UserUnavailable":
            self.unavailable += 1
            return None
        try:
            uid = int(u.rest_id)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.errors.append(f"user at {where}: bad or missing rest_id {u.rest_id!r}; skipped")
            return None
        complete = u.legacy is not None or u.relationship_counts is not None
        if uid in self.users and (complete is False or uid not in self._partial_users):
            return uid
        try:
            row = _user_row(uid, u)
        except Exception as exc:  # noqa: BLE001 - one bad object must never cost the page
            self.errors.append(f"user {uid} at {where}: {type(exc).__name__}: {exc}; skipped")
            return None
        if row[1] is None:
            self.errors.append(f"user {uid} at {where}: no screen_name; skipped")
            return None
        self.users[uid] = row  # first observation, or a complete one replacing a partial one
        if complete:
            self._partial_users.discard(uid)
        else:
            self._partial_users.add(uid)
        return uid


def _media_row(tid: int, m: d.MediaEntity) -> tuple:
    oi = m.original_info
    vi = m.video_info
    best_url = best_rate = None
    if vi is not None:
        for v in vi.variants:
            if v.content_type == "video/mp4" and v.bitrate is not None and (
                    best_rate is None or v.bitrate > best_rate):
                best_url, best_rate = v.url, v.bitrate
    return (tid, m.media_key, m.type, m.media_url_https, m.expanded_url,
            oi.width if oi else None, oi.height if oi else None,
            vi.duration_millis if vi else None, best_url, best_rate, m.ext_alt_text)


def _first_url(ents: d.UserEntities | None) -> str | None:
    if ents is None or ents.url is None:
        return None
    for u in ents.url.urls:
        if u.expanded_url:
            return u.expanded_url
    return None


def _user_row(uid: int, u: d.UserResult) -> tuple:
    """A USERS row from either user format: ``legacy`` (before 2026) or the split 2026 objects."""
    lg = u.legacy
    if lg is not None:
        core = u.core
        return (
            uid, lg.screen_name or (core.screen_name if core else None), lg.name or (core.name if core else None),
            lg.description, lg.location, _first_url(lg.entities), x_time_us(lg.created_at),
            lg.followers_count, lg.friends_count, lg.statuses_count, lg.listed_count,
            lg.favourites_count, lg.media_count, lg.verified, lg.verified_type, u.is_blue_verified,
            lg.protected, lg.profile_image_url_https, lg.profile_banner_url,
        )
    core, bio, rc, tc = u.core, u.profile_bio, u.relationship_counts, u.tweet_counts
    ver = u.verification
    loc = u.location.location if isinstance(u.location, d.UserLocation) else u.location
    return (
        uid, core.screen_name if core else None, core.name if core else None,
        bio.description if bio else None, loc, _first_url(bio.entities) if bio else None,
        x_time_us(core.created_at) if core else None,
        rc.followers if rc else None, rc.following if rc else None,
        tc.tweets if tc else None, None,
        u.action_counts.favorites_count if u.action_counts else None,
        tc.media_tweets if tc else None,
        ver.verified if ver else None, ver.verified_type if ver else None, u.is_blue_verified,
        u.privacy.protected if u.privacy else None,
        u.avatar.image_url if u.avatar else None, u.banner.image_url if u.banner else None,
    )
