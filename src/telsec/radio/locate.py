"""Where a transmitter was: per time window, from the signal strengths observed.

First a weighted centroid (weights: received power in milliwatts, so the
nearest observations dominate); then, with enough observations, a fit of the
log-distance path-loss model

    signal_i = P - 10 n log10(d_i)        d_i = |observer_i - transmitter|

for the position, the power ``P`` and the exponent ``n`` (between 1.6 and
5.5).  For a given position the model is linear in ``P`` and ``n``, which are
then solved in closed form (variable projection), so the search is over the
position only: a grid over the observations' area and beyond, refined around
the best point, for every candidate at once (NumPy).  A grid finds the global
minimum where a local optimiser started at the centroid could stop in a side
valley, and costs a fraction of a millisecond.  Outliers are down-weighted
(soft L1, by reweighting).  Where observers listened and did not report a
fixed transmitter (silences: it was below the weakest cell they reported), the
readings are censored, and the fit is the censored (Tobit) model's most likely
one instead, readings and silences together (:func:`censored_profile`; the
power and exponent by Newton's method on the grid, then all four parameters
by SciPy's ``least_squares`` from its best candidates).  The uncertainty
radius is two standard deviations: the region the data allow around a fixed
fit (profile chi-squared), or the fit's covariance where that is wider; when
the fit cannot be trusted, the centroid with the observations' spread, but no
less than how far a typical blaster is when heard as loud as the loudest
reading.  A moving transmitter is tracked over its whole time on the air
instead (:mod:`telsec.radio.track`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares
from scipy.special import log_ndtr

from telsec.geo import from_local, haversine_m, to_local

#: Observations a window needs for a least-squares fit (four unknowns, some slack).
MIN_FIT = 6
MIN_RADIUS_M, MAX_RADIUS_M = 15.0, 10_000.0
#: A typical SMS blaster and city for a distance scale when the fit cannot be
#: trusted: 1 W EIRP (30 dBm; portable units are 0.5 to 10 W), 38 dB of loss in
#: the first metre (free space at 1,800 MHz) and exponent 3 (urban macro).
TYPICAL_EIRP_DBM, LOSS_AT_1M_DB, TYPICAL_EXPONENT = 30.0, 38.0, 3.0


def typical_distance_m(signal_dbm: float) -> float:
    """How far a typical blaster is when heard at ``signal_dbm``: the scale of a
    centroid's uncertainty (observers gathered in one spot still only know the
    transmitter is about this far from them, in some direction)."""
    exponent = (TYPICAL_EIRP_DBM - LOSS_AT_1M_DB - signal_dbm) / (10 * TYPICAL_EXPONENT)
    return float(10 ** max(exponent, 0.0))


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


#: Bounds of the path-loss exponent: free space to dense urban clutter.
EXPONENT_MIN, EXPONENT_MAX = 1.6, 5.5
#: Bounds of the power a metre away (dBm) in the censored model's fits: a
#: femtocell's -40 to a macro cell's +40, with room either side.
POWER_MIN, POWER_MAX = -60.0, 80.0
#: Residuals beyond this many dB weigh less (soft L1): shadowing is about 6 dB.
F_SCALE_DB = 6.0
#: The search area reaches this far beyond the observations (metres).
MARGIN_M = 3000.0
#: Points per side of the first grid and of each refinement; the first grid's
#: best few are refined until the step is below ``FINEST_M``.
COARSE, FINE, KEEP, FINEST_M = 25, 9, 3, 2.0
#: At most this many observations in the first grid (every k-th one beyond);
#: the refinements use all of them.
COARSE_OBSERVATIONS = 400
#: Candidate-by-observation cells computed at once (bounds the memory).
BLOCK = 1_000_000


def _levels(cx: np.ndarray, cy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """10 log10 of the distance (at least 1 m) from each candidate to each point
    (candidates by points, computed in place)."""
    level: np.ndarray = cx[:, None] - x
    level *= level
    level += (cy[:, None] - y) ** 2
    np.maximum(level, 1.0, out=level)
    np.log10(level, out=level)
    level *= 5.0
    return level


def _power_and_exponent(
    level: np.ndarray, signal: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's least-squares power and exponent (the exponent clipped to
    its bounds), in closed form from its row of ``level`` (:func:`_levels`), which
    is centred in place on its weighted mean."""
    total = float(weights.sum())
    mean_signal = float(weights @ signal) / total
    mean_level = level @ weights / total
    level -= mean_level[:, None]
    variance = (level * level) @ weights
    n = np.clip(
        -(level @ (weights * (signal - mean_signal))) / np.maximum(variance, 1e-12),
        EXPONENT_MIN,
        EXPONENT_MAX,
    )
    return mean_signal + n * mean_level, n


