"""Where a transmitter was: per time window, from the signal strengths observed.

First a weighted centroid (weights: received power in milliwatts, so the
nearest observations dominate); then, with enough observations, a
least-squares fit of the log-distance path-loss model

    signal_i = P - 10 n log10(d_i)        d_i = |observer_i - transmitter|

for the position, the power ``P`` and the exponent ``n`` (fitted, between 1.6
and 5.5), started from the centroid.  The uncertainty radius is two standard
deviations of the fitted position (from the fit's covariance), or the spread
of the observations when the fit cannot be trusted.  Windows joined in time
order make the track of a moving transmitter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from telsec.geo import from_local, haversine_m, to_local

#: Observations a window needs for a least-squares fit (four unknowns, some slack).
MIN_FIT = 6
MIN_RADIUS_M, MAX_RADIUS_M = 15.0, 10_000.0


@dataclass(frozen=True)
class Estimate:
    start: float
    end: float
    lat: float
    lon: float
    radius_m: float
    observations: int
    method: str  # "multilateration" | "centroid"
    exponent: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "lat": round(self.lat, 6),
            "lon": round(self.lon, 6),
            "radius_m": round(self.radius_m, 1),
            "observations": self.observations,
            "method": self.method,
            "exponent": None if self.exponent is None else round(self.exponent, 2),
        }


def _degrees(x: float, y: float, lat0: float, lon0: float) -> tuple[float, float]:
    lat, lon = from_local(x, y, lat0, lon0)
    return float(lat), float(lon)


def _centroid(x: np.ndarray, y: np.ndarray, signal: np.ndarray) -> tuple[float, float, float]:
    weights = np.power(10.0, (signal - signal.max()) / 10.0)
    weights /= weights.sum()
    cx, cy = float(weights @ x), float(weights @ y)
    spread = float(np.sqrt(weights @ ((x - cx) ** 2 + (y - cy) ** 2)))
    return cx, cy, spread


def estimate(
    lat: np.ndarray,
    lon: np.ndarray,
    signal: np.ndarray,
    start: float,
    end: float,
    times: np.ndarray | None = None,
) -> Estimate | None:
    """The transmitter's position from one window's observations (None: no signal).

    With ``times`` the transmitter is taken to move at a constant velocity (up to
    40 m/s) through the window, fitted with the rest; the position returned is
    the one at the window's middle."""
    keep = np.isfinite(signal) & np.isfinite(lat) & np.isfinite(lon)
    lat, lon, signal = lat[keep], lon[keep], signal[keep]
    moving = times is not None
    dt = (np.asarray(times)[keep] - (start + end) / 2) if times is not None else np.zeros(lat.size)
    if lat.size == 0:
        return None
    lat0, lon0 = float(lat.mean()), float(lon.mean())
    x, y = to_local(lat, lon, lat0, lon0)
    cx, cy, spread = _centroid(x, y, signal)
    result = Estimate(
        start,
        end,
        *_degrees(cx, cy, lat0, lon0),
        float(np.clip(spread, MIN_RADIUS_M, MAX_RADIUS_M)),
        int(lat.size),
        "centroid",
    )
    extent = float(np.hypot(x.max() - x.min(), y.max() - y.min()))
    unknowns = 6 if moving else 4
    if lat.size < MIN_FIT + unknowns - 4 or extent < 30:
        return result

    def residuals(p: np.ndarray) -> np.ndarray:
        px = p[0] + (p[4] * dt if moving else 0.0)
        py = p[1] + (p[5] * dt if moving else 0.0)
        d = np.maximum(np.hypot(x - px, y - py), 1.0)
        return np.asarray(p[2] - 10 * p[3] * np.log10(d) - signal)

    def jacobian(p: np.ndarray) -> np.ndarray:
        px = p[0] + (p[4] * dt if moving else 0.0)
        py = p[1] + (p[5] * dt if moving else 0.0)
        ex, ey = px - x, py - y
        d2 = np.maximum(ex * ex + ey * ey, 1.0)
        scale = -10 * p[3] / (np.log(10) * d2)
        columns = [scale * ex, scale * ey, np.ones_like(d2), -5 * np.log10(d2)]
        if moving:
            columns += [scale * ex * dt, scale * ey * dt]
        return np.column_stack(columns)

    start_power = float(signal.max()) + 10 * 3.0 * np.log10(max(spread, 30.0))
    low = [x.min() - 3000, y.min() - 3000, -60, 1.6] + ([-40.0, -40.0] if moving else [])
    high = [x.max() + 3000, y.max() + 3000, 80, 5.5] + ([40.0, 40.0] if moving else [])
    try:
        fit = least_squares(
            residuals,
            x0=[cx, cy, start_power, 3.0] + ([0.0, 0.0] if moving else []),
            jac=jacobian,
            bounds=(low, high),
            loss="soft_l1",
            f_scale=6.0,
        )
    except (ValueError, np.linalg.LinAlgError):
        return result
    if not fit.success:
        return result
    dof = max(lat.size - unknowns, 1)
    sigma2 = float(np.sum(fit.fun**2) / dof)
    try:
        covariance = np.linalg.pinv(fit.jac.T @ fit.jac) * sigma2
        radius = 2 * float(np.sqrt(max(covariance[0, 0] + covariance[1, 1], 0.0)))
    except np.linalg.LinAlgError:
        return result
    if not np.isfinite(radius) or radius > max(3 * spread, 1000.0):
        return result  # the fit wandered off: the centroid is the safer answer
    flat, flon = from_local(fit.x[0], fit.x[1], lat0, lon0)
    return Estimate(
        start,
        end,
        float(flat),
        float(flon),
        float(np.clip(radius, MIN_RADIUS_M, MAX_RADIUS_M)),
        int(lat.size),
        "multilateration",
        float(fit.x[3]),
    )


