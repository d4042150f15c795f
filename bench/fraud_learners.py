"""Smishing F1 of other learners on the splits ``telsec fraud train`` uses.

Not a test: prints smishing-vs-rest F1 on seeds 0-4 for the shipped recipe
(logistic regression over template n-grams) and the alternatives that
docs/fraud.md compares.  From the repository root (about 3 minutes, 2 cores):

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
from sklearn.svm import LinearSVC

from telsec.fraud import classify
from telsec.fraud.extract import clean_text, template


def template_features(texts: Sequence[str]) -> Any:
    return classify.features([template(t) for t in texts])


def template_and_raw_features(texts: Sequence[str]) -> Any:
    raw = classify.features([clean_text(t).lower() for t in texts])
    return hstack([template_features(texts), raw]).tocsr()


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