def profile(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    weights: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate position ``(cx[g], cy[g])``: the weighted residual sum
    of squares of the path-loss model with its best power and exponent (solved in
    closed form, the exponent clipped to its bounds), the power and the exponent."""
    rss = np.empty(cx.size)
    power = np.empty(cx.size)
    exponent = np.empty(cx.size)
    mean_signal = float(weights @ signal) / float(weights.sum())
    step = max(1, BLOCK // max(x.size, 1))
    for lo in range(0, cx.size, step):
        hi = min(lo + step, cx.size)
        level = _levels(cx[lo:hi], cy[lo:hi], x, y)
        p, n = _power_and_exponent(level, signal, weights)
        # residual = signal - p + n * (centred level + mean level)
        level *= n[:, None]
        level += (signal - mean_signal)[None, :]
        rss[lo:hi] = (level * level) @ weights
        power[lo:hi] = p
        exponent[lo:hi] = n
    return rss, power, exponent


#: Silences count within this distance of the readings' area (metres).
SILENCE_REACH_M = 2000.0
#: At most this many silences in the first grid and the region's (every k-th
#: one beyond, standing for k) ...
COARSE_SILENCES = 500
#: ... and in a fit: a long-lived transmitter's grow with its time on the air
#: (a fixed one's window uses every silence since its first reading).
FIT_SILENCES = 5000
#: Shadowing (dB): how far readings scatter about the path-loss model, what the
#: chance of a silence is reckoned with (3GPP TR 38.901, urban macro, NLOS: 6 dB).
SHADOWING_DB = 6.0
#: Newton steps for the censored model's power and exponent at each candidate.
NEWTON_STEPS = 6
#: ... on the first grid, which only ranks the candidates to start from.
COARSE_STEPS = 3
_LOG_SQRT_2PI = 0.5 * float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Silences:
    """Where observers listened while a transmitter was on the air and did not
    report it (local metres): each fix, and the weakest signal reported there.
    An observer reports its loudest cells, so a transmitter louder than the
    weakest of them would have been among them."""

    x: np.ndarray
    y: np.ndarray
    floor: np.ndarray
    #: how many silences each one stands for (a sample of every k-th stands for k)
    weight: float = 1.0

    def every(self, k: int) -> Silences:
        if k <= 1:
            return self
        return Silences(self.x[::k], self.y[::k], self.floor[::k], self.weight * k)

    def at_most(self, count: int) -> Silences:
        """A sample of at most ``count`` of them, each standing for its share."""
        return self.every(-(-self.x.size // count))


def _inverse_mills(z: np.ndarray) -> np.ndarray:
    """phi(z) / Phi(z), computed in logs (stable far into either tail)."""
    return np.asarray(np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_ndtr(z)))


#: :func:`_inverse_mills` and log Phi tabulated for the grids, which take them for
#: every candidate and silence (SciPy's special function took as long as all the
#: rest of a Newton step): interpolated linearly they are within 1e-5 and 7e-4 of
#: the functions; beyond the table, the inverse Mills ratio is held at its ends
#: (about 0 at z = 40; about 40 at -40, a transmitter 240 dB above a floor).
_TABLE_LOW, _TABLE_PER_UNIT = -40.0, 64
_TABLE_Z = np.arange(_TABLE_LOW, -_TABLE_LOW, 1 / _TABLE_PER_UNIT)
_MILLS = _inverse_mills(_TABLE_Z)
_MILLS_SLOPE = np.append(np.diff(_MILLS), 0.0)
_LOG_CDF = log_ndtr(_TABLE_Z)
_LOG_CDF_SLOPE = np.append(np.diff(_LOG_CDF), 0.0)


def _tabulated(z: np.ndarray, table: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """A function tabulated at ``_TABLE_Z``, interpolated linearly at ``z``
    (overwritten), held at the table's ends."""
    z -= _TABLE_LOW
    z *= _TABLE_PER_UNIT
    np.clip(z, 0.0, table.size - 1.0, out=z)
    index = z.astype(np.intp)
    z -= index
    z *= slope[index]
    z += table[index]
    return z


def _inverse_mills_fast(z: np.ndarray) -> np.ndarray:
    """:func:`_inverse_mills`, interpolated in its table, below it by its asymptote
    -z - 1/z (``z`` is overwritten).  Held at the table's end instead, the
    curvature (z + ratio) * ratio would turn negative there, and Newton's steps
    run off."""
    far = z < _TABLE_LOW
    tail = z[far]
    out = _tabulated(z, _MILLS, _MILLS_SLOPE)
    if tail.size:
        out[far] = -tail - 1.0 / tail
    return out


def _log_cdf_fast(z: np.ndarray) -> np.ndarray:
    """log Phi(z), interpolated in a table like :func:`_inverse_mills_fast`, beyond
    -40 by its asymptote (``z`` is overwritten)."""
    far = z < _TABLE_LOW
    tail = z[far]
    out = _tabulated(z, _LOG_CDF, _LOG_CDF_SLOPE)
    if tail.size:
        out[far] = -0.5 * tail * tail - np.log(-tail) - _LOG_SQRT_2PI
    return out


def censored_profile(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    weights: np.ndarray,
    silences: Silences,
    cx: np.ndarray,
    cy: np.ndarray,
    steps: int = NEWTON_STEPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`profile` for readings that are censored, as observers' lists are: a
    transmitter is reported only where it is among the loudest cells, so each
    silence says it was below the floor there.  For each candidate position, the
    cost is minus twice the log-likelihood of the readings (Gaussian about the
    model, ``SHADOWING_DB``) and of the silences (the chance of being below
    their floors), a Tobit model, times the shadowing variance (dB squared, like
    :func:`profile`'s); with its best power and exponent.

    Least squares on the readings alone is biased by the censoring: far
    readings exist only where shadowing made them loud, which flattens the
    exponent (to its bound, for clones heard from one side) and pulls the
    position.  The likelihood is concave in the power and exponent, found by
    Newton's method from the readings' least-squares values (the exponent held
    to its bounds, the power then best for it)."""
    var = SHADOWING_DB**2
    cost = np.empty(cx.size)
    power = np.empty(cx.size)
    exponent = np.empty(cx.size)
    step = max(1, BLOCK // max(x.size + silences.x.size, 1))
    for lo in range(0, cx.size, step):
        hi = min(lo + step, cx.size)
        level = _levels(cx[lo:hi], cy[lo:hi], x, y)
        quiet_level = _levels(cx[lo:hi], cy[lo:hi], silences.x, silences.y)
        # Newton starts from the readings' least-squares power and exponent
        p, n = _power_and_exponent(level.copy(), signal, weights)
        reading_curvature = 2 * weights / var
        reading_h_pp = float(reading_curvature.sum())
        reading_h_pn = -(level @ reading_curvature)
        reading_h_nn = (level * level) @ reading_curvature
        reading_g_p = level @ reading_curvature  # times n, less the signal's term below
        reading_signal = float(reading_curvature @ signal)
        level_signal = (level * signal) @ reading_curvature
        # the silences' terms in single precision: they only rank candidates and
        # start the optimiser, and there are hundreds per candidate
        quiet_level = quiet_level.astype(np.float32)
        quiet_floor = (silences.floor / SHADOWING_DB).astype(np.float32)
        scaled_level = quiet_level / np.float32(SHADOWING_DB)
        for _ in range(steps):
            # the cost's first and second derivatives in each silence's predicted
            # signal (p - n * level); a reading's are linear in p and n
            z = scaled_level * n[:, None].astype(np.float32)
            z += quiet_floor - (p[:, None] / SHADOWING_DB).astype(np.float32)
            mills = _inverse_mills_fast(z.copy())  # phi(z) / Phi(z)
            quiet_curvature = (z + mills) * mills
            quiet_curvature *= 2 * silences.weight / var
            mills *= 2 * silences.weight / SHADOWING_DB  # the slope
            g_p = reading_h_pp * p - n * reading_g_p - reading_signal + mills.sum(1)
            g_n = (
                reading_h_pn * p + reading_h_nn * n + level_signal
                - np.einsum("ij,ij->i", mills, quiet_level)
            )  # fmt: skip
            curvature_level = quiet_curvature * quiet_level
            h_pp = reading_h_pp + quiet_curvature.sum(1)
            h_pn = reading_h_pn - curvature_level.sum(1)
            h_nn = reading_h_nn + np.einsum("ij,ij->i", curvature_level, quiet_level)
            det = np.maximum(h_pp * h_nn - h_pn * h_pn, 1e-12)
            moved = np.clip(n - (h_pp * g_n - h_pn * g_p) / det, EXPONENT_MIN, EXPONENT_MAX)
            p = p - (g_p + h_pn * (moved - n)) / np.maximum(h_pp, 1e-12)
            np.clip(p, POWER_MIN, POWER_MAX, out=p)
            n = moved
        z = scaled_level * n[:, None].astype(np.float32)
        z += quiet_floor - (p[:, None] / SHADOWING_DB).astype(np.float32)
        residual = p[:, None] - n[:, None] * level - signal
        quiet_cost = _log_cdf_fast(z).sum(1, dtype=np.float64)
        cost[lo:hi] = (residual * residual) @ weights - 2 * var * silences.weight * quiet_cost
        power[lo:hi], exponent[lo:hi] = p, n
    return cost, power, exponent


def _objective(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    weights: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    silences: Silences | None,
    steps: int = NEWTON_STEPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`censored_profile` where there are silences, else :func:`profile`."""
    if silences is None or silences.x.size == 0:
        return profile(x, y, signal, weights, cx, cy)
    return censored_profile(x, y, signal, weights, silences, cx, cy, steps)


def _unit_grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    ux, uy = np.meshgrid(np.linspace(-1, 1, side), np.linspace(-1, 1, side))
    return ux.ravel(), uy.ravel()


_COARSE_GRID, _FINE_GRID = _unit_grid(COARSE), _unit_grid(FINE)


def _refine(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    weights: np.ndarray,
    start: tuple[float, float, float, float, float],
    half: float,
    until: float = FINEST_M,
) -> tuple[float, float, float, float, float]:
    """Grids of ``FINE`` points per side around ``start`` (rss, x, y, power,
    exponent), each spanning one and a half of the last one's steps either side,
    until the step is below ``until``: the best point's (rss, x, y, power, exponent)."""
    best = start
    while True:
        gx, gy = best[1] + half * _FINE_GRID[0], best[2] + half * _FINE_GRID[1]
        rss, power, exponent = profile(x, y, signal, weights, gx, gy)
        i = int(np.argmin(rss))
        if rss[i] <= best[0]:
            best = (float(rss[i]), float(gx[i]), float(gy[i]), float(power[i]), float(exponent[i]))
        step = 2 * half / (FINE - 1)
        if step < until:
            return best
        half = 1.5 * step


def _coarse_grid(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The first grid's candidates, over the observations' area and ``MARGIN_M``
    beyond, and its step."""
    x_lo, x_hi, y_lo, y_hi = x.min(), x.max(), y.min(), y.max()
    half_x = (x_hi - x_lo) / 2 + MARGIN_M
    half_y = (y_hi - y_lo) / 2 + MARGIN_M
    gx = (x_lo + x_hi) / 2 + half_x * _COARSE_GRID[0]
    gy = (y_lo + y_hi) / 2 + half_y * _COARSE_GRID[1]
    return gx, gy, 2 * max(half_x, half_y) / (COARSE - 1)


def _coarse_objective(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    weights: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    silences: Silences | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_objective` on the first grid, over a sample of the readings and
    silences (``COARSE_OBSERVATIONS``, ``COARSE_SILENCES``)."""
    every = max(1, x.size // COARSE_OBSERVATIONS)
    coarse = None if silences is None else silences.at_most(COARSE_SILENCES)
    return _objective(
        x[::every], y[::every], signal[::every], weights[::every], gx, gy, coarse, COARSE_STEPS
    )


def _search(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    weights: np.ndarray,
) -> tuple[float, float, float, float, float]:
    """The least-squares best position over the observations' area and
    ``MARGIN_M`` beyond: (rss, x, y, power, exponent)."""
    gx, gy, step = _coarse_grid(x, y)
    rss, _, _ = _coarse_objective(x, y, signal, weights, gx, gy, None)
    # the best few cells of the first grid, each refined to tens of metres, then
    # the best of them to the end: one coarse cell can hide a narrow valley next
    # to a broad one
    finalists = [
        _refine(
            x,
            y,
            signal,
            weights,
            (np.inf, float(gx[i]), float(gy[i]), 0.0, 0.0),
            step,
            30.0,
        )
        for i in np.argsort(rss)[:KEEP]
    ]
    best = min(finalists)
    return _refine(x, y, signal, weights, best, 30.0, FINEST_M)


def _fit_fixed(
    x: np.ndarray, y: np.ndarray, signal: np.ndarray, silences: Silences | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y, power, exponent) of a fixed transmitter, and the final weights:
    the least-squares answer, then twice re-weighted for outliers (soft L1);
    with ``silences``, the censored model's (:func:`_fit_fixed_censored`)."""
    if silences is not None and silences.x.size:
        return _fit_fixed_censored(x, y, signal, silences)
    weights = np.ones(x.size)
    _, bx, by, power, exponent = _search(x, y, signal, weights)
    for _ in range(2):
        residual = _residuals(np.array([bx, by, power, exponent]), x, y, signal)
        weights = _soft_l1_weights(residual)
        _, bx, by, power, exponent = _refine(
            x, y, signal, weights, (np.inf, bx, by, 0.0, 0.0), 100.0, FINEST_M
        )
    return np.array([bx, by, power, exponent]), weights


def _fit_fixed_censored(
    x: np.ndarray, y: np.ndarray, signal: np.ndarray, silences: Silences
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fit_fixed` with silences: the censored model's best on the first
    grid (:func:`censored_profile`), its best few candidates each taken to the
    nearest optimum of all four parameters (SciPy's ``least_squares`` on
    :func:`_censored_residuals`), the best of them then twice re-weighted."""
    weights = np.ones(x.size)
    gx, gy, _ = _coarse_grid(x, y)
    cost, power, exponent = _coarse_objective(x, y, signal, weights, gx, gy, silences)
    best: tuple[float, np.ndarray] | None = None
    for i in np.argsort(cost)[:KEEP]:
        start = np.array([gx[i], gy[i], power[i], exponent[i]])
        found = _censored_fit(x, y, signal, weights, silences, start)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
    if best is None:  # no optimum found: the grid's best
        i = int(np.argmin(cost))
        best = (float(cost[i]), np.array([gx[i], gy[i], power[i], exponent[i]]))
    p = best[1]
    for _ in range(2):
        weights = _soft_l1_weights(_residuals(p, x, y, signal))
        found = _censored_fit(x, y, signal, weights, silences, p)
        if found is not None:
            p = found[1]
    return p, weights


def _censored_residuals(
    p: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    scale: np.ndarray,
    silences: Silences,
) -> tuple[np.ndarray, np.ndarray]:
    """Residuals whose sum of squares is :func:`censored_profile`'s cost over the
    shadowing variance at ``p`` (x, y, power, exponent), and their Jacobian: the
    readings' in units of the shadowing (times ``scale``, the square roots of
    their weights), and for each silence the square root of minus twice the log
    of its chance (times that of its weight).  ``J.T @ J`` is the model's
    (Gauss-Newton) information; its inverse, the covariance."""
    readings = _residuals(p, x, y, signal) * scale / SHADOWING_DB
    jac_readings = _jacobian(p, x, y) * (scale / SHADOWING_DB)[:, None]
    level = _residuals(p, silences.x, silences.y, silences.floor)  # model - floor
    z = -level / SHADOWING_DB
    root = np.sqrt(np.maximum(-2.0 * silences.weight * log_ndtr(z), 0.0))
    # d root / d model = weight * phi(z) / (Phi(z) * SHADOWING_DB * root); 0 where root is 0
    safe = root > 1e-150
    slope = np.zeros_like(root)
    slope[safe] = silences.weight * _inverse_mills(z[safe]) / (SHADOWING_DB * root[safe])
    jac_quiet = _jacobian(p, silences.x, silences.y) * slope[:, None]
    return np.concatenate([readings, root]), np.vstack([jac_readings, jac_quiet])


def _censored_fit(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    weights: np.ndarray,
    silences: Silences,
    start: np.ndarray,
) -> tuple[float, np.ndarray] | None:
    """The censored model's nearest optimum from ``start``: (cost, parameters),
    the cost in :func:`censored_profile`'s units; None if the optimiser fails."""
    scale = np.sqrt(weights)
    low = [x.min() - MARGIN_M, y.min() - MARGIN_M, POWER_MIN, EXPONENT_MIN]
    high = [x.max() + MARGIN_M, y.max() + MARGIN_M, POWER_MAX, EXPONENT_MAX]
    last: list[Any] = [None, None]  # the optimiser asks for both at each point

    def both(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if last[0] is None or not np.array_equal(last[0], q):
            last[:] = [q.copy(), _censored_residuals(q, x, y, signal, scale, silences)]
        found: tuple[np.ndarray, np.ndarray] = last[1]
        return found

    try:
        fit = least_squares(
            lambda q: both(q)[0],
            x0=np.clip(start, low, high),
            jac=lambda q: both(q)[1],
            bounds=(low, high),
            xtol=1e-5,  # of the position's metres: to a few centimetres
            ftol=1e-6,
        )
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not fit.success:
        return None
    return 2 * float(fit.cost) * SHADOWING_DB**2, fit.x


def _jacobian(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ex, ey = p[0] - x, p[1] - y
    d2 = np.maximum(ex * ex + ey * ey, 1.0)
    scale = -10 * p[3] / (np.log(10) * d2)
    return np.column_stack([scale * ex, scale * ey, np.ones_like(d2), -5 * np.log10(d2)])


def _residuals(p: np.ndarray, x: np.ndarray, y: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """The path-loss model (power p[2], exponent p[3] at (p[0], p[1])) less each signal."""
    d = np.maximum(np.hypot(x - p[0], y - p[1]), 1.0)
    return np.asarray(p[2] - 10 * p[3] * np.log10(d) - signal)


def _soft_l1_weights(residual: np.ndarray) -> np.ndarray:
    """Each observation's weight under the soft L1 loss (1 near the fit, falling
    as 1/|r| beyond ``F_SCALE_DB``)."""
    return np.asarray(1.0 / np.sqrt(1.0 + (residual / F_SCALE_DB) ** 2))


#: Chi-squared with two degrees of freedom at 95.4 % (two standard deviations).
CHI2_2DOF_2SIGMA = 6.18
_REGION_GRID = _unit_grid(15)


def _region_radius(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    weights: np.ndarray,
    p: np.ndarray,
    sigma2: float,
    start: float,
    silences: Silences | None = None,
) -> float:
    """How far from the fitted position the transmitter may be: the farthest
    point whose best fit (power and exponent profiled out) is worse by less than
    the 95 % chi-squared bound for two parameters, on grids widened until the
    region fits inside one (``MAX_RADIUS_M`` if it never does); the first grid
    reaches twice ``start`` (the covariance's radius)."""
    bx, by = float(p[0]), float(p[1])
    if silences is not None:
        silences = silences.at_most(COARSE_SILENCES)
    best = float(_objective(x, y, signal, weights, np.array([bx]), np.array([by]), silences)[0][0])
    half = max(100.0, 2 * start)
    while half <= MAX_RADIUS_M:
        gx, gy = bx + half * _REGION_GRID[0], by + half * _REGION_GRID[1]
        rss = _objective(x, y, signal, weights, gx, gy, silences)[0]
        inside = rss <= best + CHI2_2DOF_2SIGMA * sigma2
        reach = float(np.hypot(gx - bx, gy - by)[inside].max(initial=0.0))
        if reach < 0.9 * half:
            return max(reach, half / 10)  # within the grid: to a step
        half *= 2
    return MAX_RADIUS_M


def estimate(
    lat: np.ndarray,
    lon: np.ndarray,
    signal: np.ndarray,
    start: float,
    end: float,
    *,
    region: bool = True,
    silent: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Estimate | None:
    """The transmitter's position from one window's observations (None: no signal).

    ``silent`` (latitudes, longitudes, floors) are places where observers listened
    while the transmitter was on the air and did not report it, with the weakest
    signal each reported there: a fixed transmitter's fit weighs the chance that
    it was below each floor with its readings (see :func:`censored_profile`).

    A moving transmitter is tracked instead (:mod:`telsec.radio.track`).
    ``region=False`` gives a fixed fit the
    linearised covariance's radius alone: tighter than the region the data allow
    (it covered 68 % of simulated blasters' windows at two standard deviations,
    the region 90 %), and what the movement test compares windows with."""
    keep = np.isfinite(signal) & np.isfinite(lat) & np.isfinite(lon)
    lat, lon, signal = lat[keep], lon[keep], np.asarray(signal[keep], dtype=np.float64)
    if lat.size == 0:
        return None
    lat0, lon0 = float(lat.mean()), float(lon.mean())
    x, y = to_local(lat, lon, lat0, lon0)
    cx, cy, spread = _centroid(x, y, signal)
    result = Estimate(
        start,
        end,
        *_degrees(cx, cy, lat0, lon0),
        float(
            np.clip(
                max(spread, typical_distance_m(float(signal.max()))), MIN_RADIUS_M, MAX_RADIUS_M
            )
        ),
        int(lat.size),
        "centroid",
    )
    extent = float(np.hypot(x.max() - x.min(), y.max() - y.min()))
    if lat.size < MIN_FIT or extent < 30:
        return result
    silences = None
    if silent is not None:
        silences = _silences(x, y, silent, lat0, lon0).at_most(FIT_SILENCES)
    fitted = _fit(x, y, signal, silences)
    if fitted is None or fitted[3] > max(3 * spread, 1000.0):
        return result  # the fit wandered off: the centroid is the safer answer
    p, weights, sigma2, radius = fitted
    if region:
        # the linearised covariance is too sure where the power and exponent trade
        # off against distance: the region the data allow says more
        radius = max(radius, _region_radius(x, y, signal, weights, p, sigma2, radius, silences))
    flat, flon = from_local(p[0], p[1], lat0, lon0)
    return Estimate(
        start,
        end,
        float(flat),
        float(flon),
        float(np.clip(radius, MIN_RADIUS_M, MAX_RADIUS_M)),
        int(lat.size),
        "multilateration",
        float(p[3]),
    )


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    signal: np.ndarray,
    silences: Silences | None,
) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """A fixed fit: the parameters, the weights, the residual variance (the
    shadowing's, for a censored fit) and the covariance's radius (two standard
    deviations; infinite if it has none); None if the covariance fails."""
    p, weights = _fit_fixed(x, y, signal, silences)
    try:
        if silences is not None and silences.x.size:
            # the censored model's information, its shadowing taken as known
            sigma2 = SHADOWING_DB**2
            jac = _censored_residuals(p, x, y, signal, np.sqrt(weights), silences)[1]
            covariance = np.linalg.pinv(jac.T @ jac)
        else:
            residual = _residuals(p, x, y, signal)
            sigma2 = float(np.sum(weights * residual**2) / max(x.size - p.size, 1))
            jac = _jacobian(p, x, y)
            covariance = np.linalg.pinv(jac.T @ (weights[:, None] * jac)) * sigma2
    except np.linalg.LinAlgError:
        return None
    radius = 2 * float(np.sqrt(max(covariance[0, 0] + covariance[1, 1], 0.0)))
    return p, weights, sigma2, radius if np.isfinite(radius) else np.inf


def _silences(
    x: np.ndarray,
    y: np.ndarray,
    silent: tuple[np.ndarray, np.ndarray, np.ndarray],
    lat0: float,
    lon0: float,
) -> Silences:
    """The silences within ``SILENCE_REACH_M`` of the readings' area, in the
    readings' local metres."""
    lat, lon, floor = silent
    sx, sy = to_local(lat, lon, lat0, lon0)
    near = (
        np.isfinite(floor)
        & (sx >= x.min() - SILENCE_REACH_M)
        & (sx <= x.max() + SILENCE_REACH_M)
        & (sy >= y.min() - SILENCE_REACH_M)
        & (sy <= y.max() + SILENCE_REACH_M)
    )
    return Silences(sx[near], sy[near], np.asarray(floor, dtype=np.float64)[near])


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
    lat: np.ndarray,
    lon: np.ndarray,
    signal: np.ndarray,
    time: np.ndarray,
    window_s: float,
    silent: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> list[Estimate]:
    """A transmitter that stays put: in each window, the estimate from every
    observation made up to the window's end (the error shrinks as data comes in).

    ``silent`` (times, latitudes, longitudes, floors): where observers listened
    and did not report it; those from its first reading to the window's end
    count (before its first reading it may not have been on the air)."""
    windows = _windows(time, window_s)
    first = float(time.min()) if time.size else 0.0
    out = []
    for window in np.unique(windows):
        upto = windows <= window
        end = float((window + 1) * window_s)
        quiet = None
        if silent is not None:
            when = (silent[0] >= first) & (silent[0] < end)
            quiet = (silent[1][when], silent[2][when], silent[3][when])
        found = estimate(
            lat[upto],
            lon[upto],
            signal[upto],
            float(window * window_s),
            end,
            silent=quiet,
        )
        if found is not None and found.observations >= 3:
            out.append(found)
    return out
