"""Tracking a moving transmitter: a grid Bayesian smoother over its time on the air.

A blaster in a car is heard by a few observers at a time, often one, for a few
minutes each; a window fitted on its own sees only those readings, along one
street, hundreds of metres from the car.  This module puts the whole stretch
on the air together instead:

* the **state** is the transmitter's position, on a grid of cells over the
  readings' area and ``SILENCE_REACH_M`` beyond, in steps of ``STEP_S``;
* between steps it **moves** as a random walk of a car in city traffic
  (``CITY_SPEED_MS`` on average), a Gaussian blur of the grid;
* each step's **evidence** is the censored model's likelihood
  (:func:`telsec.radio.locate.censored_profile`): the readings Gaussian about the
  path-loss model, each silence the chance that the transmitter was below the
  weakest cell reported there;
* one **power and exponent** hold for the whole track: those that make the data
  most likely (the marginal likelihood of the forward pass) with a prior of a
  typical blaster (30 dBm EIRP, exponent 3, ``POWER_PRIOR_DB`` and
  ``EXPONENT_PRIOR`` wide).  Without the prior the power and exponent slide up
  their ridge together (louder and steeper), as a free path lets the track pass
  near whichever observer heard it loudest;
* the **forward-backward** pass gives, at each window's middle, the chance of
  each cell given every reading and silence before and after: its mean is the
  estimate, and the radius holds 95 % of it (no less than
  :func:`reach_m`).

The grid makes the answer the best one anywhere (no optimiser to stop in a side
valley) and the silences of one moment rule out where the car was not then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from telsec.geo import from_local, haversine_m, to_local
from telsec.radio.locate import (
    EXPONENT_MAX,
    EXPONENT_MIN,
    LOSS_AT_1M_DB,
    MAX_RADIUS_M,
    MIN_RADIUS_M,
    POWER_MAX,
    POWER_MIN,
    SHADOWING_DB,
    SILENCE_REACH_M,
    TYPICAL_EIRP_DBM,
    TYPICAL_EXPONENT,
    Estimate,
    _log_cdf_fast,
    _windows,
    typical_distance_m,
)
from telsec.radio.locate import _levels as levels

#: How fast a vehicle-borne blaster is taken to move, on average, in city traffic
#: (m/s; 29 km/h): the random walk's step, and what widens a window's radius with time.
CITY_SPEED_MS = 8.0


def reach_m(
    found: Estimate, lat: np.ndarray, lon: np.ndarray, signal: np.ndarray, time: np.ndarray
) -> float:
    """How far from ``found`` a moving transmitter may have been at the window's
    middle: from the estimate to the loudest reading's observer, from there to the
    transmitter (a typical blaster heard that loud), and what it drives at
    ``CITY_SPEED_MS`` between that reading and the middle."""
    i = int(np.argmax(signal))
    middle = (found.start + found.end) / 2
    return (
        float(haversine_m(found.lat, found.lon, lat[i], lon[i]))
        + typical_distance_m(float(signal[i]))
        + CITY_SPEED_MS * abs(middle - float(time[i]))
    )


#: Time step of the track (seconds), and at most this many steps (a longer
#: stretch on the air takes longer steps: the smoother keeps every step's grid).
STEP_S, MAX_STEPS = 30.0, 500
#: Grid cells (metres), and at most this many (larger areas get larger cells).
#: The posterior's mean falls between cells: 100 m cells and four times the
#: silences placed simulated vehicles no better (docs/radio.md).
CELL_M, MAX_CELLS = 200.0, 40_000
#: At most this many silences (a sample, each standing for its share).
SILENCES = 500
#: The prior of a typical blaster's power a metre away (dBm) and exponent: the
#: mean and the spread.
POWER_PRIOR_DBM = TYPICAL_EIRP_DBM - LOSS_AT_1M_DB
POWER_PRIOR_DB, EXPONENT_PRIOR = 10.0, 0.5
#: Steps of the search (a hill climb on each lattice in turn, dB and exponent;
#: a second, finer lattice changed no figure of docs/radio.md and cost 60 %).
SEARCH_LATTICES = ((4.0, 0.4),)
#: Share of the posterior the radius holds.
CREDIBLE = 0.95


@dataclass(frozen=True)
class _Grid:
    x: np.ndarray  # cell centres, flattened
    y: np.ndarray
    shape: tuple[int, int]
    cell_m: float


def _grid(x0: float, x1: float, y0: float, y1: float, cell_m: float) -> _Grid:
    cell_m = max(cell_m, float(np.sqrt((x1 - x0) * (y1 - y0) / MAX_CELLS)))
    xs = np.arange(x0, x1 + cell_m, cell_m)
    ys = np.arange(y0, y1 + cell_m, cell_m)
    gx, gy = np.meshgrid(xs, ys)
    return _Grid(gx.ravel(), gy.ravel(), (ys.size, xs.size), cell_m)


def _levels(grid: _Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """10 log10 of the distance from each cell to each point, in single precision."""
    level: np.ndarray = levels(grid.x, grid.y, x, y).astype(np.float32)
    return level


#: Cell-by-point levels held at once (32 MB: bounds the memory of a large area).
BLOCK = 8_000_000


class _Evidence:
    """A track's readings and silences on a grid, by time step: the
    log-likelihood at each cell of each step that has any (dropping what does
    not depend on the cell, the power or the exponent).  Points are sorted by
    step, so one array operation and a sum per step serve every step at once."""

    def __init__(
        self,
        grid: _Grid,
        reading_step: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        signal: np.ndarray,
        silent_step: np.ndarray,
        sx: np.ndarray,
        sy: np.ndarray,
        floor: np.ndarray,
        weight: float = 1.0,
    ) -> None:
        self.grid, self.weight = grid, weight
        self.steps = np.union1d(reading_step, silent_step)
        order = np.argsort(reading_step, kind="stable")
        self.reading_step = reading_step[order]
        self.signal = signal[order].astype(np.float32)
        self.reading_level = _levels(grid, x[order], y[order])
        order = np.argsort(silent_step, kind="stable")
        self.silent_step = silent_step[order]
        self.floor = floor[order].astype(np.float32)
        self.sx, self.sy = sx[order], sy[order]
        # kept when they fit: the search for power and exponent reuses them
        cells = grid.x.size
        self.silence_level = _levels(grid, self.sx, self.sy) if cells * sx.size <= BLOCK else None

    def _add_by_step(self, out: np.ndarray, values: np.ndarray, step: np.ndarray) -> None:
        starts = np.flatnonzero(np.r_[True, step[1:] != step[:-1]])
        sums = np.add.reduceat(values, starts, axis=1)
        out[:, np.searchsorted(self.steps, step[starts])] += sums

    def log_likelihood(self, power: float, exponent: float) -> np.ndarray:
        """Cells by ``self.steps``."""
        scale = np.float32(1.0 / SHADOWING_DB)
        out = np.zeros((self.grid.x.size, self.steps.size))
        if self.signal.size:
            r = np.float32(power) - np.float32(exponent) * self.reading_level - self.signal
            r *= scale
            r *= r
            r *= np.float32(-0.5)
            self._add_by_step(out, r, self.reading_step)
        every = max(1, BLOCK // max(self.grid.x.size, 1))
        for lo in range(0, self.floor.size, every):
            hi = min(lo + every, self.floor.size)
            level = self.silence_level
            if level is None:
                level = _levels(self.grid, self.sx[lo:hi], self.sy[lo:hi])
            else:
                level = level[:, lo:hi]
            z = np.float32(exponent) * level + (self.floor[lo:hi] - np.float32(power))
            z *= scale
            cdf = _log_cdf_fast(z)
            cdf *= np.float32(self.weight)
            self._add_by_step(out, cdf, self.silent_step[lo:hi])
        return out


class _Walk:
    """The random walk between steps: a Gaussian blur of the grid (zero beyond
    its edge), as two small matrices, one per axis."""

    def __init__(self, grid: _Grid, sigma_cells: float) -> None:
        self.shape = grid.shape
        self.rows, self.columns = (self._kernel(n, sigma_cells) for n in grid.shape)

    @staticmethod
    def _kernel(n: int, sigma: float) -> np.ndarray:
        offset = np.subtract.outer(np.arange(n), np.arange(n)).astype(np.float64)
        kernel = np.exp(-0.5 * (offset / max(sigma, 1e-6)) ** 2)
        kernel[np.abs(offset) > 3 * sigma + 0.5] = 0.0
        kernel /= kernel.sum(1, keepdims=True).max()
        return kernel

    def __call__(self, p: np.ndarray) -> np.ndarray:
        blurred: np.ndarray = self.rows @ p.reshape(self.shape) @ self.columns.T
        return blurred.ravel()


def _forward(
    steps: np.ndarray, evidence: np.ndarray, count: int, walk: _Walk, keep: bool = True
) -> tuple[float, list[np.ndarray]]:
    """The log marginal likelihood and (``keep``) each step's filtered
    distribution; ``evidence`` holds the log-likelihood of ``steps``."""
    cells = evidence.shape[0]
    alpha = np.full(cells, 1.0 / cells)
    filtered = []
    log_marginal = 0.0
    column = dict(zip(steps.tolist(), range(steps.size), strict=True))
    for k in range(count):
        if k:
            alpha = walk(alpha)
        at = column.get(k)
        if at is not None:
            seen = evidence[:, at]
            top = float(seen.max())
            alpha *= np.exp(seen - top)
            log_marginal += top
        total = float(alpha.sum())
        if not total > 0:
            return -np.inf, []
        log_marginal += np.log(total)
        alpha /= total
        if keep:
            filtered.append(alpha.astype(np.float32))
    return log_marginal, filtered


def _smooth(
    steps: np.ndarray,
    evidence: np.ndarray,
    filtered: list[np.ndarray],
    walk: _Walk,
    wanted: set[int],
) -> dict[int, np.ndarray]:
    """The ``wanted`` steps' distributions given every step's evidence
    (forward-backward; the random walk is symmetric, so the backward blur is the
    forward one)."""
    count = len(filtered)
    smoothed = {count - 1: filtered[-1]}
    column = dict(zip(steps.tolist(), range(steps.size), strict=True))
    beta = np.ones(evidence.shape[0])
    for k in range(count - 1, 0, -1):
        at = column.get(k)
        if at is not None:
            seen = evidence[:, at]
            beta *= np.exp(seen - seen.max())
        beta = walk(beta)
        beta /= max(float(beta.max()), 1e-300)
        if k - 1 in wanted:
            posterior = filtered[k - 1] * beta
            smoothed[k - 1] = posterior / max(float(posterior.sum()), 1e-300)
    return smoothed


def _log_prior(power: float, exponent: float) -> float:
    return -0.5 * (
        ((power - POWER_PRIOR_DBM) / POWER_PRIOR_DB) ** 2
        + ((exponent - TYPICAL_EXPONENT) / EXPONENT_PRIOR) ** 2
    )


def _power_and_exponent(evidence: _Evidence, count: int, walk: _Walk) -> tuple[float, float]:
    """The power and exponent of greatest posterior (marginal likelihood times
    the prior): a hill climb on a lattice from the typical blaster's."""
    seen: dict[tuple[float, float], float] = {}

    def value(power: float, exponent: float) -> float:
        key = (round(power, 3), round(exponent, 3))
        if key not in seen:
            likelihood = evidence.log_likelihood(power, exponent)
            log_marginal = _forward(evidence.steps, likelihood, count, walk, keep=False)[0]
            seen[key] = log_marginal + _log_prior(power, exponent)
        return seen[key]

    best = (POWER_PRIOR_DBM, TYPICAL_EXPONENT)
    for dp, dn in SEARCH_LATTICES:
        while True:
            around = [
                (
                    float(np.clip(best[0] + i * dp, POWER_MIN, POWER_MAX)),
                    float(np.clip(best[1] + j * dn, EXPONENT_MIN, EXPONENT_MAX)),
                )
                for i in (-1, 0, 1)
                for j in (-1, 0, 1)
            ]
            better = max(around, key=lambda pn: value(*pn))
            if value(*better) <= value(*best):
                break
            best = better
    return best


