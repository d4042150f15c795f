"""The detector and locator against simulated ground truth, and their pieces alone."""

from __future__ import annotations

import functools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telsec.geo import from_local, haversine_m
from telsec.radio.detect import (
    _EMPTY_CELL,
    ABSENCE_GAP_S,
    ABSENCES,
    RULES,
    ConfigError,
    _evidence,
    absences,
    detect,
    movement_m,
    parse_config,
    score,
)
from telsec.radio.evaluate import _true_position, evaluate
from telsec.radio.locate import (
    Estimate,
    Silences,
    _fit_fixed,
    censored_profile,
    estimate,
    profile,
)
from telsec.radio.schema import INVENTORY_SCHEMA, OBSERVATION_SCHEMA, conform
from telsec.radio.simulate import OPERATOR_TOML
from telsec.radio.store import ObservationStore
from telsec.stix.techniques import technique_by_external_id
from tests.radio.cities import city

CONFIG = parse_config(OPERATOR_TOML)


@functools.cache
def _run(scenario: str, seed: int):
    return evaluate(scenario, *city(scenario, seed)[:2], CONFIG, city(scenario, seed)[2])


@pytest.mark.parametrize("seed", range(5, 13))
def test_the_confounders_raise_no_alert(seed: int) -> None:
    """A new cell not yet in the inventory, a femtocell with its own TAC, a French
    border cell and a phone on a landing plane: none is a blaster."""
    result = _run("benign", seed)
    assert result.alerts == 0


@pytest.mark.parametrize("scenario", ["stationary-blaster", "vehicle-blaster", "cloned-cell"])
def test_blasters_are_found_without_false_alarms(scenario: str) -> None:
    results = [_run(scenario, seed) for seed in range(5, 13)]  # eight cities
    assert all(r.precision >= 0.95 for r in results), results
    heard = sum(r.heard for r in results)
    detected = sum(r.detected for r in results)
    assert heard >= 3
    assert detected / heard >= 0.95, results  # measured: 1.0 (docs/radio.md)
    assert all(r.median_detection_s is None or r.median_detection_s <= 1800 for r in results)


@pytest.mark.parametrize("scenario", ["vehicle-blaster", "cloned-cell", "benign"])
def test_counting_in_chunks_changes_nothing(scenario: str) -> None:
    """Per-cell counts are summed from chunks of the observations (bounded memory):
    chunks far smaller than a cell's observations, cutting through every cell, give
    the alerts of one chunk."""
    clean, inventory, _truth = city(scenario, 5)
    whole = detect(clean, inventory, CONFIG, chunk_rows=clean.height)
    pieces = detect(clean, inventory, CONFIG, chunk_rows=997)
    assert clean.height > 20 * 997
    assert (pieces.cells, pieces.observations) == (whole.cells, whole.observations)
    assert pieces.alerts == whole.alerts
    if scenario != "benign":
        assert whole.alerts


def test_a_stationary_blaster_is_located_within_a_hundred_metres() -> None:
    """Over eight simulated cities: one city's few windows can all be ambiguous
    (a handful of readings of similar strength), so a median of two says little."""
    errors = [r.median_error_m for r in (_run("stationary-blaster", s) for s in range(5, 13))]
    assert all(e is not None for e in errors)
    assert float(np.median(errors)) <= 100, errors  # measured: 58 m (docs/radio.md)


def test_a_cloned_identity_is_located_within_a_hundred_metres() -> None:
    """A clone stands near the city's edge, heard by a few observers from one side:
    the readings alone left half the cities' fits to the centroid, 250 m off (median
    of the cities), and least squares with silences as a penalty 155 m.  As a
    censored model (each silence the chance of being below its floor), 65 m
    (docs/radio.md).  Silences count only where the fix listed cells of the
    clone's technology: a phone on LTE does not list the GSM cells around it."""
    errors = [r.median_error_m for r in (_run("cloned-cell", s) for s in range(5, 13))]
    assert all(e is not None for e in errors)
    assert float(np.median(errors)) <= 100, errors
    assert max(e for e in errors if e is not None) <= 300, errors  # 458 m before


