"""Smishing F1 of other learners on the splits ``telsec fraud train`` uses.

Not a test: prints smishing-vs-rest F1 on seeds 0-4 for the shipped recipe
(logistic regression over template n-grams) and the alternatives that
docs/fraud.md compares, one of them the shipped learner with a smishing
threshold chosen by cross-validation.  From the repository root (about 3 minutes, 2 cores):

    .venv/bin/python bench/fraud_learners.py [--data ../shared/data/sms]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC

from telsec.fraud import classify
from telsec.fraud.extract import clean_text, template


def template_features(texts: Sequence[str]) -> Any:
    return classify.features([template(t) for t in texts])


def template_and_raw_features(texts: Sequence[str]) -> Any:
    raw = classify.features([clean_text(t).lower() for t in texts])
    return hstack([template_features(texts), raw]).tocsr()


class ThresholdedLogistic:
    """The shipped logistic regression, calling a text smishing when its smishing
    probability reaches a threshold chosen for F1 by 3-fold cross-validation on
    the training texts (instead of taking the most probable class)."""

    def __init__(self, c: float = 20) -> None:
        self.learner = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        self.threshold = 0.5

    def fit(self, matrix: Any, labels: Sequence[str]) -> ThresholdedLogistic:
        folds = StratifiedKFold(3, shuffle=True, random_state=0)
        out_of_fold = cross_val_predict(self.learner, matrix, labels, cv=folds,
                                        method="predict_proba")  # fmt: skip
        self.learner.fit(matrix, labels)
        smishing = list(self.learner.classes_).index("smishing")
        truth = [label == "smishing" for label in labels]
        self.threshold = max(np.linspace(0.1, 0.9, 33), key=lambda t: f1_score(
            truth, out_of_fold[:, smishing] >= t))  # fmt: skip
        return self

    def predict(self, matrix: Any) -> list[str]:
        probabilities = self.learner.predict_proba(matrix)
        classes = list(self.learner.classes_)
        smishing = classes.index("smishing")
        rest = probabilities.copy()
        rest[:, smishing] = -1.0
        return [
            "smishing" if row[smishing] >= self.threshold else classes[int(other.argmax())]
            for row, other in zip(probabilities, rest, strict=True)
        ]


LEARNERS: list[tuple[str, Callable[[Sequence[str]], Any], Callable[[], Any]]] = [
    (
        "template, logistic C=20 (shipped)",
        template_features,
        lambda: LogisticRegression(C=20, max_iter=3000, class_weight="balanced"),
    ),
    (
        "template + raw, logistic C=20",
        template_and_raw_features,
        lambda: LogisticRegression(C=20, max_iter=3000, class_weight="balanced"),
    ),
    (
        "template + raw, logistic C=100",
        template_and_raw_features,
        lambda: LogisticRegression(C=100, max_iter=3000, class_weight="balanced"),
    ),
    (
        "template, logistic C=20, CV threshold",
        template_features,
        ThresholdedLogistic,
    ),
    (
        "template, linear SVM C=1",
        template_features,
        lambda: LinearSVC(C=1, class_weight="balanced"),
    ),
    (
        "template + raw, linear SVM C=1",
        template_and_raw_features,
        lambda: LinearSVC(C=1, class_weight="balanced"),
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/sms"))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    examples = classify.load_examples(args.data)
    for name, featurise, learner in LEARNERS:
        f1s = []
        for seed in range(args.seeds):
            train, test = classify.split(examples, seed)
            model = learner()
            model.fit(featurise([e.text for e in train]), [e.label for e in train])
            predicted = model.predict(featurise([e.text for e in test]))
            truth = [e.label == "smishing" for e in test]
            f1s.append(f1_score(truth, [p == "smishing" for p in predicted]))
        cells = " ".join(f"{f:.3f}" for f in f1s)
        print(f"{name:40} {cells}  mean {np.mean(f1s):.3f}", flush=True)


if __name__ == "__main__":
    main()