def track_grid(
    lat: np.ndarray,
    lon: np.ndarray,
    signal: np.ndarray,
    time: np.ndarray,
    window_s: float,
    silent: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> list[Estimate]:
    """A moving transmitter's position at the middle of each window in which it
    was heard 3 times or more, from all its readings and ``silent`` (times,
    latitudes, longitudes, floors: where observers listened to its technology
    and did not report it)."""
    keep = np.isfinite(signal) & np.isfinite(lat) & np.isfinite(lon) & np.isfinite(time)
    lat, lon = lat[keep], lon[keep]
    signal, time = np.asarray(signal[keep], dtype=np.float64), np.asarray(time[keep], float)
    if lat.size == 0:
        return []
    lat0, lon0 = float(lat.mean()), float(lon.mean())
    x, y = to_local(lat, lon, lat0, lon0)
    x0, x1 = float(x.min()) - SILENCE_REACH_M, float(x.max()) + SILENCE_REACH_M
    y0, y1 = float(y.min()) - SILENCE_REACH_M, float(y.max()) + SILENCE_REACH_M
    start = float(time.min())
    end = float((np.floor(time.max() / window_s) + 1) * window_s)
    step_s = max(STEP_S, (end - start) / MAX_STEPS)
    count = int((end - start) // step_s) + 1
    step = ((time - start) // step_s).astype(np.int64)

    if silent is None:
        silent = (np.empty(0), np.empty(0), np.empty(0), np.empty(0))
    st, slat, slon, floor = (np.asarray(a, dtype=np.float64) for a in silent)
    sx, sy = to_local(slat, slon, lat0, lon0)
    near = (
        np.isfinite(floor) & (st >= start) & (st < end)
        & (sx >= x0) & (sx <= x1) & (sy >= y0) & (sy <= y1)
    )  # fmt: skip
    st, sx, sy, floor = st[near], sx[near], sy[near], floor[near]
    silent_step = ((st - start) // step_s).astype(np.int64)

    grid = _grid(x0, x1, y0, y1, CELL_M)
    # a 2-D Gaussian step's mean length is 1.25 of its spread along an axis
    walk = _Walk(grid, CITY_SPEED_MS * step_s / 1.25 / grid.cell_m)
    every = max(1, -(-st.size // SILENCES))
    sample = slice(None, None, every)
    evidence = _Evidence(grid, step, x, y, signal, silent_step[sample], sx[sample],
                         sy[sample], floor[sample], float(every))  # fmt: skip
    power, exponent = _power_and_exponent(evidence, count, walk)
    likelihood = evidence.log_likelihood(power, exponent)
    _, filtered = _forward(evidence.steps, likelihood, count, walk)
    if not filtered:
        return []

    windows = _windows(time, window_s)
    distinct, heard = np.unique(windows, return_counts=True)
    reported = distinct[heard >= 3].tolist()

    def middle_step(window: int) -> int:
        return int(np.clip(((window + 0.5) * window_s - start) // step_s, 0, count - 1))

    smoothed = _smooth(evidence.steps, likelihood, filtered, walk,
                       {middle_step(w) for w in reported})  # fmt: skip
    out = []
    for window in reported:
        mine = windows == window
        posterior = smoothed[middle_step(window)]
        mx, my = float(posterior @ grid.x), float(posterior @ grid.y)
        distance = np.hypot(grid.x - mx, grid.y - my)
        order = np.argsort(distance)
        held = int(np.searchsorted(np.cumsum(posterior[order]), CREDIBLE))
        radius = float(distance[order[min(held, order.size - 1)]])
        flat, flon = from_local(mx, my, lat0, lon0)
        found = Estimate(
            float(window * window_s),
            float((window + 1) * window_s),
            float(flat),
            float(flon),
            radius,
            int(mine.sum()),
            "tracking",
            round(exponent, 2),
        )
        reach = reach_m(found, lat[mine], lon[mine], signal[mine], time[mine])
        radius = float(np.clip(max(radius, reach), MIN_RADIUS_M, MAX_RADIUS_M))
        out.append(replace(found, radius_m=radius))
    return out