def test_silences_where_the_model_is_quiet_leave_the_least_squares_fit() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-500, 500, 40), rng.uniform(-500, 500, 40)
    signal = -8 - 30 * np.log10(np.hypot(x - 60, y + 40)) + rng.normal(0, 6, 40)
    weights = np.ones(40)
    cx, cy = np.array([60.0, -300.0]), np.array([-40.0, 250.0])
    # floors far above anything the model predicts: each silence was certain
    silences = Silences(np.array([0.0, 900.0]), np.array([0.0, 0.0]), np.array([40.0, 40.0]))
    rss, power, exponent = profile(x, y, signal, weights, cx, cy)
    cost, cpower, cexponent = censored_profile(x, y, signal, weights, silences, cx, cy)
    assert cost == pytest.approx(rss, rel=1e-6)
    assert cpower == pytest.approx(power, abs=1e-6)
    assert cexponent == pytest.approx(exponent, abs=1e-6)
    # a silence 30 m from the candidate, 20 dB below what the readings' fit puts
    # there: it costs more than a shadowing variance (36 dB^2) even with the power
    # and exponent re-fitted to it
    heard_there = power[0] - exponent[0] * 10 * np.log10(30.0)
    loud = Silences(np.array([60.0]), np.array([-10.0]), np.array([heard_there - 20.0]))
    assert censored_profile(x, y, signal, weights, loud, cx[:1], cy[:1])[0][0] > rss[0] + 36


def test_a_sample_of_silences_stands_for_them_all() -> None:
    silences = Silences(np.arange(12_345.0), np.zeros(12_345), np.full(12_345, -90.0))
    assert silences.at_most(20_000) is silences
    sample = silences.at_most(5000)
    assert sample.x.size <= 5000
    assert sample.weight * sample.x.size == pytest.approx(12_345, rel=0.001)


@settings(max_examples=60, deadline=None)
@given(
    readings=st.lists(
        st.tuples(
            st.floats(-3000, 3000),
            st.floats(-3000, 3000),
            st.floats(-140, 0) | st.just(float("nan")),
        ),
        min_size=0,
        max_size=30,
    ),
    silences=st.lists(
        st.tuples(
            st.floats(-3000, 3000),
            st.floats(-3000, 3000),
            st.floats(-300, 300) | st.sampled_from([float("nan"), float("inf"), -float("inf")]),
        ),
        max_size=60,
    ),
)
def test_any_readings_and_silences_give_an_estimate_or_none(readings, silences) -> None:
    """Readings on top of each other, floors far above or below any signal, NaN
    and infinite floors: an answer inside the map, never an exception."""
    x, y, signal = (np.array(c, dtype=float) for c in zip(*readings)) if readings else (
        np.zeros(0), np.zeros(0), np.zeros(0)
    )  # fmt: skip
    sx, sy, floor = (np.array(c, dtype=float) for c in zip(*silences)) if silences else (
        np.zeros(0), np.zeros(0), np.zeros(0)
    )  # fmt: skip
    lat, lon = from_local(x, y, 51.5, -0.1)
    quiet_lat, quiet_lon = from_local(sx, sy, 51.5, -0.1)
    found = estimate(lat, lon, signal, 0.0, 300.0, silent=(quiet_lat, quiet_lon, floor))
    if found is None:
        assert not np.isfinite(signal).any()
        return
    assert np.isfinite([found.lat, found.lon, found.radius_m]).all()
    assert 15.0 <= found.radius_m <= 10_000.0


