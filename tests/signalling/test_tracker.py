"""The stateful rules' memory stays bounded, and what it forgets is what it says."""

from __future__ import annotations

import numpy as np

from telsec.signalling._tracker import Tracker
from telsec.signalling.findings import (
    CHECK,
    DELIVER,
    LOCATE,
    LOOKUP,
    SRI_SM_QUERY,
    TRUSTED,
    EventParts,
    Events,
    Evidence,
)
from telsec.signalling.generate import demo_policy
from telsec.signalling.policy import parse_policy

POLICY = parse_policy(demo_policy())


def _events(*items: tuple[int, float, str | None, str, int, bool]) -> Events:
    """(kind, time, subscriber, place, flags, with evidence) each."""
    parts = EventParts()
    for row, (kind, time, subscriber, place, flags, proof) in enumerate(items):
        evidence = -1
        if proof:
            parts.evidences.append(Evidence(row + 1, time, place, None, "op", subscriber))
            evidence = len(parts.evidences) - 1
        who = np.empty(1, dtype=object)
        who[0] = subscriber
        where = np.empty(1, dtype=object)
        where[0] = place
        parts.add(np.array([row]), kind, np.array([time]), who, where, flags,
                  np.array([evidence], dtype=np.int32))  # fmt: skip
    return parts.events()


def _moves(max_subscribers: int) -> list[str]:
    tracker = Tracker(POLICY, max_subscribers=max_subscribers)
    found = tracker.apply(_events(
        (LOCATE, 0.0, "imsi-a", "GB", TRUSTED, False),
        (LOCATE, 10.0, "imsi-b", "GB", TRUSTED, False),
        (LOCATE, 20.0, "imsi-c", "GB", TRUSTED, False),
        (LOCATE, 600.0, "imsi-a", "NZ", CHECK, True),  # 18,000 km in ten minutes
    ))  # fmt: skip
    return [f.rule for f in found]


def test_the_oldest_location_is_forgotten_beyond_the_bound() -> None:
    assert _moves(3) == ["SIG-CAT3-VELOCITY"]
    assert _moves(2) == []  # imsi-a moved least recently: forgotten, so nothing to compare
    assert Tracker(POLICY, max_subscribers=2).sizes()["locations"] == 0


def test_tables_of_gts_are_pruned_of_what_has_expired() -> None:
    tracker = Tracker(POLICY)
    count = 100_500
    # all within the SRI-SM follow-up window (60 s): past the bound, but none expired
    deliveries = [(DELIVER, n / 10_000, None, f"gt{n}", 0, False) for n in range(count)]
    tracker.apply(_events(*deliveries))
    assert tracker.sizes()["delivered"] == count
    # an hour later, the next event prunes the deliveries no pending SRI-SM can need
    tracker.apply(_events((DELIVER, 3600.0, None, "gt-late", 0, False)))
    assert tracker.sizes()["delivered"] == 1


def test_pending_sri_sm_are_judged_or_left_undecided() -> None:
    followup = POLICY.thresholds.sri_sm_followup_s
    tracker = Tracker(POLICY)
    found = tracker.apply(_events(
        (LOOKUP, 0.0, "msisdn-a", "gt1", SRI_SM_QUERY, True),
        (LOOKUP, 1.0, "msisdn-b", "gt2", SRI_SM_QUERY, True),
        (DELIVER, 2.0, None, "gt2", 0, False),
        (LOOKUP, followup + 10, "msisdn-c", "gt3", SRI_SM_QUERY, True),
    ))  # fmt: skip
    assert [(f.rule, f.frames) for f in found if f.rule == "SIG-SRISM-NO-MT"] == [
        ("SIG-SRISM-NO-MT", [1])
    ]
    assert tracker.sizes()["pending"] == 1
    tracker.finish()
    assert tracker.undecided == 1 and tracker.sizes()["pending"] == 0
