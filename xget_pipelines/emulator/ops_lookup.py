"""TweetResultByRestId and TweetResultsByRestIds: posts looked up by id, one or a batch.

What X answers, per id, and the public evidence for it:

- the whole body is ``data.tweetResult``: one item for the single lookup, a list with one item per
  requested id, in request order, for the batch (twikit's ``get_tweets_by_ids`` reads
  ``data.tweetResult`` as that list; twitter-api-client's ``scraper.py`` walks it the same way);
- an item is ``{"result": <post>}`` where X has the post: a ``Tweet`` (or ``TweetWithVisibilityResults``);
- a post whose author is suspended or protected is ``TweetUnavailable`` with a ``reason``:
  ``{"__typename":"TweetUnavailable","reason":"Suspended"}`` (JDownloader's TwitterComCrawler.java quotes
  it from X), ``"reason":"Protected"`` (cobalt's twitter service quotes it); twitter-openapi's schema has
  ``TweetUnavailable`` with a free ``reason`` string next to ``TweetTombstone``;
- a withheld post is a ``TweetTombstone`` with X's notice (the text the timelines use, render_parts.py);
- a deleted post, or an id X never had, is an item with no ``result`` at all (``{}``; twikit's
  ``tweet_from_data`` and twitter-api-client's ``tweet.get('result', {})`` both expect it), and
  ``{"data":{"tweetResult":{}}}`` for the single lookup.

The batch takes as many ids as fit X's request-line limit: twitter-api-client splits its batches at
4,200 characters of ids "to avoid 431 errors" and gives the batch size as "~220" (its readme's table);
more than ``EmulatorSettings.max_lookup_ids`` ids get 431 with an empty body (``app.py``).
"""

from __future__ import annotations

from .model import DELETED, WITHHELD, Tweet
from .render_parts import tombstone
from .timeline import Ctx

UNAVAILABLE = "TweetUnavailable"


def lookup_ids(variables: dict) -> list[str]:
    """The ``tweetIds`` of a batch request as strings (X's clients send strings; numbers are taken too)."""
    ids = variables.get("tweetIds")
    return [str(i) for i in ids] if isinstance(ids, list) else []


def _item(ctx: Ctx, tid: object, top: dict) -> dict:
    tweet: Tweet | None = ctx.world.tweet_by_id(tid) if str(tid).isdigit() else None
    if tweet is None or tweet.ms > ctx.visible_ms or tweet.flags & DELETED:
        return {}
    author = tweet.author
    if author.unavailable:
        return {"result": {"__typename": UNAVAILABLE, "reason": "Suspended"}}
    if author.protected:  # the emulator's accounts follow nobody: every protected post is closed to them
        return {"result": {"__typename": UNAVAILABLE, "reason": "Protected"}}
    if tweet.flags & WITHHELD:
        return {"result": tombstone(tweet)}
    return {"result": ctx.tweet_result(tweet, top)}


def tweet_result_by_rest_id(ctx: Ctx) -> dict:
    return {"data": {"tweetResult": _item(ctx, ctx.variables.get("tweetId", ""), ctx.top_fields())}}


def tweet_results_by_rest_ids(ctx: Ctx) -> dict:
    top = ctx.top_fields()
    return {"data": {"tweetResult": [_item(ctx, tid, top) for tid in lookup_ids(ctx.variables)]}}