def test_the_censored_model_undoes_what_censoring_does_to_least_squares() -> None:
    """Observers on one side of a transmitter (30 dBm, exponent 3, 6 dB shadowing)
    report it only where it beats their floor (-95 to -80 dBm).  Least squares on
    those readings alone flattens the exponent to its bound (far readings exist
    only where shadowing made them loud); with the silences, the censored model
    finds it, and the position with it."""
    plain, censored = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        angle, distance = rng.uniform(-np.pi / 3, np.pi / 3, 600), rng.uniform(50, 1500, 600)
        ox, oy = 100 + distance * np.cos(angle), distance * np.sin(angle)
        floor = rng.uniform(-95, -80, 600)
        signal = -8 - 30 * np.log10(np.hypot(ox, oy)) + rng.normal(0, 6, 600)
        heard = signal >= floor
        silences = Silences(ox[~heard], oy[~heard], floor[~heard])
        for out, quiet in ((plain, None), (censored, silences)):
            p, _ = _fit_fixed(ox[heard], oy[heard], signal[heard], quiet)
            out.append((float(np.hypot(p[0], p[1])), float(p[3])))
    plain_error, plain_exponent = np.median(plain, axis=0)
    error, exponent = np.median(censored, axis=0)
    assert plain_exponent < 2.0, plain  # measured: 1.6, the bound
    assert 2.5 <= exponent <= 3.5, censored  # measured: 3.31 (position: 33 m off, 81 m)
    assert error < 0.75 * plain_error, (plain, censored)


@functools.cache
def _alerts(scenario: str, seed: int) -> list[dict]:
    """The alerts on the scenario's blasters (not on the confounders) in one city."""
    obs, inventory, truth = city(scenario, seed)
    keys = {(b["rat"], b["mcc"], b["mnc"], b["area"], b["cell"]) for b in truth}
    return [
        a
        for a in detect(obs, inventory, CONFIG).alerts
        if (a["rat"], a["mcc"], a["mnc"], a["area"], a["cell"]) in keys
    ]


def _moving(alert: dict) -> bool:
    return any(e["rule"] == "RADIO-MOVING" for e in alert["evidence"])


@pytest.mark.parametrize("seed", [5, 6, 7, 9])
def test_a_vehicle_borne_blaster_is_recognised_as_moving(seed: int) -> None:
    """Only in seed 5 did the well-placed windows (8 readings, 600 m) suffice; in
    6, 7 and 9 two windows of a few readings lie kilometres apart beyond the
    regions the data allow, and taken as fixed they were 2.7 and 3.6 km off."""
    assert any(_moving(a) for a in _alerts("vehicle-blaster", seed))


@pytest.mark.parametrize("scenario", ["stationary-blaster", "cloned-cell"])
def test_a_fixed_transmitter_is_never_taken_as_moving(scenario: str) -> None:
    for seed in range(5, 13):
        assert not any(_moving(a) for a in _alerts(scenario, seed)), seed


def test_windows_far_apart_beyond_their_regions_mean_movement() -> None:
    def window(lat: float, observations: int, radius: float) -> Estimate:
        return Estimate(0, 300, lat, -0.12, radius, observations, "multilateration")

    # two windows of few readings, 2.2 km apart beyond their 200 m regions
    apart = [window(51.50, 4, 200), window(51.53, 5, 200)]
    assert movement_m(apart) == 0  # not well placed: the 700 m bound does not apply
    assert movement_m(apart, solid=False) == pytest.approx(2936, abs=5)
    # the same 1.2 km apart: a stationary blaster's windows lay up to 1,081 m apart
    near = [window(51.50, 4, 200), window(51.5144, 5, 200)]
    assert movement_m(near, solid=False) == 0
    solid = [window(51.50, 9, 100), window(51.51, 9, 100), window(51.505, 9, 100)]
    assert movement_m(solid) == pytest.approx(912, abs=5)


def test_a_vehicle_borne_blaster_is_located_better_than_taken_as_fixed() -> None:
    """Median over the cities (of those with a window of >= 20 readings) of the
    median error: 1,451 m when six of eight vehicles were taken as fixed; 209 m
    with the moving ones' windows fitted alone, 287 m tracked (the tracker
    halves the error over seeds 13-32, docs/radio.md).  Not the 100 m target."""
    errors = [r.median_error_m for r in (_run("vehicle-blaster", s) for s in range(5, 13))]
    located = [e for e in errors if e is not None]
    assert len(located) >= 5
    assert float(np.median(located)) <= 300, errors


