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
    EvidenceColumns,
)
from telsec.signalling.generate import demo_policy
from telsec.signalling.policy import parse_policy

POLICY = parse_policy(demo_policy())


def _events(*items: tuple[int, float, str | None, str, int, bool]) -> Events:
    """(kind, time, subscriber, place, flags, with evidence) each."""
    parts = EventParts()
    keys: dict[str | None, int] = {None: 0}
    for row, (kind, time, subscriber, place, flags, proof) in enumerate(items):
        key = keys.setdefault(subscriber, len(keys))
        evidence = None
        if proof:
            evidence = EvidenceColumns(
                np.array([row + 1]), np.array([parts.name(place)]), np.array([-1]),
                np.array([parts.name("op")]), np.array([parts.name(subscriber)]), np.array([-1]),
            )  # fmt: skip
        parts.add(np.array([row]), kind, np.array([time]), np.array([key]),
                  np.array([parts.name(place)]), flags, evidence)  # fmt: skip
    return parts.events()


def test_events_carry_their_evidence_in_columns() -> None:
    events = _events(
        (LOCATE, 5.0, "imsi-a", "GB", TRUSTED, False),
        (LOOKUP, 7.0, "msisdn-b", "gt1", SRI_SM_QUERY, True),
    )
    assert events.evidence(0) is None
    assert events.evidence(1) == Evidence(2, 7.0, "gt1", None, "op", "msisdn-b", None)
    assert events.subscriber.tolist() == [1, 2]


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
