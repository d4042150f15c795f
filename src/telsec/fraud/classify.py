"""Ham, spam, scam or smishing, and the brand or sector a message impersonates.

The model is a multinomial logistic regression over hashed word (1-2) and
character (2-5, within words) n-grams of the message's template (URLs, numbers,
amounts and codes as placeholders, :func:`telsec.fraud.extract.template`).  It is
trained by :func:`train` from the two CC BY 4.0 sets in ``../shared/data/sms``:

* the UCI SMS Spam Collection (Almeida, Gómez Hidalgo, Yamakami 2011): ham/spam;
* Mishra & Soni (2022): ham/spam/smishing, 5,025 of whose texts are also in UCI.

Texts are matched across the sets on their letters and digits; a text in both
takes Mishra & Soni's finer label, and is never put in a test split (the
held-out split is drawn only from texts in one set).  A spam text found only
in UCI is left out: UCI's "spam" covers smishing too, so it has no label for
the spam/smishing line (50 texts).  The shipped weights
(``data/sms-model.npz``) hold only the coefficients of features seen in
training, and the figures measured when they were made.

The model has three classes (ham, spam, smishing: the data's labels).  A message
the model calls smishing is reported as ``smishing`` when it carries a link or
an e-mail address (phishing for credentials or payment) and ``scam`` when it
only asks for a call or a reply (advance-fee, prize and callback fraud).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from telsec.fraud.extract import clean_text, template

CLASSES = ("ham", "spam", "smishing")
CATEGORIES = ("ham", "spam", "scam", "smishing")
N_FEATURES = 1 << 18
MODEL_RESOURCE = "sms-model.npz"
UCI_FILE, MISHRA_FILE = "SMSSpamCollection.tsv", "mishra-soni-2022-smishing-5971.csv"
TEST_FRACTION = 0.3


class DataError(ValueError):
    """The training data cannot be read."""


@cache
def _vectorisers() -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    common: dict[str, Any] = {
        "n_features": N_FEATURES,
        "alternate_sign": False,
        "norm": "l2",
        "dtype": np.float32,
    }
    words = HashingVectorizer(ngram_range=(1, 2), token_pattern=r"<\w+>|\b\w+\b", **common)  # noqa: S106
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common)
    return words, chars


def features(templates: Sequence[str]) -> Any:
    """The sparse feature matrix (2 x ``N_FEATURES`` columns) of message templates."""
    from scipy.sparse import hstack

    words, chars = _vectorisers()
    return hstack([words.transform(templates), chars.transform(templates)]).tocsr()


@dataclass
class Model:
    classes: tuple[str, ...]
    #: (classes, features) weights, dense in memory.
    weights: np.ndarray
    intercept: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, templates: Sequence[str]) -> np.ndarray:
        """(messages, classes) probabilities."""
        if not templates:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        scores = features(templates) @ self.weights.T + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)

    def save(self, path: Path) -> None:
        rows, cols = np.nonzero(self.weights)
        np.savez_compressed(
            path,
            classes=np.array(self.classes),
            rows=rows.astype(np.int8),
            cols=cols.astype(np.int32),
            values=self.weights[rows, cols].astype(np.float16),
            shape=np.array(self.weights.shape),
            intercept=self.intercept.astype(np.float32),
            info=np.frombuffer(orjson.dumps(self.info), dtype=np.uint8),
        )

    @classmethod
    def load(cls, source: Path | None = None) -> Model:
        """The model at ``source``, else the one shipped with telsec."""
        if source is None:
            handle: Any = (
                resources.files("telsec.fraud").joinpath("data", MODEL_RESOURCE).open("rb")
            )
        else:
            handle = source.open("rb")
        with handle, np.load(handle) as saved:
            weights = np.zeros(tuple(saved["shape"]), dtype=np.float32)
            weights[saved["rows"], saved["cols"]] = saved["values"].astype(np.float32)
            return cls(
                tuple(str(c) for c in saved["classes"]),
                weights,
                saved["intercept"],
                orjson.loads(saved["info"].tobytes()),
            )


@cache
def shipped_model() -> Model:
    return Model.load()


def category(label: str, has_link: bool) -> str:
    """The reported category of a model label: smishing splits into smishing (a
    link or address to follow) and scam (a call or a reply)."""
    if label == "smishing" and not has_link:
        return "scam"
    return label


# --- training data -------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    #: "uci", "mishra" or "both"
    origin: str


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", clean_text(text).lower())


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: not found (the SMS sets live in ../shared/data/sms)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: {exc}") from None


def load_examples(data_dir: Path) -> list[Example]:
    """The two sets, one example per distinct text."""
    examples: dict[str, Example] = {}
    for line in _read(data_dir / UCI_FILE).splitlines():
        label, _, text = line.partition("\t")
        if label in ("ham", "spam") and text.strip():
            examples.setdefault(_key(text), Example(clean_text(text), label, "uci"))
    for row in csv.DictReader(io.StringIO(_read(data_dir / MISHRA_FILE))):
        label, text = (row.get("label") or "").strip().lower(), row.get("TEXT") or ""
        if label not in CLASSES or not text.strip():
            continue
        key = _key(text)
        seen = examples.get(key)
        origin = "both" if seen is not None and seen.origin in ("uci", "both") else "mishra"
        examples[key] = Example(clean_text(text), label, origin)
    # UCI's "spam" is spam or smishing: a text only UCI has carries no label for
    # the line this model draws, so it is left out of training and testing alike
    return [e for e in examples.values() if not (e.origin == "uci" and e.label == "spam")]


def data_digest(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in (UCI_FILE, MISHRA_FILE):
        digest.update((data_dir / name).read_bytes())
    return digest.hexdigest()


def split(examples: list[Example], seed: int) -> tuple[list[Example], list[Example]]:
    """(train, test): the test split is ``TEST_FRACTION`` of the texts found in one
    set only, stratified by label; texts in both sets are always in train."""
    rng = random.Random(seed)
    test: set[int] = set()
    for label in CLASSES:
        single = [i for i, e in enumerate(examples) if e.origin != "both" and e.label == label]
        rng.shuffle(single)
        test.update(single[: round(len(single) * TEST_FRACTION)])
    train = [e for i, e in enumerate(examples) if i not in test]
    return train, [examples[i] for i in sorted(test)]


def fit(examples: Sequence[Example], c: float = 20.0) -> Model:
    from sklearn.linear_model import LogisticRegression

    matrix = features([template(e.text) for e in examples])
    learner = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    learner.fit(matrix, [e.label for e in examples])
    order = [list(learner.classes_).index(c) for c in CLASSES]
    return Model(
        CLASSES,
        learner.coef_[order].astype(np.float32),
        learner.intercept_[order].astype(np.float32),
    )


def scores(model: Model, examples: Sequence[Example]) -> dict[str, Any]:
    """Precision, recall and F1 of smishing-vs-rest and of not-ham-vs-ham, and the
    confusion matrix."""
    probabilities = model.probabilities([template(e.text) for e in examples])
    predicted = [model.classes[i] for i in probabilities.argmax(axis=1)]
    truth = [e.label for e in examples]

    def binary(positive: set[str]) -> dict[str, float]:
        pairs = [(t in positive, p in positive) for t, p in zip(truth, predicted, strict=True)]
        tp = sum(1 for t, p in pairs if t and p)
        fp = sum(1 for t, p in pairs if p and not t)
        fn = sum(1 for t, p in pairs if t and not p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}

    confusion = {t: {p: 0 for p in CLASSES} for t in CLASSES}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    return {
        "examples": len(examples),
        "smishing_vs_rest": binary({"smishing"}),
        "unwanted_vs_ham": binary({"spam", "smishing"}),
        "confusion": confusion,
    }


def label_conflicts(examples: Sequence[Example]) -> dict[str, int]:
    """Texts whose template is shared by examples labelled spam and smishing:
    the same message given both labels, which bounds what any model can score."""
    labels: dict[str, set[str]] = {}
    for e in examples:
        labels.setdefault(template(e.text), set()).add(e.label)
    both = [t for t, found in labels.items() if {"spam", "smishing"} <= found]
    return {"templates": len(labels), "spam_and_smishing": len(both)}


def train(data_dir: Path, seed: int = 0, c: float = 20.0) -> tuple[Model, dict[str, Any]]:
    """A model trained on the train split, its held-out scores, and a model refit
    on everything (what ships): returns (final model, report)."""
    examples = load_examples(data_dir)
    train_part, test_part = split(examples, seed)
    held_out = scores(fit(train_part, c), test_part)
    cross = []
    for other in range(1, 5):
        tr, te = split(examples, seed + other)
        cross.append(scores(fit(tr, c), te)["smishing_vs_rest"]["f1"])
    model = fit(examples, c)
    report = {
        "data_sha256": data_digest(data_dir),
        "examples": len(examples),
        "in_both_sets": sum(1 for e in examples if e.origin == "both"),
        "seed": seed,
        "C": c,
        "held_out": held_out,
        "other_splits_smishing_f1": cross,
        "label_conflicts": label_conflicts(examples),
    }
    model.info = report
    return model, report


def evaluate(model: Model, data_dir: Path, seed: int = 0) -> dict[str, Any]:
    """``model``'s scores on the held-out split of ``seed`` (of a model trained on
    its train split: the shipped model has seen every text, so it is refit)."""
    examples = load_examples(data_dir)
    train_part, test_part = split(examples, seed)
    c = float(model.info.get("C", 20.0))
    return scores(fit(train_part, c), test_part)


def score_templates(
    templates: list[str], model: Model | None = None
) -> tuple[list[str], np.ndarray, list[str | None]]:
    """The model's label, its confidence and the language of each template."""
    from telsec.fraud.language import language

    model = model or shipped_model()
    probabilities = model.probabilities(templates)
    best = probabilities.argmax(axis=1)
    labels = [model.classes[i] for i in best]
    return labels, probabilities[np.arange(len(best)), best], [language(t) for t in templates]


