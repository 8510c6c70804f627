"""Arrow schemas of the tables one parsed X page yields (``parse.parse_page``).

These are the column contracts of the cleaned (silver) layer: one row per *observation* of a tweet or
user on a page, so the same tweet seen on two pages gives two rows and the entity merge picks the newest.

Conventions, and why:
- ids are ``int64``: X ids are 64-bit snowflakes that fit a signed int64 and join far faster than strings;
- times are ``timestamp("us", tz="UTC")``: X sends UTC, and a tz-aware type keeps Delta partitioning honest;
- counts that X did not send are null, not 0: a partial user object (community member slices, about
  pages) must not overwrite a real follower count with 0 when observations are merged;
- ``text`` is exactly what twscrape's ``rawContent`` is (note_tweet text when present, full retweet text
  restored), still HTML-escaped the way X sends ``full_text`` (``&amp;``, ``&lt;``, ``&gt;``).
"""

from __future__ import annotations

import pyarrow as pa

_ID = pa.int64()
_TS = pa.timestamp("us", tz="UTC")
_STR = pa.string()
_I64 = pa.int64()
_BOOL = pa.bool_()


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, typ, nullable=nullable) for name, typ, nullable in fields])


TWEETS = _schema(
    ("tweet_id", _ID, False),
    ("conversation_id", _ID, True),
    ("author_id", _ID, True),
    ("created_at", _TS, True),
    ("text", _STR, True),
    ("lang", _STR, True),
    ("source_label", _STR, True),
    ("reply_to_tweet_id", _ID, True),
    ("reply_to_user_id", _ID, True),
    ("quoted_tweet_id", _ID, True),
    ("retweeted_tweet_id", _ID, True),
    ("like_count", _I64, False),
    ("retweet_count", _I64, False),
    ("reply_count", _I64, False),
    ("quote_count", _I64, False),
    ("bookmark_count", _I64, False),
    ("view_count", _I64, True),
    ("possibly_sensitive", _BOOL, True),
    ("is_quote", _BOOL, False),
    ("is_retweet", _BOOL, False),
    ("has_media", _BOOL, False),
    ("visibility", _STR, False),  # "visible" | "limited" (TweetWithVisibilityResults)
    ("via", _STR, False),  # "timeline" | "quoted" | "retweeted" (cleaned: also "expanded", clean.py)
    ("card_name", _STR, True),
)

USERS = _schema(
    ("user_id", _ID, False),
    ("username", _STR, False),
    ("display_name", _STR, True),
    ("description", _STR, True),
    ("location", _STR, True),
    ("url", _STR, True),  # the expanded profile link, not the t.co one
    ("created_at", _TS, True),
    ("followers_count", _I64, True),
    ("following_count", _I64, True),
    ("tweet_count", _I64, True),
    ("listed_count", _I64, True),  # absent from the 2026 user schema: null there
    ("favourites_count", _I64, True),
    ("media_count", _I64, True),
    ("verified", _BOOL, True),
    ("verified_type", _STR, True),
    ("blue_verified", _BOOL, True),
    ("protected", _BOOL, True),
    ("profile_image_url", _STR, True),
    ("profile_banner_url", _STR, True),
)

# A video's or GIF's files as X lists them (mp4 variants with a bitrate, the HLS playlist without one).
VARIANT = pa.struct([("bitrate", _I64), ("content_type", _STR), ("url", _STR)])

MEDIA = _schema(
    ("tweet_id", _ID, False),
    ("media_key", _STR, True),
    ("media_type", _STR, True),  # photo | video | animated_gif
    ("url", _STR, True),  # media_url_https: the photo, or the video's thumbnail
    ("expanded_url", _STR, True),
    ("width", _I64, True),
    ("height", _I64, True),
    ("duration_ms", _I64, True),
    ("best_variant_url", _STR, True),  # highest-bitrate mp4
    ("best_bitrate", _I64, True),
    ("alt_text", _STR, True),
    ("variants", pa.list_(VARIANT), True),  # every variant, so a download can pick the best under a size
)

HASHTAGS = _schema(
    ("tweet_id", _ID, False),
    ("tag", _STR, False),
    ("tag_lower", _STR, False),
)

MENTIONS = _schema(
    ("tweet_id", _ID, False),
    ("user_id", _ID, True),
    ("username", _STR, True),
)

URLS = _schema(
    ("tweet_id", _ID, False),
    ("url", _STR, True),  # the t.co link
    ("expanded_url", _STR, True),
    ("display_url", _STR, True),
    ("domain", _STR, True),  # lower-case host of expanded_url
)

TRENDS = _schema(
    ("name", _STR, False),
    ("rank", _I64, True),  # X's own rank when it sends one
    ("position", _I64, False),  # 1-based order on the page
    ("url", _STR, True),
    ("query", _STR, True),  # the search query the trend opens, when X names one
    ("domain_context", _STR, True),
    ("meta_description", _STR, True),
    ("social_context", _STR, True),  # e.g. "1 day ago · Sports · 152K posts"
    ("is_ai_trend", _BOOL, True),
    ("grouped_trends", pa.list_(_STR), True),
)

# Tweets X answered as gone: deleted (empty result), a tombstone, or unavailable (withheld, suspended
# author...), with the id read from the timeline entry that held them.
TOMBSTONES = _schema(
    ("tweet_id", _ID, False),
    ("reason", _STR, False),  # deleted | tombstone | unavailable
)

# Follow edges read from Followers / Following pages of a watched account (follower follows followed);
# made by the cleaning step from a page's listed users and the account its request named (not in ALL:
# the parser alone cannot know that account).
FOLLOWS = _schema(
    ("follower_id", _ID, False),
    ("followed_id", _ID, False),
)

ALL: dict[str, pa.Schema] = {
    "tweets": TWEETS,
    "users": USERS,
    "media": MEDIA,
    "hashtags": HASHTAGS,
    "mentions": MENTIONS,
    "urls": URLS,
    "trends": TRENDS,
    "tombstones": TOMBSTONES,
}
