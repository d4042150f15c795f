"""Precision and recall of the screening rules against generated ground truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from telsec.rejections import Rejections, json_objects


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


@dataclass(frozen=True, slots=True)
class Label:
    """The ground truth of one frame (a line of ``generate --labels``)."""

    frame: int
    malicious: bool
    scenario: str


def read_labels(lines: Iterable[bytes]) -> tuple[list[Label], Counter[str]]:
    """The labels of JSON lines (``{"frame": 1, "malicious": false, "scenario":
    "benign"}``, other fields ignored), and the lines left out, counted by reason:
    a labels file may be written by hand, for a capture of one's own."""
    labels: list[Label] = []
    counts = Rejections()
    rejected = counts.rejected
    for item in json_objects(lines, counts, "not JSON", "not a JSON object"):
        frame, malicious, scenario = (
            item.get("frame"),
            item.get("malicious", False),
            item.get("scenario"),
        )
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 1:
            rejected["no frame number (an integer from 1)"] += 1
        elif not isinstance(malicious, bool):
            rejected["malicious is not true or false"] += 1
        elif malicious and not (isinstance(scenario, str) and scenario):
            rejected["a malicious frame without a scenario"] += 1
        else:
            labels.append(Label(frame, malicious, scenario if isinstance(scenario, str) else ""))
    return labels, rejected


def score(labels: Iterable[Label], flagged: set[int]) -> list[ScenarioScore]:
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
        if label.malicious:
            malicious[label.scenario] += 1
            if label.frame in flagged:
                hits[label.scenario] += 1
        elif label.frame in flagged:
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
