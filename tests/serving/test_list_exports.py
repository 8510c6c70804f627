"""Every list endpoint downloads all its rows with ``format=`` (json, ndjson, csv, parquet, xlsx), and the
download holds the same rows as the JSON pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import httpx
import openpyxl
import pyarrow.parquet as pq


def _get(server, role, path, **params):
    rep = httpx.get(f"{server.base_url}{path}", headers=server.headers(role), params=params, timeout=60)
    assert rep.status_code == 200, rep.text
    return rep


def test_tweets_download_every_page_in_each_format(api_server):
    pages, cursor = [], None
    while True:
        page = _get(
            api_server, "viewer", "/v1/data", limit=2, **({"cursor": cursor} if cursor else {})
        ).json()
        pages += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [t["tweet_id"] for t in pages]
    assert len(ids) == len(set(ids)) >= 5

    table = pq.read_table(io.BytesIO(_get(api_server, "viewer", "/v1/data", format="parquet").content))
    assert table["tweet_id"].to_pylist() == ids
    lines = _get(api_server, "viewer", "/v1/data", format="ndjson").text.splitlines()
    assert [json.loads(line)["tweet_id"] for line in lines] == ids
    as_strings = _get(api_server, "viewer", "/v1/data", format="json", ids_as_strings="true").json()
    assert [r["tweet_id"] for r in as_strings] == [str(i) for i in ids]  # above 2**53: safe for JavaScript
    rep = _get(api_server, "viewer", "/v1/data", format="csv")
    assert rep.headers["content-disposition"] == 'attachment; filename="tweets.csv"'
    assert [int(r["tweet_id"]) for r in csv.DictReader(io.StringIO(rep.text))] == ids


def test_analytics_and_pool_lists_download(api_server):
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).isoformat()
    trends = _get(api_server, "viewer", "/v1/trends", since=since).json()
    assert trends
    rows = list(
        csv.DictReader(io.StringIO(_get(api_server, "viewer", "/v1/trends", since=since, format="csv").text))
    )
    assert [(r["name"], int(r["count"])) for r in rows] == [(t["name"], t["count"]) for t in trends]

    tweets = _get(api_server, "viewer", "/v1/users/alice/tweets").json()["items"]
    streamed = _get(api_server, "viewer", "/v1/users/alice/tweets", format="json").json()
    assert [t["tweet_id"] for t in streamed] == [t["tweet_id"] for t in tweets]

    httpx.post(
        f"{api_server.base_url}/v1/tasks",
        headers=api_server.headers("analyst"),
        json={"type": "SEARCH", "target": "exported task", "start": False},
    ).raise_for_status()
    tasks = _get(api_server, "analyst", "/v1/tasks", format="ndjson").text.splitlines()
    assert "exported task" in {json.loads(line)["target"] for line in tasks}

    book = openpyxl.load_workbook(
        io.BytesIO(_get(api_server, "admin", "/v1/admin/users", format="xlsx").content)
    )
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    names = {row[header.index("username")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert {"viewer_user", "admin_user"} <= names and "password_hash" not in header
