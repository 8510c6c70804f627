"""The search sink against a real OpenSearch-API server (osmem-server on a free port, a clean clone of its
cluster per test): the assets fill the aliases with exactly the lake's rows, re-runs send nothing, a new
day sends only its rows, a new mapping version rebuilds behind the alias, the compatibility modes, a server
that dies or a line that is cut mid-run (the next run refills or catches up: nothing missing, nothing
doubled), and ``/v1/data/search`` answering from the index with the lake's answers."""

from __future__ import annotations

import datetime as dt
import socket

import dagster as dg
import httpx
import pytest

from tests.serving.conftest import start_api_server
from tests.sinks._opensearch import Forwarder, start_search_server
from tests.sinks._search_lake import D1, D2, D3, findable_ids, merge_tweets, tweet_id, user_ids
from xget_pipelines.assets.search import search_asset, search_tweets, search_users
from xget_pipelines.core.entities import TWEETS, USERS
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.sinks import search_mappings
from xget_pipelines.core.sinks.search import SearchSink
from xget_pipelines.core.sinks.search_client import SearchError, SearchUnavailable, server_flavour
from xget_pipelines.core.sinks.search_query import TweetSearch
from xget_pipelines.resources.lake import LakeResource
from xget_pipelines.resources.search import SearchIndexResource

# The sink asset as defined, but retrying at once: the failing runs below show the retry and its failure
# without waiting out the production backoff (30 s and more).
QUICK_RETRY = dg.RetryPolicy(max_retries=1, delay=0)


@pytest.fixture(scope="module")
def search_server():
    server = start_search_server()
    yield server
    server.close()


@pytest.fixture
def cluster(search_server) -> str:
    """The URL of an empty cluster of the test's own (a clone of the module's server)."""
    with search_server.clone() as clone:
        yield clone.url


def materialize(
    lake: Lake, url: str, *assets, batch_size: int = 2000, compat: str = "auto", full: bool = False
):
    resources = {
        "search": SearchIndexResource(
            url=url, compat=compat, batch_size=batch_size, timeout_s=10, max_retries=1
        ),
        "lake": LakeResource(uri=lake.uri),
    }
    run_config = (
        {"ops": {a.key.path[-1]: {"config": {"full_reindex": True}} for a in assets}} if full else None
    )
    return dg.materialize(list(assets), resources=resources, run_config=run_config, raise_on_error=False)


def metadata(result, name: str) -> dict:
    (event,) = result.asset_materializations_for_node(name)
    return {key: value.value for key, value in event.metadata.items()}


def failure_text(result) -> str:
    """The messages of every failed attempt of the run (retried ones included), causes too."""
    texts = []
    for event in result.all_events:
        if event.event_type_value in ("STEP_FAILURE", "STEP_UP_FOR_RETRY"):
            error = event.event_specific_data.error
            while error is not None:
                texts.append(error.message)
                error = error.cause
    return "\n".join(texts)


def index_ids(url: str, alias: str) -> list[str]:
    """Every document id behind ``alias`` (a list: a doubled document would show)."""
    client = SearchSink(url).client
    client.indices.refresh(index=alias)
    hits = client.search(index=alias, query={"match_all": {}}, size=10_000, source=False)["hits"]["hits"]
    return sorted(hit["_id"] for hit in hits)


def found(index: SearchSink, term: str, **filters) -> list[int]:
    return [row["tweet_id"] for row in index.search_tweets(TweetSearch(term, **filters), limit=100)[0]]


def test_round_trip_the_index_holds_exactly_the_lake(lake, cluster):
    merge_tweets(lake, D1, 6)
    merge_tweets(lake, D2, 0, tombstones=[tweet_id(D1, 3)])  # X answers "the who played all night" as deleted

    result = materialize(lake, cluster, search_tweets, search_users)

    assert result.success, failure_text(result)
    md = metadata(result, "search_tweets")
    assert (md["alias"], md["index"], md["full"], md["from_version"], md["to_version"]) == (
        "xget-tweets",
        "xget-tweets-v1-1",
        True,
        -1,
        lake.version(TWEETS),
    )
    assert (md["documents_indexed"], md["documents_deleted"], md["documents_in_index"]) == (5, 1, 5)
    assert metadata(result, "search_users")["to_version"] == lake.version(USERS)
    assert index_ids(cluster, "xget-tweets") == sorted(findable_ids(lake)) and len(findable_ids(lake)) == 5
    assert index_ids(cluster, "xget-users") == sorted(user_ids(lake))

    index = SearchSink(cluster)
    doc = index.client.get(index="xget-tweets", id=str(tweet_id(D1, 0)))["_source"]
    assert (doc["tweet_id"], doc["author_id"], doc["author_username"]) == (
        str(tweet_id(D1, 0)),
        "101",
        "Alice",
    )
    assert (doc["hashtags"], doc["mentions"], doc["lang"], doc["has_media"]) == (
        ["python"],
        ["alice"],
        "de",
        True,
    )
    assert (doc["created_at"], doc["view_count"], doc["engagement"]) == ("2026-03-01T08:00:00+00:00", 100, 1)
    mapping = index.client.indices.get_mapping(index="xget-tweets")["xget-tweets-v1-1"]["mappings"]
    assert mapping["dynamic"] == "strict" and mapping["properties"]["text"]["analyzer"] == "english"

    # English stemming: no text says "meetups" or "runs", one says "meetup" and "Running"
    assert found(index, "meetups") == [tweet_id(D1, 0)] == found(index, "runs late")
    # hashtags are lower-cased keywords: any case finds them, a near miss does not
    assert found(index, "numbers", hashtag="#DATA") == [tweet_id(D1, 4)]
    assert found(index, "numbers", hashtag="dat") == []
    assert found(index, "played") == []  # the tombstoned tweet cannot be found
    hits = index.client.search(index="xget-users", query={"match": {"description": "run"}})["hits"]["hits"]
    assert [hit["_source"]["username"] for hit in hits] == ["Alice"]