def test_a_moving_blasters_radius_holds_it_in_most_windows() -> None:
    """The radius of a moving transmitter's window includes how far it drives
    between the loudest reading and the window's middle; the fit's alone held it
    in 18 % of the windows."""
    held = []
    for seed in range(5, 13):
        truth = {b["cell"]: b for b in city("vehicle-blaster", seed)[2]}
        for alert in filter(_moving, _alerts("vehicle-blaster", seed)):
            for w in alert["track"]:
                lat, lon = _true_position(truth[alert["cell"]], (w["start"] + w["end"]) / 2)
                held.append(float(haversine_m(lat, lon, w["lat"], w["lon"])) <= w["radius_m"])
    assert len(held) >= 15
    assert np.mean(held) >= 0.75, held


def test_multilateration_recovers_position_and_exponent() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-800, 800, 60), rng.uniform(-800, 800, 60)
    d = np.hypot(x - 120, y + 80)
    signal = 30 - 38 - 10 * 3.2 * np.log10(d) + rng.normal(0, 2, d.size)
    lat, lon = from_local(x, y, 51.5, -0.12)
    found = estimate(lat, lon, signal, 0, 300)
    assert found is not None and found.method == "multilateration"
    truth = from_local(120, -80, 51.5, -0.12)
    assert float(haversine_m(truth[0], truth[1], found.lat, found.lon)) < 40
    assert found.exponent == pytest.approx(3.2, abs=0.3)
    assert found.radius_m < 150


def test_the_closed_form_power_and_exponent_are_the_weighted_least_squares_ones() -> None:
    """Variable projection: at each candidate position the power and exponent come
    in closed form; they must equal a general least-squares solver's."""
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-500, 500, 40), rng.uniform(-500, 500, 40)
    signal = -10 - 32 * np.log10(np.hypot(x - 50, y - 20)) + rng.normal(0, 6, 40)
    weights = rng.uniform(0.2, 1.0, 40)
    cx, cy = np.array([50.0, 90.0, -20.0, -300.0]), np.array([20.0, -40.0, 70.0, 250.0])
    rss, power, exponent = profile(x, y, signal, weights, cx, cy)
    assert exponent[3] == 1.6  # far off, the data would want a flatter one: clipped
    for g in range(3):
        level = 10 * np.log10(np.hypot(x - cx[g], y - cy[g]))
        design = np.column_stack([np.ones(40), -level]) * np.sqrt(weights)[:, None]
        (p, n), *_ = np.linalg.lstsq(design, signal * np.sqrt(weights), rcond=None)
        assert 1.6 < n < 5.5  # not clipped: the closed form is the unconstrained one
        assert (power[g], exponent[g]) == pytest.approx((p, n), rel=1e-9)
        expected = float(weights @ (signal - p + n * level) ** 2)
        assert rss[g] == pytest.approx(expected, rel=1e-9)


def test_the_global_minimum_is_found_where_a_local_search_from_the_centroid_stalls() -> None:
    """Thirty observers bunched in one block and eight readings around a transmitter
    800 m away: the centroid sits in the bunch, and ``least_squares`` started there
    (the previous locator) stopped 173 m off; the grid finds the transmitter."""
    rng = np.random.default_rng(28)
    tx = rng.uniform(300, 900)
    x = np.concatenate([rng.uniform(-100, 100, 30), rng.uniform(tx - 300, tx + 300, 8)])
    y = np.concatenate([rng.uniform(-100, 100, 30), rng.uniform(-300, 300, 8)])
    signal = -8 - 30 * np.log10(np.hypot(x - tx, y)) + rng.normal(0, 4, x.size)
    lat, lon = from_local(x, y, 51.5, -0.12)
    found = estimate(lat, lon, signal, 0, 300)
    assert found is not None and found.method == "multilateration"
    truth = from_local(tx, 0, 51.5, -0.12)
    assert float(haversine_m(truth[0], truth[1], found.lat, found.lon)) < 80


