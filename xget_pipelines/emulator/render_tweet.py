"""Tweet objects in X's 2026 GraphQL schema (tweets still carry `legacy`).

Shapes follow the captured responses: empty entity lists are omitted from `legacy.entities`
but kept in note/translation entity sets; a quoted post nests in full once, deeper quotes
become `quotedRefResult`; conversation-controlled posts are wrapped in
`TweetWithVisibilityResults`; deleted or withheld posts become `TweetTombstone`.
"""

from __future__ import annotations

from . import vocab
from .engagement import Engagement
from .media import card, media_entity
from .model import ARTICLE, EDITED, LIMITED, NOT_SHARED, Tweet, tco, x_date
from .render_community import post_reference
from .render_parts import NOTE_CUT, article, edit_control, note_tweet, text_entities, tombstone, translation
from .render_user import UserRenderer

_SOURCES = tuple(f'<a href="{url}" rel="nofollow">{label}</a>' for url, label in vocab.SOURCES)
_LIMITED_ACTIONS = {
    "limited_actions": [
        {
            "action": "Reply",
            "prompt": {
                "__typename": "CtaLimitedActionPrompt",
                "cta_type": "SeeConversation",
                "headline": {"entities": [], "text": "Who can reply?"},
                "subtext": {"entities": [], "text": "People the author mentioned can reply."},
            },
        }
    ]
}


class TweetRenderer:
    def __init__(self, users: UserRenderer, engagement: Engagement):
        self.users = users
        self.engagement = engagement

    def result(self, t: Tweet, now_ms: int, *, quoted: bool = False, top: dict | None = None) -> dict:
        """`tweet_results.result` for `t`. `top` holds fields X adds to timeline-level posts only."""
        if t.hidden:
            return tombstone(t)
        obj = self._tweet(t, now_ms, quoted)
        if top:
            obj.update(top)
        if t.flags & LIMITED:
            del obj["__typename"]
            return {
                "__typename": "TweetWithVisibilityResults",
                "limitedActionResults": _LIMITED_ACTIONS,
                "tweet": obj,
            }
        return obj

    def _tweet(self, t: Tweet, now_ms: int, quoted: bool) -> dict:
        c = self.engagement.counts(t, now_ms)
        author = t.author
        legacy, long_post = self._legacy(t)
        legacy.update(
            bookmark_count=c.bookmarks,
            favorite_count=c.likes,
            quote_count=c.quotes,
            reply_count=c.replies,
            retweet_count=c.retweets,
        )
        translated = t.translation is not None
        obj: dict = {
            "__typename": "Tweet",
            "rest_id": str(t.id),
            "core": {"user_results": {"result": self.users.result(author)}},
            "unmention_data": {},
            "edit_control": edit_control(t),
            "is_translatable": translated,
            "grok_translated_post_with_availability": translation(t)
            if translated
            else {"is_available": False},
            "views": {"count": str(c.views), "state": "EnabledWithCount"},
            "source": _SOURCES[t.source],
            "legacy": legacy,
        }
        if t.retweeted is not None:
            legacy["retweeted_status_result"] = {"result": self.result(t.retweeted, now_ms)}
        if t.quoted is not None:
            if quoted:
                obj["quotedRefResult"] = {"result": {"__typename": "Tweet", "rest_id": str(t.quoted.id)}}
            else:
                obj["quoted_status_result"] = {"result": self.result(t.quoted, now_ms, quoted=True)}
        if t.community is not None:  # posted to a community (raw_community_tweets.json)
            obj["community_results"] = post_reference(t.community)
        if long_post:
            obj["note_tweet"] = note_tweet(t)
        if t.card is not None and t.urls:
            obj["card"] = card(t, self.users)
        if t.flags & ARTICLE:
            obj["article"] = article(t)
        if t.flags & EDITED:
            obj["previous_counts"] = {
                "bookmark_count": 0,
                "favorite_count": min(1, c.likes),
                "quote_count": 0,
                "reply_count": 0,
                "retweet_count": 0,
            }
        return obj

    def _legacy(self, t: Tweet) -> tuple[dict, bool]:
        author = t.author
        note = len(t.text) > 280
        if t.retweeted is not None:
            text, start = t.text, 0
            rt_author = t.retweeted.author
            entities: dict = {
                "user_mentions": [
                    {
                        "id_str": str(rt_author.id),
                        "indices": [3, 4 + len(rt_author.screen_name)],
                        "name": rt_author.name,
                        "screen_name": rt_author.screen_name,
                    }
                ]
            }
        else:
            text = t.text[:NOTE_CUT].rstrip() + "…" if note else t.text
            start = len(t.reply_to.author.screen_name) + 2 if t.reply_to is not None else 0
            entities = text_entities(text, t)
        end = len(text)
        legacy: dict = {
            "bookmarked": False,
            "conversation_id_str": str(t.conversation_id),
            "created_at": x_date(t.ms),
            "display_text_range": [start, end],
            "entities": entities,
            "favorited": False,
            "full_text": text,
            "id_str": str(t.id),
            "is_quote_status": t.quoted is not None,
            "lang": t.lang,
            "retweeted": False,
            "user_id_str": str(author.id),
        }
        if t.media:
            short = tco(t.id, "m")
            legacy["full_text"] = f"{text} {short}"
            span = [end + 1, end + 1 + len(short)]
            media = [media_entity(t, m, i, short, span, self.users) for i, m in enumerate(t.media)]
            entities["media"] = media
            legacy["extended_entities"] = {"media": media}
        if t.media or t.urls:
            legacy["possibly_sensitive"] = False
            legacy["possibly_sensitive_editable"] = True
        if t.reply_to is not None:
            parent = t.reply_to
            legacy.update(
                in_reply_to_screen_name=parent.author.screen_name,
                in_reply_to_status_id_str=str(parent.id),
                in_reply_to_user_id_str=str(parent.author.id),
            )
        if t.quoted is not None:
            q = t.quoted
            link = f"https://twitter.com/{q.author.screen_name}/status/{q.id}"
            legacy["quoted_status_id_str"] = str(q.id)
            legacy["quoted_status_permalink"] = {
                "display": link.split("://")[1][:23] + "…",
                "expanded": link,
                "url": tco(t.id, "q"),
            }
        if t.place is not None:
            p = t.place
            box = [
                [
                    [p.lon - 0.2, p.lat - 0.2],
                    [p.lon + 0.2, p.lat - 0.2],
                    [p.lon + 0.2, p.lat + 0.2],
                    [p.lon - 0.2, p.lat + 0.2],
                ]
            ]
            legacy["place"] = {
                "bounding_box": {"coordinates": box, "type": "Polygon"},
                "country": p.country,
                "country_code": p.country_code,
                "full_name": p.full_name,
                "id": p.id,
                "name": p.name,
                "place_type": "city",
                "url": f"https://api.twitter.com/1.1/geo/id/{p.id}.json",
            }
        if t.flags & NOT_SHARED:  # a community post not shared with followers (raw_community_tweets.json)
            legacy["scopes"] = {"followers": False}
        if t.flags & LIMITED:
            legacy["conversation_control"] = {
                "conversation_owner_results": {"result": UserRenderer.owner_stub(author)},
                "policy": "ByInvitation",
            }
        return legacy, note