def displacement_m(track: list[Estimate]) -> float:
    """How far the estimates of a track lie apart beyond their uncertainty (metres)."""
    worst = 0.0
    for i, a in enumerate(track):
        for b in track[i + 1 :]:
            d = float(haversine_m(a.lat, a.lon, b.lat, b.lon))
            worst = max(worst, d - a.radius_m - b.radius_m)
    return worst


def geojson(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection: per alert its window estimates (points) and its track (a line)."""
    features: list[dict[str, Any]] = []
    for alert in alerts:
        track = alert.get("track") or []
        props: dict[str, Any] = {
            k: alert[k]
            for k in ("id", "rat", "mcc", "mnc", "area", "cell", "score", "first_seen", "last_seen")
            if k in alert
        }
        props["evidence"] = [e["rule"] for e in alert.get("evidence", [])]
        for window in track:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [window["lon"], window["lat"]]},
                    "properties": {**props, "kind": "estimate", **window},
                }
            )
        if len(track) > 1:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[w["lon"], w["lat"]] for w in track],
                    },
                    "properties": {**props, "kind": "track"},
                }
            )
    return {"type": "FeatureCollection", "features": features}


def _windows(time: np.ndarray, window_s: float) -> np.ndarray:
    return np.floor(time / window_s).astype(np.int64)


def track_fixed(
    lat: np.ndarray, lon: np.ndarray, signal: np.ndarray, time: np.ndarray, window_s: float
) -> list[Estimate]:
    """A transmitter that stays put: in each window, the estimate from every
    observation made up to the window's end (the error shrinks as data comes in)."""
    windows = _windows(time, window_s)
    out = []
    for window in np.unique(windows):
        upto = windows <= window
        found = estimate(
            lat[upto],
            lon[upto],
            signal[upto],
            float(window * window_s),
            float((window + 1) * window_s),
        )
        if found is not None and found.observations >= 3:
            out.append(found)
    return out


def track_moving(
    lat: np.ndarray, lon: np.ndarray, signal: np.ndarray, time: np.ndarray, window_s: float
) -> list[Estimate]:
    """A moving transmitter: each window fitted on its own, with a constant
    velocity through the window; the position is the one at the window's middle."""
    windows = _windows(time, window_s)
    out = []
    for window in np.unique(windows):
        mask = windows == window
        found = estimate(
            lat[mask],
            lon[mask],
            signal[mask],
            float(window * window_s),
            float((window + 1) * window_s),
            time[mask],
        )
        if found is not None and found.observations >= 3:
            out.append(found)
    return out
