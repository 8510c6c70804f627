"""The corrections API: supply tweets (one or a batch, all or nothing), correct, soft-delete, restore,
history; who may (analyst writes, viewer reads), 422s naming the field, audit entries, and what a merge
then serves."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tests.core.test_entities import D1, D2, put, ts, tweet
from xget_pipelines.core.corrections import CORRECTIONS
from xget_pipelines.core.entities import merge_day

PASSWORD = "correct-horse-battery-staple"
COLLECTED = 1  # a tweet collected on D1 (merged before each test)


@pytest.fixture
def api(tmp_path):
    from xget_pipelines.core.auth.users import create_user
    from xget_pipelines.serving.app import create_app
    from xget_pipelines.settings import Settings

    settings = Settings(
        home=tmp_path,
        lake_uri=str(tmp_path / "lake"),
        database_url=f"sqlite:///{tmp_path / 'xget.db'}",
        api_rate_limit_per_minute=0,
        api_lake_refresh_s=0,
        search_url="",
    )
    app = create_app(settings)
    st = app.state.xget
    for role in ("viewer", "analyst", "admin"):
        create_user(st.engine, role, PASSWORD, role)
    put(st.lake, "cleaned/tweets", D1, [tweet(COLLECTED, ts(D1, 8), ts(D1, 12), D1)])
    merge_day(st.lake, D1)
    with TestClient(app) as client:
        client.lake = st.lake
        client.tokens = {}
        yield client


def auth(client, role: str) -> dict:
    if role not in client.tokens:
        rep = client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": role, "password": PASSWORD}
        )
        assert rep.status_code == 200, rep.text
        client.tokens[role] = rep.json()["access_token"]
    return {"Authorization": f"Bearer {client.tokens[role]}"}


def record(tweet_id: int, day: dt.date = D2, **extra) -> dict:
    return {
        "tweet_id": tweet_id,
        "text": "a supplied tweet",
        "created_at": f"{day.isoformat()}T09:00:00Z",
        "author_id": 10,
        "lang": "en",
        **extra,
    }


def error(rep) -> dict:
    return rep.json()["error"]


def test_an_analyst_supplies_corrects_deletes_and_restores_and_each_merge_serves_it(api):
    analyst, viewer = auth(api, "analyst"), auth(api, "viewer")
    rep = api.post("/v1/data", json=record(500), headers=analyst)
    assert rep.status_code == 202, rep.text
    body = rep.json()
    assert (body["status"], body["action"], body["tweet_id"], body["day"]) == (
        "accepted",
        "insert",
        500,
        "2026-03-02",
    )
    assert body["applies_at"] == "the next entities merge of 2026-03-02" and body["correction_id"]
    assert api.get("/v1/data/500", headers=viewer).status_code == 404  # not merged yet
    merge_day(api.lake, D2)
    assert api.get("/v1/data/500", headers=viewer).json()["text"] == "a supplied tweet"

    rep = api.put(
        f"/v1/data/{COLLECTED}",
        json={"fields": {"text": "fixed text", "lang": "de"}, "reason": "typo"},
        headers=analyst,
    )
    assert rep.status_code == 202, rep.text
    assert rep.json()["applies_at"] == "the next entities merge of 2026-03-01"
    assert api.get(f"/v1/data/{COLLECTED}", headers=viewer).json()["text"] == "hello"  # until the merge
    assert merge_day(api.lake, D1).corrected == 1
    shown = api.get(f"/v1/data/{COLLECTED}", headers=viewer).json()
    assert (shown["text"], shown["lang"]) == ("fixed text", "de")

    assert api.delete(f"/v1/data/{COLLECTED}", params={"reason": "spam"}, headers=analyst).status_code == 202
    assert api.delete(f"/v1/data/{COLLECTED}", headers=analyst).status_code == 409  # already deleted
    merge_day(api.lake, D1)
    gone = api.get(f"/v1/data/{COLLECTED}", headers=viewer)
    assert gone.status_code == 404 and error(gone)["code"] == "not_found"
    assert COLLECTED not in [t["tweet_id"] for t in api.get("/v1/data", headers=viewer).json()["items"]]

    assert (
        api.post(f"/v1/data/{COLLECTED}/restore", params={"reason": "not spam"}, headers=analyst).status_code
        == 202
    )
    merge_day(api.lake, D1)
    assert api.get(f"/v1/data/{COLLECTED}", headers=viewer).json()["text"] == "fixed text"

    history = api.get(f"/v1/data/{COLLECTED}/corrections", headers=viewer)
    assert history.status_code == 200
    items = history.json()["items"]
    assert [(c["action"], c["username"], c["reason"]) for c in items] == [
        ("update", "analyst", "typo"),
        ("delete", "analyst", "spam"),
        ("restore", "analyst", "not spam"),
    ]
    assert items[0]["fields"] == {"text": "fixed text", "lang": "de"}

    admin = auth(api, "admin")
    audit = api.get("/v1/admin/audit", params={"subject": f"tweet:{COLLECTED}"}, headers=admin).json()
    assert [a["action"] for a in audit] == ["data.restore", "data.delete", "data.correct"]  # newest first
    assert audit[-1]["detail"]["fields"] == ["lang", "text"] and audit[-1]["detail"]["reason"] == "typo"
    assert {a["correction_id"] for a in items} == {a["detail"]["correction_id"] for a in audit}
    (supplied,) = api.get("/v1/admin/audit", params={"subject": "tweet:500"}, headers=admin).json()
    assert supplied["action"] == "data.supply" and supplied["detail"]["day"] == "2026-03-02"
    assert api.get("/v1/admin/audit", headers=analyst).status_code == 403


def test_a_viewer_may_read_the_history_but_not_write(api):
    viewer = auth(api, "viewer")
    for method, path, kwargs in (
        ("post", "/v1/data", {"json": record(600)}),
        ("post", "/v1/data/batch", {"json": [record(600)]}),
        ("put", f"/v1/data/{COLLECTED}", {"json": {"fields": {"text": "x"}}}),
        ("delete", f"/v1/data/{COLLECTED}", {}),
        ("post", f"/v1/data/{COLLECTED}/restore", {}),
    ):
        rep = getattr(api, method)(path, headers=viewer, **kwargs)
        assert rep.status_code == 403 and error(rep)["code"] == "forbidden", (method, path, rep.text)
    assert api.get(f"/v1/data/{COLLECTED}/corrections", headers=viewer).json() == {
        "tweet_id": COLLECTED,
        "items": [],
    }
    assert api.post("/v1/data", json=record(600)).status_code == 401
    assert api.lake.table(CORRECTIONS) is None


def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(api):
    analyst = auth(api, "analyst")

    def bad(rep, field: str, status: int = 422) -> str:
        assert rep.status_code == status, rep.text
        assert error(rep)["field"] == field, rep.text
        return error(rep)["message"]

    bad(api.post("/v1/data", json={"tweet_id": 5, "text": "no date"}, headers=analyst), "created_at")
    bad(api.post("/v1/data", json=record(5, likes=3), headers=analyst), "likes")
    bad(api.post("/v1/data", json=record(5, text=" "), headers=analyst), "text")
    bad(api.post("/v1/data", json=record(5, text="x" * 25_001), headers=analyst), "text")
    bad(api.post("/v1/data", json=record(-5), headers=analyst), "tweet_id")
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert "future" in bad(
        api.post("/v1/data", json={**record(5), "created_at": future}, headers=analyst), "created_at"
    )

    batch = [record(10), record(11), record(12), {**record(13), "created_at": future}]
    bad(api.post("/v1/data/batch", json=batch, headers=analyst), "records[3].created_at")
    bad(api.post("/v1/data/batch", json=[record(10), record(11, via="x")], headers=analyst), "records[1].via")
    bad(api.post("/v1/data/batch", json=[record(10), record(10)], headers=analyst), "records[1].tweet_id")
    bad(api.post("/v1/data/batch", json=[record(i) for i in range(1, 1002)], headers=analyst), "records")
    bad(api.post("/v1/data/batch", json=[], headers=analyst), "records")
    bad(
        api.post("/v1/data/batch", json=[record(20), record(COLLECTED, D1)], headers=analyst),
        "records[1].tweet_id",
        409,
    )  # already collected: a conflict
    assert api.lake.table(CORRECTIONS) is None  # not one record of any bad batch was written

    message = bad(
        api.put(f"/v1/data/{COLLECTED}", json={"fields": {"text": "ok", "like_count": 3}}, headers=analyst),
        "fields.like_count",
    )
    assert "text, lang, possibly_sensitive, has_media" in message
    bad(api.put(f"/v1/data/{COLLECTED}", json={"fields": {}}, headers=analyst), "fields")
    bad(
        api.put(f"/v1/data/{COLLECTED}", json={"fields": {"has_media": "maybe"}}, headers=analyst),
        "fields.has_media",
    )
    bad(api.put("/v1/data/0", json={"fields": {"text": "x"}}, headers=analyst), "tweet_id")
    bad(
        api.put(
            f"/v1/data/{COLLECTED}", json={"fields": {"text": "x"}, "reason": "r" * 1001}, headers=analyst
        ),
        "reason",
    )
    for rep in (
        api.put("/v1/data/424242", json={"fields": {"text": "x"}}, headers=analyst),
        api.delete("/v1/data/424242", headers=analyst),
        api.post("/v1/data/424242/restore", headers=analyst),
    ):
        assert rep.status_code == 404 and error(rep)["code"] == "not_found", rep.text
    assert api.post(f"/v1/data/{COLLECTED}/restore", headers=analyst).status_code == 409  # not deleted
    assert api.lake.table(CORRECTIONS) is None


def test_a_batch_is_accepted_whole_in_one_commit_and_pending_records_can_be_corrected(api):
    analyst, viewer = auth(api, "analyst"), auth(api, "viewer")
    rep = api.post(
        "/v1/data/batch", json=[record(10, D1), record(11), record(12, text="third")], headers=analyst
    )
    assert rep.status_code == 202, rep.text
    body = rep.json()
    assert (body["status"], body["count"]) == ("accepted", 3)
    assert body["applies_at"] == "the next entities merge of 2026-03-01, 2026-03-02"
    assert [i["tweet_id"] for i in body["items"]] == [10, 11, 12]
    assert api.lake.version(CORRECTIONS) == 0  # one commit

    # Not merged yet, but in the lake as a supplied record: it can be corrected already.
    assert (
        api.put("/v1/data/12", json={"fields": {"text": "third, fixed"}}, headers=analyst).status_code == 202
    )
    assert (
        api.post("/v1/data", json=record(12), headers=auth(api, "admin")).status_code == 409
    )  # someone else's
    merge_day(api.lake, D1)
    merge_day(api.lake, D2)
    assert api.get("/v1/data/12", headers=viewer).json()["text"] == "third, fixed"
    assert api.get("/v1/data/10", headers=viewer).json()["created_at"].startswith("2026-03-01T09:00:00")
