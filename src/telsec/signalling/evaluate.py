"""Precision and recall of the screening rules against generated ground truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class ScenarioScore:
    scenario: str
    malicious_frames: int
    detected: int
    precision: float
    recall: float


def score(labels: Iterable[dict[str, Any]], flagged: set[int]) -> list[ScenarioScore]:
    """Per attack scenario: recall over its malicious frames; precision counting every
    flagged frame that is not malicious against every scenario (the strict reading)."""
    malicious: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    false_positives = 0
    for label in labels:
        frame = int(label["frame"])
        if label.get("malicious"):
            malicious[label["scenario"]] += 1
            if frame in flagged:
                hits[label["scenario"]] += 1
        elif frame in flagged:
            false_positives += 1
    out = []
    for scenario in sorted(malicious):
        tp = hits[scenario]
        precision = tp / (tp + false_positives) if tp + false_positives else 1.0
        out.append(
            ScenarioScore(scenario, malicious[scenario], tp, precision, tp / malicious[scenario])
        )
    total_tp = sum(hits.values())
    total = sum(malicious.values())
    if total:
        out.append(
            ScenarioScore(
                "all",
                total,
                total_tp,
                total_tp / (total_tp + false_positives) if total_tp + false_positives else 1.0,
                total_tp / total,
            )
        )
    return out
