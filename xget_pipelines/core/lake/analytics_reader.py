"""Reads of the analytics from the lake, for the API: trends and a term's series, daily sentiment, user
profiles and similar users, the most central users of a graph, and a user's followers or following.
"""

from __future__ import annotations

import datetime as dt

from xget_pipelines.core.errors import InvalidField, NotFound
from xget_pipelines.core.lake.cursors import Page, cursor_id, decode_cursor, encode_cursor
from xget_pipelines.core.lake.live import LiveCatalog
from xget_pipelines.core.lake.tweet_reader import resolve_user


class AnalyticsReader:
    def __init__(self, catalog: LiveCatalog):
        self.catalog = catalog

    def trends(
        self,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        scope: str = "global",
        kind: str = "hashtag",
        bursts_only: bool = False,
        limit: int = 50,
    ) -> list[dict]:
        """The top terms of a window by total count, with their peak burst score and bucket."""
        if not self.catalog.has("analytics/trends"):
            return []
        until = until or dt.datetime.now(dt.UTC)
        since = since or until - dt.timedelta(days=1)
        where = (
            "scope = ? and kind = ? and day between ?::date and ?::date "
            "and bucket_start >= ? and bucket_start < ?"
        )
        sql = f"""
            select name, sum(count)::bigint as count, max(z) as peak_z,
                   arg_max(bucket_start, z) as peak_bucket, bool_or(burst) as burst,
                   sum(case when burst then 1 else 0 end)::bigint as burst_buckets
            from hot_trends where {where}
            group by name {"having bool_or(burst)" if bursts_only else ""}
            order by {"peak_z desc" if bursts_only else "count desc"}, name limit {int(limit)}
        """
        return self.catalog.query(sql, [scope, kind, since.date(), until.date(), since, until]).to_pylist()

    def trend_series(
        self,
        name: str,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        scope: str = "global",
        kind: str = "hashtag",
    ) -> list[dict]:
        if not self.catalog.has("analytics/trends"):
            return []
        until = until or dt.datetime.now(dt.UTC)
        since = since or until - dt.timedelta(days=7)
        return self.catalog.query(
            """
            select bucket_start, count, baseline_mean, baseline_std, z, burst from analytics_trends
            where scope = ? and kind = ? and name = ? and day between ?::date and ?::date
              and bucket_start >= ? and bucket_start < ?
            order by bucket_start""",
            [scope, kind, name.lower().lstrip("#"), since.date(), until.date(), since, until],
        ).to_pylist()

    def sentiment(
        self, watch_key: str | None = None, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[dict]:
        if not self.catalog.has("analytics/sentiment_daily"):
            return []
        where, params = ["true"], []
        if watch_key:
            where.append("watch_key = ?")
            params.append(watch_key)
        if since:
            where.append("day >= ?::date")
            params.append(since)
        if until:
            where.append("day <= ?::date")
            params.append(until)
        return self.catalog.query(
            f"select * from analytics_sentiment_daily where {' and '.join(where)} order by day, watch_key",
            params,
        ).to_pylist()

    def profile(self, user: str) -> dict:
        user_id = resolve_user(self.catalog, user)
        if not self.catalog.has("analytics/user_profiles"):
            raise NotFound("no user profiles yet: materialize user_profiles (the marts job does)")
        exclude = (
            " exclude (embedding)" if "embedding" in self.catalog.columns("analytics_user_profiles") else ""
        )
        rows = self.catalog.query(
            f"select *{exclude} from analytics_user_profiles where user_id = ?", [user_id]
        ).to_pylist()
        if not rows:
            raise NotFound(f"no profile of user {user}: it has no merged tweets yet")
        return rows[0]

    def profiles(self, user_ids: list[int]) -> dict[int, dict]:
        """The profiles of many users in one query (the GraphQL API's profile loader batches a page's users
        through it); users without a profile are absent from the answer."""
        wanted = sorted({int(i) for i in user_ids})
        if not wanted or not self.catalog.has("analytics/user_profiles"):
            return {}
        exclude = (
            " exclude (embedding)" if "embedding" in self.catalog.columns("analytics_user_profiles") else ""
        )
        rows = self.catalog.query(
            f"select *{exclude} from analytics_user_profiles where user_id in (select unnest(?))", [wanted]
        ).to_pylist()
        return {r["user_id"]: r for r in rows}

    def similar_many(self, user_ids: list[int], limit: int = 5) -> dict[int, list[dict]]:
        """``similar`` of many users in two queries (the GraphQL API's loader): each user's most similar
        users, best first, with their names and counts; a user without a profile maps to ``[]``."""
        wanted = sorted({int(i) for i in user_ids})
        if not wanted or not self.catalog.has("analytics/user_profiles"):
            return {i: [] for i in wanted}
        rows = self.catalog.query(
            "select user_id, similar_users from analytics_user_profiles where user_id in (select unnest(?))",
            [wanted],
        ).to_pylist()
        lists = {r["user_id"]: (r["similar_users"] or [])[:limit] for r in rows}
        others = sorted({s["user_id"] for similar in lists.values() for s in similar})
        names = {}
        if others:
            names = {
                r["user_id"]: r
                for r in self.catalog.query(
                    "select user_id, username, display_name, tweets, followers_count, top_hashtags "
                    "from analytics_user_profiles where user_id in (select unnest(?))",
                    [others],
                ).to_pylist()
            }
        return {
            i: [
                {**names.get(s["user_id"], {"user_id": s["user_id"]}), "similarity": s.get("similarity")}
                for s in lists.get(i, [])
            ]
            for i in wanted
        }

    def similar(self, user: str, limit: int = 5) -> list[dict]:
        profile = self.profile(user)
        similar = profile.get("similar_users") or []
        if not similar:
            return []
        ids = [s["user_id"] for s in similar][:limit]
        scores = {s["user_id"]: s.get("similarity") for s in similar}
        rows = self.catalog.query(
            "select user_id, username, display_name, tweets, followers_count, top_hashtags "
            "from analytics_user_profiles where user_id in (select unnest(?))",
            [ids],
        ).to_pylist()
        by_id = {r["user_id"]: r for r in rows}
        return [{**by_id.get(i, {"user_id": i}), "similarity": scores.get(i)} for i in ids]

    def graph_top(self, graph: str = "mention", limit: int = 50, order: str = "pagerank") -> list[dict]:
        if not self.catalog.has("analytics/graph_metrics"):
            return []
        cols = self.catalog.columns("analytics_graph_metrics")
        if order not in cols:
            raise InvalidField(
                f"cannot order by {order!r}: use one of {', '.join(c for c in cols if c != 'user_id')}",
                "order",
            )
        where = "where graph = ?" if "graph" in cols else "where ? is not null"
        return self.catalog.query(
            f"select * from analytics_graph_metrics {where} order by {order} desc nulls last "
            f"limit {int(limit)}",
            [graph],
        ).to_pylist()

    def neighbors(
        self, user: str, direction: str = "followers", limit: int = 100, cursor: str | None = None
    ) -> Page:
        """Followers or following of a user from the merged follow edges (keyset pages by user id)."""
        user_id = resolve_user(self.catalog, user)
        if direction not in ("followers", "following"):
            raise InvalidField("direction is followers or following", "direction")
        if not self.catalog.has("entities/follows"):
            return Page([], None, ["user_id", "username", "first_seen", "last_seen"])
        mine, other = (
            ("followed_id", "follower_id") if direction == "followers" else ("follower_id", "followed_id")
        )
        params: list = [user_id]
        after = ""
        if cursor:
            (last,) = decode_cursor(cursor, 1)
            after = f"and f.{other} > ?"
            params.append(cursor_id(last))
        users = (
            f"left join entities_users u on u.user_id = f.{other} and u.bucket = f.{other} % 16"
            if self.catalog.has("entities/users")
            else "left join (select null::bigint as user_id, null::varchar as username) u on false"
        )
        rows = self.catalog.query(
            f"""
            select f.{other} as user_id, u.username, f.first_seen, f.last_seen from entities_follows f {users}
            where f.{mine} = ? {after} order by f.{other} limit {int(limit) + 1}""",
            params,
        ).to_pylist()
        nxt = encode_cursor(rows[limit - 1]["user_id"]) if len(rows) > limit else None
        return Page(rows[:limit], nxt, ["user_id", "username", "first_seen", "last_seen"])

    # -- exports -----------------------------------------------------------------------------------------
