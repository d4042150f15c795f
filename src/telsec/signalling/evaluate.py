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
    #: None where the scenario has no malicious frame (benign traffic alone)
    recall: float | None
    #: benign frames flagged (the same false alarms count against every scenario)
    false_alarms: int = 0


def score(labels: Iterable[dict[str, Any]], flagged: set[int]) -> list[ScenarioScore]:
    """Per attack scenario: recall over its malicious frames; precision counting every
    flagged frame that is not malicious against every scenario (the strict reading).
    Then ``all``, also for labels of benign traffic alone, where it says how many
    frames were flagged for nothing."""
    malicious: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    false_positives = 0
    seen = False
    for label in labels:
        seen = True
        frame = int(label["frame"])
        if label.get("malicious"):
            malicious[label["scenario"]] += 1
            if frame in flagged:
                hits[label["scenario"]] += 1
        elif frame in flagged:
            false_positives += 1

    def scored(name: str, positives: int, detected: int) -> ScenarioScore:
        flagged_total = detected + false_positives
        precision = detected / flagged_total if flagged_total else 1.0
        recall = detected / positives if positives else None
        return ScenarioScore(name, positives, detected, precision, recall, false_positives)

    out = [scored(name, malicious[name], hits[name]) for name in sorted(malicious)]
    if seen:
        out.append(scored("all", sum(malicious.values()), sum(hits.values())))
    return out
