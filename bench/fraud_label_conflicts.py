"""How much of the smishing-vs-spam line the training data itself draws twice.

Not a test: for every spam or smishing text of the two CC BY 4.0 sets (as
``telsec fraud train`` loads them), its nearest other text by the Jaccard
similarity of their templates' word 3-grams, and how many have a near-duplicate
labelled the other way.  A classifier that gives two near-identical texts one
label errs on one of each such pair, whatever it learns.  From the repository
root (about a second):

    .venv/bin/python bench/fraud_label_conflicts.py [--data ../shared/data/sms]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from telsec.fraud import classify
from telsec.fraud.extract import template


def shingles(text: str) -> frozenset[str]:
    words = template(text).lower().split()
    return frozenset(" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2)))


def nearest(sets: list[frozenset[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Each set's highest Jaccard similarity with another, and which one (-1: none)."""
    best, which = np.zeros(len(sets)), np.full(len(sets), -1)
    for i, a in enumerate(sets):
        for j in range(i + 1, len(sets)):
            b = sets[j]
            shared = len(a & b)
            if not shared:
                continue
            similarity = shared / len(a | b)
            if similarity > best[i]:
                best[i], which[i] = similarity, j
            if similarity > best[j]:
                best[j], which[j] = similarity, i
    return best, which


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/sms"))
    args = parser.parse_args()
    examples = [e for e in classify.load_examples(args.data) if e.label in ("spam", "smishing")]
    labels = np.array([e.label for e in examples])
    best, which = nearest([shingles(e.text) for e in examples])
    other = labels[np.maximum(which, 0)] != labels
    print(f"{len(examples)} texts: {(labels == 'smishing').sum()} smishing, "
          f"{(labels == 'spam').sum()} spam")  # fmt: skip
    for threshold in (0.5, 0.7, 0.9):
        near = best >= threshold
        conflict = near & other
        print(f"Jaccard >= {threshold}: {near.sum()} have a near-duplicate, "
              f"{conflict.sum()} labelled the other way "
              f"({(conflict & (labels == 'smishing')).sum()} smishing, "
              f"{(conflict & (labels == 'spam')).sum()} spam)")  # fmt: skip


if __name__ == "__main__":
    main()
