"""Pages of operations the parser did not know still give their tweets and users.

The bodies are built at run time from the real captures' own objects, in the shapes public reports give
for X's single-tweet lookups (``TweetResultByRestId``: ``data.tweetResult.result``, a Tweet like any other;
``TweetResultsByRestIds``: ``data.tweetResult[].result``; field notes of 2026-09-05, measured on x.com), and
under root names X has never used (an operation added or renamed tomorrow). twscrape's generic
``parse_tweets`` is the referee: the tweets it finds, XGet finds too.
"""

from __future__ import annotations

import json
import subprocess
import sys

from twscrape.models import parse_tweets

from xget_pipelines.core.x.parse import detect_operation, parse_page

from .test_parse import body, doc, encode


def search_tweets() -> list[dict]:
    """The timeline tweet objects of the real SearchTimeline capture."""
    out = []
    for ins in doc("raw_search.json")["data"]["search_by_raw_query"]["search_timeline"]["timeline"][
        "instructions"
    ]:
        for entry in ins.get("entries", []):
            result = entry["content"].get("itemContent", {}).get("tweet_results", {}).get("result")
            if result:
                out.append(result)
    return out


def twscrape_ids(obj: dict) -> set[int]:
    return {t.id for t in parse_tweets(obj)}


def test_tweet_result_by_rest_id_is_a_known_operation() -> None:
    tweet = next(t for t in search_tweets() if "quoted_status_result" in t)
    page_body = {"data": {"tweetResult": {"result": tweet}}}
    assert detect_operation(encode(page_body)) == "TweetResultByRestId"
    page = parse_page(encode(page_body))
    assert page.operation == "TweetResultByRestId" and page.generic_root is None and page.parse_errors == []
    ids = set(page.tweets["tweet_id"].to_pylist())
    assert int(tweet["rest_id"]) in ids and ids == twscrape_ids(page_body)  # the quoted tweet comes with it
    author = tweet["core"]["user_results"]["result"]["rest_id"]
    assert int(author) in page.users["user_id"].to_pylist() and page.entry_count == 1


def test_tweet_results_by_rest_ids_is_a_known_operation() -> None:
    tweets = search_tweets()[:5]
    page_body = {"data": {"tweetResult": [{"result": t} for t in tweets]}}
    page = parse_page(encode(page_body))
    assert page.operation == "TweetResultsByRestIds" and page.entry_count == 5 and not page.parse_errors
    assert set(page.tweets["tweet_id"].to_pylist()) == twscrape_ids(page_body)


def test_an_unknown_timeline_root_is_walked_generically_and_flagged() -> None:
    timeline = doc("raw_search.json")["data"]["search_by_raw_query"]["search_timeline"]["timeline"]
    page_body = {"data": {"someOperationXAddsTomorrow": {"slice": {"timeline": timeline}}}}
    generic = parse_page(encode(page_body))
    typed = parse_page(body("raw_search.json"))
    assert generic.generic_root == ["someOperationXAddsTomorrow"] and generic.operation == "unknown"
    assert set(generic.tweets["tweet_id"].to_pylist()) == set(typed.tweets["tweet_id"].to_pylist())
    assert set(generic.users["user_id"].to_pylist()) == set(typed.users["user_id"].to_pylist())
    assert generic.cursor_bottom == typed.cursor_bottom and generic.parse_errors == []


def test_tweets_and_users_are_found_wherever_an_unknown_root_puts_them() -> None:
    tweets = search_tweets()
    user = doc("raw_user_by_login.json")["data"]["user"]["result"]
    page_body = {
        "data": {
            "renamedThing": {
                "blocks": [{"payload": {"tweet": tweets[0]}}, {"payload": {"owner": user}}],
                "pinned": {"result": tweets[1]},
            }
        }
    }
    page = parse_page(encode(page_body), "RenamedThing")
    assert page.operation == "RenamedThing" and page.generic_root == ["renamedThing"]
    assert set(page.tweets["tweet_id"].to_pylist()) == twscrape_ids(page_body)
    assert int(user["rest_id"]) in page.users["user_id"].to_pylist()


def test_xget_x_parse_gives_the_ids_of_an_unknown_root(tmp_path) -> None:
    tweet = search_tweets()[0]
    path = tmp_path / "tweet_result.json"
    path.write_text(json.dumps({"data": {"tweetResultV2": {"result": tweet}}}))
    run = subprocess.run(
        [sys.executable, "-m", "xget_pipelines.cli", "x", "parse", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["generic"] is True and tweet["rest_id"] in report["tweet_ids"] and not report["errors"]
    assert "unknown root" in report["notes"][0]
