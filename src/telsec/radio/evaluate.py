"""Score detection and localisation against a simulated scenario's ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from telsec.geo import haversine_m
from telsec.radio.detect import RadioConfig, detect
from telsec.radio.schema import CELL_KEY

#: A blaster counts towards recall when at least this many observations by at least
#: this many observers exist: fewer, and nobody could confirm it.
HEARD_OBSERVATIONS, HEARD_SOURCES = 5, 2
#: Windows with at least this many observations count towards localisation error.
LOCALISATION_MIN_OBSERVATIONS = 20


class TruthError(ValueError):
    """A ground-truth file that cannot be read (says where)."""


class _Point(NamedTuple):
    time: float
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class _Blaster(BaseModel):
    """One transmitter of ``truth.json`` (``telsec radio simulate``): its cell, when
    it was on the air and where (``track``: time, latitude, longitude)."""

    model_config = ConfigDict(extra="allow", strict=True)
    rat: str
    mcc: int
    mnc: int
    area: int
    cell: int
    start: Annotated[float, Field(strict=False, allow_inf_nan=False)]
    track: Annotated[list[_Point], Field(min_length=1)]
    observations: int | None = None
    observers: int | None = None


class _Truth(BaseModel):
    scenario: str
    blasters: list[_Blaster]


def read_truth(data: bytes) -> tuple[str, list[dict[str, Any]]]:
    """The scenario and blasters of a ``truth.json``; :class:`TruthError` (where,
    what) if it is not one."""
    try:
        truth = _Truth.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        count = exc.error_count()
        problems = "1 problem" if count == 1 else f"{count} problems"
        raise TruthError(f"{where}: {first['msg']} ({problems})") from None
    return truth.scenario, [b.model_dump(exclude_none=True) for b in truth.blasters]


@dataclass
class Evaluation:
    scenario: str
    blasters: int
    heard: int
    detected: int
    alerts: int
    true_alerts: int
    precision: float
    recall: float
    median_detection_s: float | None
    localisation_windows: int
    median_error_m: float | None
    #: share of those windows whose uncertainty radius holds the blaster
    coverage: float | None = None
    #: every window of the blasters' tracks, whatever its observations (a moving
    #: blaster's windows count their own observations only, and are rarely 20)
    windows_any: int = 0
    median_error_any_m: float | None = None
    coverage_any: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "blasters": self.blasters,
            "heard": self.heard,
            "detected": self.detected,
            "alerts": self.alerts,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "median time to detect (s)": (
                None if self.median_detection_s is None else round(self.median_detection_s)
            ),
            "windows located": self.localisation_windows,
            "median error (m)": _round(self.median_error_m, 1),
            "radius holds it": _round(self.coverage, 2),
            "windows, any": self.windows_any,
            "median error, any (m)": _round(self.median_error_any_m, 1),
            "radius holds it, any": _round(self.coverage_any, 2),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _key(item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(item[k] for k in CELL_KEY)


def _true_position(blaster: dict[str, Any], t: float) -> tuple[float, float]:
    track = np.asarray(blaster["track"], dtype=float)
    return float(np.interp(t, track[:, 0], track[:, 1])), float(
        np.interp(t, track[:, 0], track[:, 2])
    )


def _time_to_detect(
    obs: pl.DataFrame, inventory: pl.DataFrame, config: RadioConfig, blaster: dict[str, Any]
) -> float | None:
    """Seconds from the blaster's start to the first window after which the detector,
    seeing only the observations made so far, alerts on it.  The transient rule needs
    hindsight (the cell must have gone) and so does not count here."""
    mine = obs.filter(*(pl.col(k) == blaster[k] for k in CELL_KEY))
    if mine.is_empty():
        return None
    start = float(blaster["start"])
    end = float(mine["time"].max())  # type: ignore[arg-type]
    t = start + config.window_s
    while t <= end + config.window_s:
        found = detect(mine.filter(pl.col("time") <= t), inventory, config)
        if any(_key(a) == _key(blaster) for a in found.alerts):
            return t - start
        t += config.window_s
    return None


def evaluate(
    scenario: str,
    obs: pl.DataFrame,
    inventory: pl.DataFrame,
    config: RadioConfig,
    truth: list[dict[str, Any]],
) -> Evaluation:
    found = detect(obs, inventory, config)
    malicious = {_key(b): b for b in truth}
    heard_counts = obs.group_by(list(CELL_KEY)).agg(
        pl.len().alias("observations"), pl.col("source").n_unique().alias("sources")
    )
    counts = {
        _key(row): (row["observations"], row["sources"])
        for row in heard_counts.iter_rows(named=True)
    }
    for key, blaster in malicious.items():
        # the simulator counts each blaster's own observations: those of the cell
        # key would credit a cloned identity with its real cell's
        if "observations" in blaster:
            counts[key] = (blaster["observations"], blaster["observers"])
    heard = {
        key
        for key, (observations, sources) in counts.items()
        if observations >= HEARD_OBSERVATIONS and sources >= HEARD_SOURCES
    } & set(malicious)
    true_alerts = [a for a in found.alerts if _key(a) in malicious]
    detected = {_key(a) for a in true_alerts}
    delays = [
        d
        for key in detected
        if (d := _time_to_detect(obs, inventory, config, malicious[key])) is not None
    ]
    windows = [
        (window, malicious[_key(alert)]) for alert in true_alerts for window in alert["track"]
    ]
    errors, radii, counted = _errors(windows)
    alerts = len(found.alerts)
    return Evaluation(
        scenario=scenario,
        blasters=len(truth),
        heard=len(heard),
        detected=len(detected & heard),
        alerts=alerts,
        true_alerts=len(true_alerts),
        precision=len(true_alerts) / alerts if alerts else 1.0,
        recall=len(detected & heard) / len(heard) if heard else 1.0,
        median_detection_s=float(np.median(delays)) if delays else None,
        localisation_windows=int(counted.sum()),
        median_error_m=_median(errors[counted]),
        coverage=_share(errors[counted] <= radii[counted]),
        windows_any=len(errors),
        median_error_any_m=_median(errors),
        coverage_any=_share(errors <= radii),
    )


def _errors(
    windows: list[tuple[dict[str, Any], dict[str, Any]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (track window, blaster): the distance from the blaster at the window's
    middle, the window's radius, and whether it counts (enough observations)."""
    errors, radii, counted = [], [], []
    for window, blaster in windows:
        lat, lon = _true_position(blaster, (window["start"] + window["end"]) / 2)
        errors.append(float(haversine_m(lat, lon, window["lat"], window["lon"])))
        radii.append(float(window["radius_m"]))
        counted.append(window["observations"] >= LOCALISATION_MIN_OBSERVATIONS)
    return np.array(errors), np.array(radii), np.array(counted, dtype=bool)


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None


def _share(held: np.ndarray) -> float | None:
    return float(held.mean()) if held.size else None