def test_the_uncertainty_radius_holds_the_transmitter_as_often_as_it_claims() -> None:
    """Two standard deviations: about 95 % of fits should hold the transmitter.
    Measured over 200 random cities of 8 to 80 readings with 6 dB shadowing:
    92 % with the region the data allow, 82 % with the covariance alone."""
    held = {True: [], False: []}
    for seed in range(200):
        rng = np.random.default_rng(seed)
        m = int(rng.integers(8, 80))
        tx, ty = rng.uniform(-600, 600, 2)
        x, y = rng.uniform(-800, 800, m), rng.uniform(-800, 800, m)
        d = np.maximum(np.hypot(x - tx, y - ty), 30)
        signal = -8 - 30 * np.log10(d) + rng.normal(0, 6, m)
        lat, lon = from_local(x, y, 51.5, -0.12)
        truth = from_local(tx, ty, 51.5, -0.12)
        for region in (True, False):
            found = estimate(lat, lon, signal, 0, 300, region=region)
            if found is not None and found.method == "multilateration":
                error = float(haversine_m(truth[0], truth[1], found.lat, found.lon))
                held[region].append(error <= found.radius_m)
    assert np.mean(held[True]) >= 0.9
    assert np.mean(held[False]) < np.mean(held[True])


def test_few_observations_fall_back_to_a_centroid_with_a_wide_radius() -> None:
    found = estimate(np.array([51.5, 51.501]), np.array([-0.12, -0.121]),
                     np.array([-70.0, -80.0]), 0, 300)  # fmt: skip
    assert found is not None and found.method == "centroid" and found.observations == 2
    # the two readings lie 130 m apart, mostly the louder one: the spread alone would
    # claim about 40 m; heard at -70 dBm, a typical blaster is some 117 m away
    assert found.radius_m >= 110


def test_a_lifetime_of_minutes_needs_two_observers() -> None:
    """One phone walking past an indoor cell hears it for seconds: that says nothing
    about how long the cell is on the air (a femtocell raised a false alarm so)."""
    cell = {
        **_EMPTY_CELL,
        "rat": "lte", "mcc": 234, "mnc": 20, "area": 7777, "cell": 888_001,
        "in_inventory": False, "observations": 3, "first_seen": 1000.0, "last_seen": 1008.0,
    }  # fmt: skip
    ctx = {"plmns": {(234, 20)}, "areas": set(), "gsm_off": set(), "names": {}, "span": 6 * 3600}
    rules = {e["rule"] for e in _evidence({**cell, "sources": 1}, ctx, CONFIG)}
    assert "RADIO-TRANSIENT" not in rules and "RADIO-NOT-IN-INVENTORY" in rules
    rules = {e["rule"] for e in _evidence({**cell, "sources": 2}, ctx, CONFIG)}
    assert "RADIO-TRANSIENT" in rules


def test_evidence_combines_as_noisy_or_and_names_real_techniques() -> None:
    weights = [{"weight": 0.3}, {"weight": 0.25}]
    assert score(weights) == pytest.approx(1 - 0.7 * 0.75)
    assert score([{"weight": RULES["RADIO-NOT-IN-INVENTORY"].weight}]) < CONFIG.threshold
    for rule in RULES.values():
        for technique in rule.techniques:
            assert technique_by_external_id(technique), (rule.id, technique)


_NETWORK = "[[networks]]\nname = 'Albion Mobile'\nmcc = 234\nmnc = 15\n"


@pytest.mark.parametrize(
    ("more", "why"),
    [
        # "false" in quotes was true: every 2G cell of the network looked like a blaster
        ("gsm_switched_off = 'false'", "gsm_switched_off must be true or false (no quotes)"),
        ("gsm_switched_of = true", "unknown setting(s) gsm_switched_of"),  # dropped unseen
        ("mnc = '15x'", "Cannot overwrite a value"),  # TOML itself: mnc given twice
        ("\n[detection]\nthreshold = 1.5", "threshold must be above 0 and at most 1"),
        ("\n[detection]\nwindow_s = 0", "window_s must be above 0"),
        ("\n[detection]\nwindow = 300", "[detection]: unknown setting(s) window"),
        ("\n[detectoin]\nwindow_s = 300", "the configuration: unknown setting(s) detectoin"),
    ],
)
def test_a_radio_configuration_means_what_it_says_or_is_refused(more: str, why: str) -> None:
    parse_config(_NETWORK)
    with pytest.raises(ConfigError) as refused:
        parse_config(_NETWORK + more)
    assert why in str(refused.value)
    with pytest.raises(ConfigError, match="mcc must be a whole number from 0 to 999"):
        parse_config(_NETWORK.replace("234", "2340"))
    config = parse_config(_NETWORK + "gsm_switched_off = true\n[detection]\nwindow_s = 600")
    assert config.networks[0].gsm_switched_off and config.window_s == 600.0