def test_reruns_send_nothing_and_a_new_day_sends_only_its_rows(lake, cluster):
    merge_tweets(lake, D1, 6)
    assert materialize(lake, cluster, search_tweets, search_users).success
    index = SearchSink(cluster)
    before = index.state("tweets"), index.state("users")

    again = materialize(lake, cluster, search_tweets, search_users)
    for name in ("search_tweets", "search_users"):
        md = metadata(again, name)
        assert (md["full"], md["documents_indexed"], md["bulk_requests"]) == (False, 0, 0)
        assert md["from_version"] == md["to_version"]
    assert (index.state("tweets"), index.state("users")) == before  # not even the watermark was rewritten

    merge_tweets(lake, D2, 4)
    day2 = materialize(lake, cluster, search_tweets, search_users)
    md = metadata(day2, "search_tweets")
    assert (md["full"], md["documents_indexed"], md["from_version"], md["to_version"]) == (
        False,
        4,
        before[0]["lake_version"],
        lake.version(TWEETS),
    )  # D2's tweets, none of D1's
    assert metadata(day2, "search_users")["documents_indexed"] == 3  # each profile was seen again on D2
    assert index_ids(cluster, "xget-tweets") == sorted(findable_ids(lake)) and md["documents_in_index"] == 10

    merge_tweets(lake, D3, 0, tombstones=[tweet_id(D1, 1)])  # rewrites D1's file: its rows come back
    day3 = metadata(materialize(lake, cluster, search_tweets), "search_tweets")
    assert (day3["documents_indexed"], day3["documents_deleted"], day3["documents_in_index"]) == (5, 1, 9)
    assert index_ids(cluster, "xget-tweets") == sorted(findable_ids(lake))
    assert found(index, "duckdb") == [tweet_id(D2, 1)]  # D1's duckdb tweet is gone


def test_a_new_mapping_version_builds_a_new_index_behind_the_alias(lake, cluster, monkeypatch):
    merge_tweets(lake, D1, 6)
    merge_tweets(lake, D2, 4)
    index = SearchSink(cluster, batch_size=2)
    index.sync(lake, "tweets")
    expected = found(index, "python")
    assert index.alias_target("tweets") == ["xget-tweets-v1-1"] and len(expected) == 5

    seen = []  # between the bulk requests of the rebuild: what a search through the alias gets

    def probe(done, total):
        seen.append((index.alias_target("tweets"), found(index, "python"), index.documents("tweets")))

    monkeypatch.setattr(search_mappings, "MAPPING_VERSION", 2)
    result = index.sync(lake, "tweets", on_batch=probe)

    assert (result.full, result.index, result.replaced, result.indexed) == (
        True,
        "xget-tweets-v2-2",
        ["xget-tweets-v1-1"],
        10,
    )
    assert len(seen) >= 5 and all(s == (["xget-tweets-v1-1"], expected, 10) for s in seen)
    assert index.alias_target("tweets") == ["xget-tweets-v2-2"] and found(index, "python") == expected
    assert not index.client.indices.exists(index="xget-tweets-v1-1")
    state = index.state("tweets")
    assert (state["index"], state["mapping_version"]) == ("xget-tweets-v2-2", 2)
    mappings = index.client.indices.get_mapping(index="xget-tweets-v2-2")["xget-tweets-v2-2"]["mappings"]
    assert mappings["_meta"]["xget_mapping_version"] == 2

    # An explicit full reindex (the asset's launchpad config) does the same at the same mapping version.
    full = metadata(materialize(lake, cluster, search_tweets, full=True), "search_tweets")
    assert (full["full"], full["index"], full["replaced_indexes"], full["documents_in_index"]) == (
        True,
        "xget-tweets-v2-3",
        "xget-tweets-v2-2",
        10,
    )
    assert index_ids(cluster, "xget-tweets") == sorted(findable_ids(lake))


