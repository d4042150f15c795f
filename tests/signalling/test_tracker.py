"""The stateful rules' memory stays bounded, and what it forgets is what it says."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telsec.signalling._tracker import Tracker
from telsec.signalling.findings import (
    CHECK,
    DELIVER,
    FROM_PARTNER,
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
from telsec.signalling.geo import distance_km
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


def _reference_velocity(
    items: list[tuple[float, int, str, int]], limit: int, max_speed: float
) -> list[int]:
    """The velocity rule over an OrderedDict, as the location table must behave."""
    location: OrderedDict[int, tuple[float, str]] = OrderedDict()
    flagged = []
    for row, (time, subscriber, country, flags) in enumerate(items):
        if flags & CHECK:
            before = location.get(subscriber)
            if before is not None:
                km = distance_km(before[1], country)
                if km and km / (max(time - before[0], 1.0) / 3600) > max_speed:
                    flagged.append(row + 1)
                    continue
        if flags & TRUSTED:
            location[subscriber] = (time, country)
            location.move_to_end(subscriber)
            if len(location) > limit:
                location.popitem(last=False)
    return flagged


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 40),
    st.lists(
        st.tuples(
            st.integers(1, 3000),
            st.sampled_from(["GB", "FR", "NZ", "US", "XX"]),
            st.sampled_from([TRUSTED, CHECK, CHECK | TRUSTED]),
            st.floats(0, 7200),
        ),
        max_size=400,
    ),
    st.integers(1, 60),
)
def test_the_location_table_behaves_as_an_ordered_dict(
    limit: int, moves: list[tuple[int, str, int, float]], spread: int
) -> None:
    # keys spread over a few values collide in the table (probing, moving back
    # entries after an eviction); many keys make it grow
    items, time = [], 0.0
    for subscriber, country, flags, gap in moves:
        time += gap
        items.append((time, subscriber % spread if spread < 60 else subscriber, country, flags))
    events = _events_with_keys(items)
    tracker = Tracker(POLICY, max_subscribers=limit)
    found = [f.frames[0] for f in tracker.apply(events) if f.rule == "SIG-CAT3-VELOCITY"]
    assert found == _reference_velocity(items, limit, POLICY.thresholds.max_speed_kmh)
    trusted = {s for _, s, _, flags in items if flags & TRUSTED}
    assert tracker.sizes()["locations"] <= min(limit, len(trusted))


@pytest.mark.parametrize(("count", "limit"), [(50_000, 30_000), (40_000, 700)])
def test_many_subscribers_fill_and_empty_the_location_table(count: int, limit: int) -> None:
    # random keys, as keyed hashes are: they collide in the table as real ones do;
    # a small table that keeps forgetting moves entries back across its end too
    rng = np.random.default_rng(7)
    keys = (rng.choice(2**62, size=count, replace=False) + 1).tolist()
    items: list[tuple[float, int, str, int]] = []
    for n, key in enumerate(keys):
        items.append((float(n), key, "GB", TRUSTED))
        # ask after one of the last ones remembered (or just forgotten): 18,000 km at once
        asked = keys[int(rng.integers(max(0, n - limit - limit // 10), n + 1))]
        items.append((float(n), asked, "NZ", CHECK))
    tracker = Tracker(POLICY, max_subscribers=limit)
    found = [f.frames[0] for f in tracker.apply(_events_with_keys(items))]
    assert tracker.sizes()["locations"] == limit
    expected = _reference_velocity(items, limit, POLICY.thresholds.max_speed_kmh)
    assert found == expected
    assert 0.8 * count < len(found) < count


def _events_with_keys(items: list[tuple[float, int, str, int]]) -> Events:
    """LOCATE events of subscriber keys, each with evidence (frame = row + 1)."""
    parts = EventParts()
    count = len(items)
    rows = np.arange(count)
    proof = EvidenceColumns(rows + 1, *(np.full(count, -1) for _ in range(5)))
    parts.add(
        rows, LOCATE, np.array([i[0] for i in items]), np.array([i[1] for i in items]),
        np.array([parts.name(i[2]) for i in items]), np.array([i[3] for i in items]), proof,
    )  # fmt: skip
    return parts.events()


def _reference_fan_out(
    lookups: list[tuple[float, str, int]], threshold: int, window: float
) -> list[tuple[list[int], str]]:
    """The fan-out rule as docs/signalling.md states it, recounting each window."""
    seen: dict[str, list[tuple[float, int, int]]] = {}
    probing: dict[str, float] = {}
    out = []
    for frame, (time, gt, subscriber) in enumerate(lookups, start=1):
        until = probing.get(gt)
        if until is not None and time <= until:
            probing[gt] = time + window
            out.append(([frame], "continues a probe reported before"))
            continue
        recent = [x for x in seen.get(gt, []) if x[0] >= time - window]
        recent.append((time, subscriber, frame))
        seen[gt] = recent
        distinct = len({x[1] for x in recent})
        if distinct >= threshold:
            out.append((sorted(x[2] for x in recent), f"{distinct} subscribers looked up in "
                        f"{window:,.0f} s"))  # fmt: skip
            seen[gt] = []
            probing[gt] = time + window
    return out


def _lookups(items: list[tuple[float, str, int]]) -> Events:
    """Lookups (not SRI-SM) of subscriber keys by GTs, each with evidence."""
    parts = EventParts()
    count = len(items)
    rows = np.arange(count)
    proof = EvidenceColumns(rows + 1, *(np.full(count, -1) for _ in range(5)))
    parts.add(
        rows, LOOKUP, np.array([i[0] for i in items], dtype=float),
        np.array([i[2] for i in items]), np.array([parts.name(i[1]) for i in items]), 0, proof,
    )  # fmt: skip
    return parts.events()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 400), st.sampled_from(["gt1", "gt2"]), st.integers(1, 8)),
        max_size=120,
    )
)
def test_fan_out_counts_distinct_subscribers_per_window_as_specified(
    items: list[tuple[float, str, int]],
) -> None:
    items.sort(key=lambda item: item[0])
    thresholds = POLICY.thresholds
    window = 100.0
    policy = parse_policy(
        demo_policy().replace(
            f"fan_out_window_s = {thresholds.fan_out_window_s:g}", f"fan_out_window_s = {window:g}"
        )
    )
    assert policy.thresholds.fan_out_window_s == window
    found = Tracker(policy).apply(_lookups(items)) if items else []
    assert [(f.frames, f.detail) for f in found] == _reference_fan_out(
        items, policy.thresholds.fan_out_subscribers, window
    )


def test_one_subscriber_asked_about_again_and_again_is_not_a_fan_out() -> None:
    """A GT repeating one lookup 50,000 times in the window: no fan-out finding
    (and the count is kept as lookups come and go: this took minutes recounted)."""
    repeated = [(n * 0.001, "gt1", 7) for n in range(50_000)]
    others = [(50.0 + n, "gt1", 100 + n) for n in range(3)]
    found = Tracker(POLICY).apply(_lookups(repeated + others))
    assert found == []  # 4 distinct subscribers: below the threshold of 5
    found = Tracker(POLICY).apply(_lookups([*repeated, *others, (60.0, "gt1", 200)]))
    assert [len(f.frames) for f in found] == [50_004]


def test_more_gts_active_at_once_than_the_pruning_bound() -> None:
    """250,000 GTs deliver within one follow-up window: all are live, the table
    holds them all (pruning it finds nothing to drop, and is not tried again at
    every event), and what has expired goes at the next event after the window."""
    count = 250_000
    parts = EventParts()
    rows = np.arange(count)
    places = np.array([parts.name(f"gt{n}") for n in range(count)])
    parts.add(rows, DELIVER, rows / 10_000, np.zeros(count, dtype=np.int64), places, 0)
    tracker = Tracker(POLICY)
    tracker.apply(parts.events())
    assert tracker.sizes()["delivered"] == count
    tracker.apply(_events((DELIVER, 3600.0, None, "gt-late", 0, False)))
    assert tracker.sizes()["delivered"] == 1


def _sri_sms(count: int, time: float, gt: str = "gt1") -> Events:
    """``count`` SRI-SMs of distinct subscribers from ``gt`` at one ``time``."""
    parts = EventParts()
    rows = np.arange(count)
    proof = EvidenceColumns(rows + 1, *(np.full(count, -1) for _ in range(5)))
    parts.add(rows, LOOKUP, np.full(count, time), rows + 1, np.full(count, parts.name(gt)),
              SRI_SM_QUERY | FROM_PARTNER, proof)  # fmt: skip
    return parts.events()


def test_time_that_does_not_advance_leaves_old_sri_sm_undecided_not_held() -> None:
    """Zeroed timestamps: no SRI-SM's follow-up window ever ends. Past the bound the
    oldest are left undecided (as at a capture's end), and deliveries at one
    time are remembered once."""
    tracker = Tracker(POLICY, max_pending=100)
    assert tracker.apply(_sri_sms(250, 0.0)) == []
    assert tracker.sizes()["pending"] == 100 and tracker.undecided == 150
    deliveries = [(DELIVER, 0.0, None, "gt1", 0, False)] * 1000
    tracker.apply(_events(*deliveries))
    assert tracker.sizes()["delivery times"] == 1
    found = tracker.apply(_events((DELIVER, 1e6, None, "gt-late", 0, False)))
    assert found == []  # gt1 delivered within their window: no SRI-SM without one
    assert tracker.sizes()["pending"] == 0 and tracker.undecided == 150


def test_a_gts_lookups_kept_for_fan_out_are_bounded() -> None:
    # the same subscriber again and again: the oldest lookups go beyond the bound
    repeated = [(n * 0.001, "gt1", 7) for n in range(500)]
    tracker = Tracker(POLICY, max_recent=50)
    assert tracker.apply(_lookups(repeated)) == []
    assert tracker.sizes()["recent lookups"] == 50
    more = [(1.0 + n, "gt1", 100 + n) for n in range(4)]
    found = tracker.apply(_lookups(more))
    assert [len(f.frames) for f in found] == [50]  # a burst of 5 distinct, the last 50 kept


def test_gts_live_at_once_are_bounded_when_time_stands_still() -> None:
    """5,000 GTs deliver and look up at one time: each table keeps at most the
    bound, the most recently active; the rules go on working on what is kept."""
    count, bound = 5_000, 1_000
    parts = EventParts()
    rows = np.arange(count)
    places = np.array([parts.name(f"gt{n}") for n in range(count)])
    parts.add(rows, DELIVER, np.zeros(count), np.zeros(count, dtype=np.int64), places, 0)
    tracker = Tracker(POLICY, max_gts=bound)
    tracker.apply(parts.events())
    assert 0 < tracker.sizes()["delivered"] <= bound
    lookups = [(0.0, f"gt{n}", n + 1) for n in range(count)]
    tracker.apply(_lookups(lookups))
    assert 0 < tracker.sizes()["seen"] <= bound
    # one GT probing five subscribers is still found
    found = tracker.apply(_lookups([(0.0, "gt-probe", key) for key in range(1, 6)]))
    assert [f.rule for f in found] == ["SIG-FAN-OUT"]
