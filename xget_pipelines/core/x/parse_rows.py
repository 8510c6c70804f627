"""Row builders for the walker: X objects (typed views) -> tuples in ``schema`` column order.

Kept apart from the walk itself (``parse_walk``) so the traversal reads as the shape of a timeline
and these functions as the mapping of fields, including the twscrape rules XGet reproduces
(note text over ``full_text``, retweet text restored, views from the retweeted original).
"""

from __future__ import annotations

import html

from xget_pipelines.core.x import _decode_objects as o
from xget_pipelines.core.x.parse_values import opt_int, x_time_us


def unwrap(res: o.TweetResult | None) -> tuple[o.TweetResult | None, o.TweetFields | None]:
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


def result_id(res: o.TweetResults | None) -> str | None:
    r = res.result if res is not None else None
    if r is None:
        return None
    return r.rest_id if r.rest_id is not None else (r.tweet.rest_id if r.tweet is not None else None)


def raw_text(t: o.TweetResult, leg: o.TweetFields) -> str | None:
    """The full text: a long tweet's note text when X sends one, else ``full_text`` (as twscrape)."""
    note = t.note_tweet
    if note is not None and note.note_tweet_results is not None and note.note_tweet_results.result:
        text = note.note_tweet_results.result.text
        if text is not None:
            return text
    return leg.full_text


def unescape_text(text: str | None) -> str | None:
    """X HTML-escapes ``&``, ``<`` and ``>`` in tweet text; the cleaned text is what the author wrote."""
    if text is None or "&" not in text:
        return text
    return html.unescape(text)


def author_name(t: o.TweetResult) -> str | None:
    u = t.core.user_results.result if t.core and t.core.user_results else None
    if u is None:
        return None
    if u.legacy is not None and u.legacy.screen_name:
        return u.legacy.screen_name
    return u.core.screen_name if u.core is not None else None


def view_count(t: o.TweetResult | None) -> int | None:
    return opt_int(t.views.count) if t is not None and t.views is not None else None


def media_row(tid: int, m: o.MediaEntity) -> tuple:
    oi = m.original_info
    vi = m.video_info
    best_url = best_rate = variants = None
    if vi is not None:
        variants = [(v.bitrate, v.content_type, v.url) for v in vi.variants]
        for v in vi.variants:
            if (
                v.content_type == "video/mp4"
                and v.bitrate is not None
                and (best_rate is None or v.bitrate > best_rate)
            ):
                best_url, best_rate = v.url, v.bitrate
    return (
        tid,
        m.media_key,
        m.type,
        m.media_url_https,
        m.expanded_url,
        oi.width if oi else None,
        oi.height if oi else None,
        vi.duration_millis if vi else None,
        best_url,
        best_rate,
        m.ext_alt_text,
        variants,
    )


def _first_url(ents: o.UserEntities | None) -> str | None:
    if ents is None or ents.url is None:
        return None
    for u in ents.url.urls:
        if u.expanded_url:
            return u.expanded_url
    return None


def user_row(uid: int, u: o.UserResult) -> tuple:
    """A USERS row from either user format: ``legacy`` (before 2026) or the split 2026 objects.

    An object carrying both (a transition X has shipped before) takes each value from ``legacy``
    when it has one there and from the 2026 objects otherwise.
    """
    core, bio, rc, tc = u.core, u.profile_bio, u.relationship_counts, u.tweet_counts
    ver = u.verification
    loc = u.location.location if isinstance(u.location, o.UserLocation) else u.location
    row = (
        uid,
        core.screen_name if core else None,
        core.name if core else None,
        bio.description if bio else None,
        loc,
        _first_url(bio.entities) if bio else None,
        x_time_us(core.created_at) if core else None,
        rc.followers if rc else None,
        rc.following if rc else None,
        tc.tweets if tc else None,
        None,
        u.action_counts.favorites_count if u.action_counts else None,
        tc.media_tweets if tc else None,
        ver.verified if ver else None,
        ver.verified_type if ver else None,
        u.is_blue_verified,
        u.privacy.protected if u.privacy else None,
        u.avatar.image_url if u.avatar else None,
        u.banner.image_url if u.banner else None,
    )
    lg = u.legacy
    if lg is None:
        return row
    old = (
        uid,
        lg.screen_name or None,
        lg.name,
        lg.description,
        lg.location,
        _first_url(lg.entities),
        x_time_us(lg.created_at),
        lg.followers_count,
        lg.friends_count,
        lg.statuses_count,
        lg.listed_count,
        lg.favourites_count,
        lg.media_count,
        lg.verified,
        lg.verified_type,
        u.is_blue_verified,
        lg.protected,
        lg.profile_image_url_https,
        lg.profile_banner_url,
    )
    return tuple(a if a is not None else b for a, b in zip(old, row, strict=False))