def test_compat_modes_against_opensearch(lake, cluster):
    merge_tweets(lake, D1, 6)
    # Real OpenSearch sends no X-Elastic-Product header (osmem does): the forwarder takes it out.
    with Forwarder(cluster, strip_product_header=True) as opensearch:
        wrong = materialize(lake, opensearch.url, search_tweets, compat="elasticsearch")
        assert not wrong.success
        text = failure_text(wrong)
        assert f"the search server at {opensearch.url} is not Elasticsearch" in text
        assert "set XGET_SEARCH_COMPAT=auto (or opensearch)" in text and "The lake is untouched" in text
        # a refusal is not retried (even by the production policy): it would fail the same way
        assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in wrong.all_events)
        # osmem itself sends the header but refuses the compatible-with media types (406)
        refused = failure_text(materialize(lake, cluster, search_tweets, compat="elasticsearch"))
        assert (
            f"the search server at {cluster} refused the Elasticsearch 9 client's media types (HTTP 406)"
            in refused
        )
        assert SearchSink(cluster).alias_target("tweets") == []  # nothing was written

        for compat in ("auto", "opensearch"):
            ok = materialize(lake, opensearch.url, search_tweets, compat=compat)
            assert ok.success, failure_text(ok)
            assert metadata(ok, "search_tweets")["server"] == "opensearch"
        assert index_ids(cluster, "xget-tweets") == sorted(findable_ids(lake))


def test_auto_picks_plain_json_for_opensearch_and_older_elasticsearch():
    # GET / answers of OpenSearch 2, Elasticsearch 8 (refuses compatible-with=9) and Elasticsearch 9
    opensearch = {"version": {"distribution": "opensearch", "number": "2.19.1"}}
    assert server_flavour(opensearch) == ("opensearch", True)
    assert server_flavour({"version": {"number": "8.17.4"}}) == ("elasticsearch", True)
    assert server_flavour({"version": {"number": "9.1.2"}}) == ("elasticsearch", False)


def _kill(server) -> None:
    server.process.kill()
    server.process.wait()


def test_a_server_killed_mid_run_is_refilled_when_it_is_back(lake):
    merge_tweets(lake, D1, 6)
    server = start_search_server()
    try:
        with Forwarder(server.url) as line:
            assert materialize(lake, line.url, search_tweets, batch_size=2).success
            merge_tweets(lake, D2, 6)
            line.before_bulk(1, lambda: _kill(server))  # dies once the first bulk request was answered

            failed = materialize(lake, line.url, search_asset("tweets", QUICK_RETRY), batch_size=2)

            assert not failed.success and server.process.poll() is not None
            text = failure_text(failed)
            assert f"the search server at {line.url} cannot be reached" in text
            assert "The lake is untouched" in text and "Exceeded max_retries of 1" in text
            merge_tweets(lake, D3, 3)  # the lake takes its writes while the search server is down
            server = start_search_server()  # back, and empty: osmem keeps everything in memory
            line.retarget(server.url)

            back = metadata(materialize(lake, line.url, search_tweets, batch_size=2), "search_tweets")

            assert (back["full"], back["from_version"], back["to_version"]) == (
                True,
                -1,
                lake.version(TWEETS),
            )
            assert index_ids(line.url, "xget-tweets") == sorted(findable_ids(lake))
            assert back["documents_in_index"] == len(findable_ids(lake)) == 15
    finally:
        server.close()


def test_a_line_cut_mid_run_catches_up_from_the_watermark(lake, cluster):
    merge_tweets(lake, D1, 6)
    with Forwarder(cluster) as line:
        assert materialize(lake, line.url, search_tweets, batch_size=2).success
        watermark = lake.version(TWEETS)
        merge_tweets(lake, D2, 6)
        line.before_bulk(1, line.cut)
        sent = line.bulk_requests

        failed = materialize(lake, line.url, search_asset("tweets", QUICK_RETRY), batch_size=2)

        assert not failed.success and line.bulk_requests == sent + 2  # one answered, one cut
        text = failure_text(failed)
        assert f"the search server at {line.url} cannot be reached" in text
        assert (
            "The lake is untouched (the sink only reads it); the next run catches up from lake version "
            f"{watermark}" in text
        )
        assert len(index_ids(cluster, "xget-tweets")) == 6 + 2  # the answered batch is in, the watermark not
        assert SearchSink(cluster).state("tweets")["lake_version"] == watermark
        merge_tweets(lake, D3, 4)  # the lake takes its writes while the line is down
        line.restore()

        back = metadata(materialize(lake, line.url, search_tweets, batch_size=2), "search_tweets")

    assert (back["full"], back["from_version"], back["to_version"]) == (
        False,
        watermark,
        lake.version(TWEETS),
    )
    assert back["documents_indexed"] == 6 + 4  # D2 (its first batch again: harmless) and D3
    assert index_ids(cluster, "xget-tweets") == sorted(findable_ids(lake))
    assert back["documents_in_index"] == len(findable_ids(lake)) == 16