#: Scores already computed: template -> (model label, confidence, language).
TemplateScores = dict[str, tuple[str, float, str | None]]


def classify_reports(
    reports: Any, model: Model | None = None, scores: TemplateScores | None = None
) -> Any:
    """``reports`` (a frame of :data:`telsec.fraud.records.REPORT_SCHEMA`) with
    ``category``, ``confidence``, ``brand``, ``sector`` and ``language``. Each
    distinct template is scored once: a campaign's thousand copies cost one.
    ``scores`` (filled in) carries templates' scores from one call to the next."""
    import polars as pl

    from telsec.fraud.brands import impersonated

    if reports.height == 0:
        return reports.with_columns(
            pl.lit(None, pl.String).alias("category"),
            pl.lit(None, pl.Float32).alias("confidence"),
            pl.lit(None, pl.String).alias("brand"),
            pl.lit(None, pl.String).alias("sector"),
            pl.lit(None, pl.String).alias("language"),
        )
    distinct = reports.select("template").unique(maintain_order=True)
    templates = distinct["template"].to_list()
    known = {} if scores is None else scores
    new = [t for t in templates if t not in known]
    if new:
        labels, confidence, languages = score_templates(new, model)
        triples = zip(labels, confidence.tolist(), languages, strict=True)
        known.update(zip(new, triples, strict=True))
    scored = distinct.with_columns(
        pl.Series("label", [known[t][0] for t in templates], pl.String),
        pl.Series("confidence", [known[t][1] for t in templates], pl.Float32),
        pl.Series("language", [known[t][2] for t in templates], pl.String),
    )
    out = reports.join(scored, on="template", how="left", maintain_order="left")
    has_link = (pl.col("urls").list.len() > 0) | (pl.col("emails").list.len() > 0)
    out = out.with_columns(
        pl.when((pl.col("label") == "smishing") & ~has_link)
        .then(pl.lit("scam"))
        .otherwise(pl.col("label"))
        .alias("category")
    ).drop("label")
    # brand and sector: once per template among the unwanted, read off one of its
    # bodies (the case of the brand's name matters: "EE" is a brand, "ee" is not)
    unwanted = (
        out.filter(pl.col("category") != "ham").group_by("template").agg(pl.col("body").first())
    )
    found = [impersonated(body) for body in unwanted["body"].to_list()]
    brands = unwanted.select(
        "template",
        pl.Series("brand", [b for b, _ in found], pl.String),
        pl.Series("sector", [s for _, s in found], pl.String),
    )
    return out.join(brands, on="template", how="left")