def _reading(source: str, t: float, metres_east: float, rat: str, cell: int, signal: float):
    lat, lon = from_local(metres_east, 0.0, 51.5, -0.1)
    return {
        "source": source, "time": t, "lat": float(lat), "lon": float(lon), "rat": rat,
        "mcc": 234, "mnc": 10, "area": 7777 if cell == 888_001 else 1010, "cell": cell,
        "signal": signal, "neighbours": 4,
    }  # fmt: skip


def test_a_cell_is_missed_only_where_and_when_it_would_have_been_listed() -> None:
    """An absence is a fix near a loud reading, outside the time the cell was heard,
    listing cells of its technology well below that reading."""

    heard = [_reading("a", 5000.0 + 60 * i, 0.0, "lte", 888_001, -70.0) for i in range(3)]

    def fix(t: float, metres_east: float, floor: float, rat: str = "lte") -> dict:
        return _reading(f"f{t}{metres_east}{floor}{rat}", t, metres_east, rat, 42, floor)

    fixes = [
        fix(1000.0, 0.0, -95.0),  # before, here, listing down to 25 dB below: missed it
        fix(8000.0, 60.0, -100.0),  # after, 60 m away: missed it
        fix(1000.0, 40.0, -80.0),  # 10 dB below: a shadowed reading could miss it
        fix(1000.0, 400.0, -100.0),  # 400 m away: it may never reach there
        fix(5100.0, 0.0, -100.0),  # while it was heard: not an absence of it
        fix(5120.0 + ABSENCE_GAP_S - 1, 0.0, -100.0),  # too soon after the last reading
        fix(1000.0, 0.0, -60.0, "gsm"),  # listed GSM only: not listening to LTE
    ]
    frame = conform(pl.DataFrame(heard + fixes), OBSERVATION_SCHEMA)
    with ObservationStore.of(frame) as store:
        listened = store.fixes()
    own = frame.filter(pl.col("cell") == 888_001)
    assert absences(own, listened, 5000.0, 5120.0) == 2
    assert absences(own.head(0), listened, 5000.0, 5120.0) == 0


def test_a_cell_heard_for_minutes_is_transient_only_if_it_was_missed_before_or_after() -> None:
    """A femtocell in a quiet street is heard for the minutes two phones took to walk
    past: without places where observers would have heard it, before or after,
    and did not, its short life is the observers', not its own."""

    macro_cell = {"rat": "lte", "mcc": 234, "mnc": 10, "area": 1010, "cell": 42,
                  "lat": 51.5, "lon": -0.09, "range_m": 3000.0}  # fmt: skip
    inventory = conform(pl.DataFrame([macro_cell]), INVENTORY_SCHEMA)
    config = parse_config("[[networks]]\nname = 'Thames Telecom'\nmcc = 234\nmnc = 10\n")
    femto = [_reading(s, 5000.0 + 100 * i, 10.0 * i, "lte", 888_001, -75.0)
             for i, s in enumerate(["p1", "p1", "p2", "p2"])]  # fmt: skip
    # the macro cell, heard all day far from the femtocell (6 h observed)
    macro = [_reading("d", t, 3000.0, "lte", 42, -80.0) for t in (0.0, 21_600.0)]
    passers = [_reading(f"q{i}", 900.0 + 10 * i, 0.0, "lte", 42, -98.0) for i in range(ABSENCES)]

    def rules(rows: list[dict]) -> list[set[str]]:
        found = detect(conform(pl.DataFrame(rows), OBSERVATION_SCHEMA), inventory, config)
        return [{e["rule"] for e in a["evidence"]} for a in found.alerts]

    assert rules(femto + macro) == []  # in no inventory, a TAC of its own: not enough
    assert rules(femto + macro + passers) == [
        {"RADIO-NOT-IN-INVENTORY", "RADIO-LONESOME-AREA", "RADIO-TRANSIENT"}
    ]
    assert rules(femto + macro + passers[1:]) == []