def test_a_rejected_document_fails_the_run_and_keeps_the_watermark(lake, cluster, monkeypatch):
    merge_tweets(lake, D1, 6)
    index = SearchSink(cluster)
    watermark = index.sync(lake, "tweets").to_version
    merge_tweets(lake, D2, 2)
    document = search_mappings.tweet_document
    monkeypatch.setattr(
        search_mappings, "tweet_document", lambda row, names: {**document(row, names), "stray": 1}
    )

    with pytest.raises(SearchError) as caught:
        index.sync(lake, "tweets")

    assert f"the search server at {cluster} rejected 2 of 2 documents" in str(caught.value)
    assert "strict_dynamic_mapping_exception" in str(caught.value)
    assert index.state("tweets")["lake_version"] == watermark
    monkeypatch.undo()
    assert index.sync(lake, "tweets").indexed == 2
    assert index_ids(cluster, "xget-tweets") == sorted(findable_ids(lake))


def test_errors_name_the_server_without_its_credentials():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    index = SearchSink(
        f"http://xget:s3cret-pw@127.0.0.1:{port}", username="xget", password="s3cret-pw", max_retries=0
    )

    with pytest.raises(SearchUnavailable) as caught:
        index.sync(Lake("unused"), "tweets")

    message = str(caught.value)
    assert f"the search server at http://127.0.0.1:{port} cannot be reached" in message
    assert "XGET_SEARCH_URL" in message and "s3cret" not in message and "xget:" not in message
    assert caught.value.partial.from_version is None  # the watermark is unknown: it lives in that server


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # raised inside Dagster's own condition tester
def test_the_sinks_follow_each_merged_day():
    from xget_pipelines.partitions import daily_partitions

    upstream = [
        dg.AssetSpec(key, partitions_def=daily_partitions) for key in ("entities_tweets", "entities_users")
    ]
    defs = dg.Definitions(
        assets=[*upstream, search_tweets, search_users],
        resources={
            "search": SearchIndexResource(url="http://127.0.0.1:9"),
            "lake": LakeResource(uri="unused"),
        },
    )
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("entities_tweets", partition="2026-03-01"))

    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    assert after.get_num_requested(dg.AssetKey("search_tweets")) == 1
    assert after.get_num_requested(dg.AssetKey("search_users")) == 0


def test_the_api_searches_the_index_and_answers_as_the_lake(tmp_path, cluster):
    with start_api_server(tmp_path, search_url=cluster) as server:
        index = SearchSink(cluster)
        index.sync(Lake(server.settings.resolved_lake_uri), "tweets")
        headers, day = server.headers("viewer"), server.lake["base"]

        def get(path: str, **params) -> httpx.Response:
            rep = httpx.get(f"{server.base_url}{path}", headers=headers, params=params)
            assert rep.status_code == 200, rep.text
            return rep

        window = {"since": (day.replace(hour=0) - dt.timedelta(days=1)).isoformat(), "until": day.isoformat()}
        for params in (
            {"q": "python"},
            {"q": "python", "user": "@alice"},
            {"q": "#data"},
            {"q": "python", "has_media": "true"},
            {"q": "python", "lang": "en", **window},
            {"q": "data", "min_engagement": 20},
            {"q": "nothing-like-this"},
        ):
            rep = get("/v1/data/search", **params)
            assert rep.headers["X-Search-Backend"] == "index"
            lake_params = {k: v for k, v in params.items() if k != "q"} | {"term": params["q"]}
            assert rep.json()["items"] == get("/v1/data", **lake_params).json()["items"], params

        # Pages: the index's cursor continues in the lake and the other way round (the breaker may switch).
        first = get("/v1/data/search", q="python", limit=1).json()
        rest = get("/v1/data", term="python", limit=5, cursor=first["next_cursor"]).json()
        lake_first = get("/v1/data", term="python", limit=1).json()
        from_index = get("/v1/data/search", q="python", limit=5, cursor=lake_first["next_cursor"]).json()
        everything = [t["tweet_id"] for t in get("/v1/data", term="python").json()["items"]]
        assert (
            [t["tweet_id"] for t in first["items"] + rest["items"]]
            == everything
            == [t["tweet_id"] for t in lake_first["items"] + from_index["items"]]
        )
        assert len(everything) == 3 and from_index["backend"] == "index"
