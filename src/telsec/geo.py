"""Distances and a local flat projection (metres east/north of a reference point),
for every analyser that places things on a map (radio, fraud).

Over a city (tens of kilometres) the equirectangular projection is accurate to
well under a metre per kilometre, plenty for signal-strength localisation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = np.pi * EARTH_RADIUS_M / 180


def haversine_m(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray[np.float64]:
    """Great-circle distance in metres, element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))), dtype=np.float64)


def to_local(
    lat: ArrayLike, lon: ArrayLike, lat0: float, lon0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Metres east and north of (lat0, lon0)."""
    x = (np.asarray(lon, dtype=np.float64) - lon0) * METRES_PER_DEGREE * np.cos(np.radians(lat0))
    y = (np.asarray(lat, dtype=np.float64) - lat0) * METRES_PER_DEGREE
    return x, y


def from_local(
    x: ArrayLike, y: ArrayLike, lat0: float, lon0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Latitude and longitude of points ``x`` m east and ``y`` m north of (lat0, lon0)."""
    lat = lat0 + np.asarray(y, dtype=np.float64) / METRES_PER_DEGREE
    lon = lon0 + np.asarray(x, dtype=np.float64) / (METRES_PER_DEGREE * np.cos(np.radians(lat0)))
    return lat, lon
