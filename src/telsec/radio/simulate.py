"""A city's radio observations with ground truth, for testing and evaluation.

Three fictitious operators (Albion Mobile 234-15, which has switched 2G off;
Thames Telecom 234-10; Pennine Networks 234-30) cover a 12 x 12 km city
centred on London with macro sites every ~900 m.  Drive-test vehicles and
crowdsourced phones observe the cells with log-distance path loss and
log-normal shadowing; SMS blasters (portable GSM cells of 1 W claiming a real
operator's PLMN, announcing no neighbours, ciphering off) appear for tens of
minutes, standing still or driven around.  Every scenario also carries what
fools naive detectors: a new legitimate cell not yet in the inventory, a
femtocell with its own TAC, a French border cell, roaming phones, and a phone on
a landing plane hearing cells far beyond their range.

Written: ``cells.csv`` (OpenCelliD format), ``observations.jsonl`` (telsec's
JSON lines), ``labels.jsonl`` (per observation: transmitter, malicious),
``truth.json`` (each blaster's identity and track) and ``operator.toml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from telsec.geo import from_local

CENTRE = (51.5072, -0.1276)
HALF_SIZE_M = 6000.0
SITE_SPACING_M = 900.0
START = 1_763_000_000.0
DURATION_S = 6 * 3600.0
#: Path loss: PL(d) = PL0 + 10 n log10(d), d in metres; shadowing sigma in dB.
PL0, URBAN_N, SHADOWING_DB = 38.0, 3.5, 6.0
MACRO_DBM = {"gsm": 50.0, "lte": 42.0}  # RSSI / RSRP-equivalent transmit power
BLASTER_DBM = 30.0
SENSITIVITY = {"gsm": -108.0, "lte": -124.0}
SCENARIOS = ("benign", "stationary-blaster", "vehicle-blaster", "cloned-cell")


@dataclass(frozen=True)
class Operator:
    name: str
    mcc: int
    mnc: int
    gsm: bool  # still runs 2G


OPERATORS = (
    Operator("Albion Mobile", 234, 15, gsm=False),
    Operator("Thames Telecom", 234, 10, gsm=True),
    Operator("Pennine Networks", 234, 30, gsm=True),
)


@dataclass
class Transmitter:
    id: str
    rat: str
    mcc: int
    mnc: int
    area: int
    cell: int
    power_dbm: float
    #: (time, x, y) points of its position; one point for a fixed transmitter.
    track: list[tuple[float, float, float]]
    start: float = START
    end: float = START + DURATION_S
    neighbours: int = 6
    cipher: str | None = None
    malicious: bool = False
    in_inventory: bool = True
    range_m: float = 2500.0
    n: float = URBAN_N
    channel: int = 0
    pci: int = 0

    def position(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        times = np.array([p[0] for p in self.track])
        xs = np.array([p[1] for p in self.track])
        ys = np.array([p[2] for p in self.track])
        return np.interp(t, times, xs), np.interp(t, times, ys)


@dataclass
class World:
    rng: np.random.Generator
    transmitters: list[Transmitter] = field(default_factory=list)
    #: Busy places (stations, shopping streets): where people are, and blasters go.
    hotspots: list[tuple[float, float]] = field(default_factory=list)

    _columns: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        """One attribute of every transmitter, in order (kept until one is added)."""
        key = (name, len(self.transmitters))
        if key not in self._columns:
            values = [getattr(t, name) for t in self.transmitters]
            self._columns[key] = np.array(values, dtype=object)
        return self._columns[key]

    def near_hotspot(self, within: float) -> tuple[float, float]:
        hx, hy = self.hotspots[int(self.rng.integers(len(self.hotspots)))]
        angle, distance = self.rng.uniform(0, 2 * np.pi), within * np.sqrt(self.rng.random())
        return hx + distance * np.cos(angle), hy + distance * np.sin(angle)


def _area(op: Operator, rat: str, x: float, y: float) -> int:
    """Location/tracking areas: quadrants of the city, numbered per operator."""
    quadrant = (x >= 0) * 1 + (y >= 0) * 2
    return (1000 if rat == "lte" else 100) + op.mnc * 10 + int(quadrant)


def _macro_network(world: World) -> None:
    grid = np.arange(-HALF_SIZE_M + SITE_SPACING_M / 2, HALF_SIZE_M, SITE_SPACING_M)
    site = 0
    for op_index, op in enumerate(OPERATORS):
        for gx in grid:
            for gy in grid:
                x = gx + (op_index - 1) * SITE_SPACING_M / 3 + world.rng.normal(0, 60)
                y = gy + world.rng.normal(0, 60)
                site += 1
                rats = ("lte", "gsm") if op.gsm else ("lte",)
                for rat in rats:
                    world.transmitters.append(
                        Transmitter(
                            id=f"{op.mnc}-{rat}-{site}",
                            rat=rat,
                            mcc=op.mcc,
                            mnc=op.mnc,
                            area=_area(op, rat, x, y),
                            cell=(site * 16 + 1) if rat == "gsm" else site * 256 + 1,
                            power_dbm=MACRO_DBM[rat],
                            track=[(START, x, y)],
                            cipher="A5/1" if rat == "gsm" else None,
                            channel=int(world.rng.integers(1, 124))
                            if rat == "gsm"
                            else 1300 + op_index * 100,
                            pci=int(world.rng.integers(0, 504)),
                        )
                    )


def _confounders(world: World) -> None:
    rng = world.rng
    albion, thames = OPERATORS[0], OPERATORS[1]
    # a new legitimate LTE cell, live all day, not yet in the inventory
    x, y = 1500.0, -2200.0
    world.transmitters.append(
        Transmitter(
            "new-legit-cell",
            "lte",
            albion.mcc,
            albion.mnc,
            _area(albion, "lte", x, y),
            999_001,
            MACRO_DBM["lte"],
            [(START, x, y)],
            in_inventory=False,
            channel=1300,
            pci=77,
        )
    )
    # a femtocell in a flat: low power, its own TAC, lists the macro neighbours
    x, y = -800.0, 2600.0
    world.transmitters.append(
        Transmitter(
            "femtocell",
            "lte",
            thames.mcc,
            thames.mnc,
            7777,
            888_001,
            12.0,
            [(START, x, y)],
            in_inventory=False,
            neighbours=4,
            channel=1400,
            pci=301,
            n=3.8,
        )
    )
    # a French border cell (seen across the water at the city's eastern edge)
    x, y = HALF_SIZE_M + 3000, 500.0
    world.transmitters.append(
        Transmitter(
            "foreign-border-cell",
            "lte",
            208,
            1,
            42,
            123_456,
            46.0,
            [(START, x, y)],
            in_inventory=False,
            n=2.6,
            channel=6300,
            pci=12,
        )
    )
    _ = rng


def _blaster(world: World, kind: str, index: int) -> Transmitter:
    rng = world.rng
    start = START + rng.uniform(0.15, 0.6) * DURATION_S
    duration = rng.uniform(25, 70) * 60
    albion, thames = OPERATORS[0], OPERATORS[1]
    if kind == "cloned-cell":
        # copies a real Pennine GSM cell's identity, far from where that cell is
        # copies a real Pennine GSM cell near the edge of the city, on the far side
        candidates = [
            t
            for t in world.transmitters
            if t.rat == "gsm" and t.mnc == 30 and max(abs(t.track[0][1]), abs(t.track[0][2])) > 4000
        ]
        victim = candidates[int(rng.integers(len(candidates)))]
        vx, vy = victim.track[0][1], victim.track[0][2]
        x, y = -0.9 * vx, -0.9 * vy
        return Transmitter(
            f"blaster-{index}",
            "gsm",
            victim.mcc,
            victim.mnc,
            victim.area,
            victim.cell,
            BLASTER_DBM,
            [(start, float(x), float(y))],
            start,
            start + duration,
            neighbours=0,
            cipher="A5/0",
            malicious=True,
            n=3.0,
            channel=victim.channel,
            pci=victim.pci,
        )
    op = albion if rng.random() < 0.6 else thames
    x0, y0 = world.near_hotspot(300.0)
    if kind == "vehicle-blaster":
        track = [(start, float(x0), float(y0))]
        t, x, y = start, float(x0), float(y0)
        heading = rng.uniform(0, 2 * np.pi)
        while t < start + duration:
            leg = rng.uniform(300, 900)  # metres along one street
            speed = rng.uniform(5, 11)  # m/s in city traffic
            x = float(np.clip(x + leg * np.cos(heading), -5500, 5500))
            y = float(np.clip(y + leg * np.sin(heading), -5500, 5500))
            t += leg / speed
            track.append((t, x, y))
            heading += rng.choice([-np.pi / 2, 0.0, np.pi / 2])
    else:
        track = [(start, float(x0), float(y0))]
    return Transmitter(
        f"blaster-{index}",
        "gsm",
        op.mcc,
        op.mnc,
        int(rng.integers(50000, 60000)),
        int(rng.integers(10000, 60000)),
        BLASTER_DBM,
        track,
        start,
        start + duration,
        neighbours=0,
        cipher="A5/0",
        malicious=True,
        n=3.0,
        channel=int(rng.integers(1, 124)),
        pci=63,
    )


def _received(
    world: World,
    tx: list[Transmitter],
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    los: np.ndarray,
) -> np.ndarray:
    """Received power (dBm) of every transmitter at every observer sample; -inf when off.

    Fixed, always-on transmitters (nearly all) are computed as one matrix; the few
    that move or come and go, one by one."""
    out = np.full((len(t), len(tx)), -np.inf)
    fixed = [
        j
        for j, tr in enumerate(tx)
        if len(tr.track) == 1 and tr.start <= START and tr.end >= START + DURATION_S
    ]
    if fixed:
        fx = np.array([tx[j].track[0][1] for j in fixed])
        fy = np.array([tx[j].track[0][2] for j in fixed])
        power = np.array([tx[j].power_dbm for j in fixed])
        exponent = np.array([tx[j].n for j in fixed])
        n = np.where(los[:, None], 2.0, exponent[None, :]) if los.any() else exponent[None, :]
        # in place: these are (samples x transmitters), tens of millions of cells
        loss = np.hypot(x[:, None] - fx[None, :], y[:, None] - fy[None, :])
        np.maximum(loss, 30.0, out=loss)
        np.log10(loss, out=loss)
        loss *= 10 * n
        loss += PL0
        loss += world.rng.normal(0, SHADOWING_DB, size=loss.shape)
        np.subtract(power[None, :], loss, out=loss)
        out[:, fixed] = loss
    fixed_set = set(fixed)
    for j, transmitter in enumerate(tx):
        if j in fixed_set:
            continue
        on = (t >= transmitter.start) & (t <= transmitter.end)
        if not on.any():
            continue
        tx_x, tx_y = transmitter.position(t[on])
        d = np.maximum(np.hypot(x[on] - tx_x, y[on] - tx_y), 30.0)  # antenna height
        n_on = np.where(los[on], 2.0, transmitter.n)
        loss = PL0 + 10 * n_on * np.log10(d) + world.rng.normal(0, SHADOWING_DB, size=d.size)
        out[on, j] = transmitter.power_dbm - loss
    # a handset's receiver saturates around -25 dBm
    return np.asarray(np.minimum(out, -25.0))


def _route(
    rng: np.random.Generator,
    samples: int,
    step_s: float,
    speed: float,
    start: float,
    origin: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A drive along city streets: legs of random length, right-angle turns."""
    t = start + np.arange(samples) * step_s
    x = np.empty(samples)
    y = np.empty(samples)
    px, py = origin if origin is not None else rng.uniform(-5000, 5000, size=2)
    heading = rng.integers(0, 4) * np.pi / 2
    for i in range(samples):
        if rng.random() < 0.03:
            heading += rng.choice([-np.pi / 2, np.pi / 2])
        px += speed * step_s * np.cos(heading)
        py += speed * step_s * np.sin(heading)
        if abs(px) > 5800 or abs(py) > 5800:
            heading += np.pi
            px, py = np.clip(px, -5800, 5800), np.clip(py, -5800, 5800)
        x[i], y[i] = px, py
    return t, x, y


def _observe(
    world: World,
    source: str,
    kind: str,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    los: np.ndarray,
    keep: int,
) -> pl.DataFrame:
    """What the observer heard at each sample: its ``keep`` strongest audible cells."""
    tx = world.transmitters
    power = _received(world, tx, t, x, y, los)
    sensitivity = np.array([SENSITIVITY[rat] for rat in world.column("rat")])
    power[power < sensitivity] = -np.inf
    # the ``keep`` loudest, loudest first (a partition, then a sort of those alone)
    top = np.argpartition(-power, min(keep, power.shape[1] - 1), axis=1)[:, :keep]
    order = np.take_along_axis(top, np.argsort(-np.take_along_axis(power, top, 1), axis=1), 1)
    sample = np.repeat(np.arange(len(t)), order.shape[1])
    which = order.ravel()
    heard = np.isfinite(power[sample, which])
    sample, which = sample[heard], which[heard]
    lat, lon = from_local(x, y, *CENTRE)

    def attribute(name: str) -> list[Any]:
        return list(world.column(name)[which].tolist())

    rats = attribute("rat")
    return pl.DataFrame(
        {
            "time": np.round(t[sample], 3),
            "lat": np.round(lat[sample], 6),
            "lon": np.round(lon[sample], 6),
            "source": [source] * sample.size,
            "kind": [kind] * sample.size,
            "rat": rats,
            "mcc": attribute("mcc"),
            "mnc": attribute("mnc"),
            "area": attribute("area"),
            "cell": attribute("cell"),
            "channel": attribute("channel"),
            "pci": attribute("pci"),
            "signal": np.round(power[sample, which], 1),
            "neighbours": attribute("neighbours"),
            "cipher": [
                c if r == "gsm" else None for c, r in zip(attribute("cipher"), rats, strict=True)
            ],
            "_truth": attribute("id"),
            "_malicious": attribute("malicious"),
        },
        schema_overrides={"cipher": pl.Utf8, "mcc": pl.Int32, "mnc": pl.Int32},
    )


def simulate(
    scenario: str, seed: int = 1, observers: int = 40
) -> tuple[pl.DataFrame, pl.DataFrame, list[dict[str, Any]]]:
    """(observations with truth columns, inventory, blasters' truth) for ``scenario``."""
    if scenario not in (*SCENARIOS, "all"):
        raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}, all")
    rng = np.random.default_rng(seed)
    world = World(rng)
    world.hotspots = [tuple(rng.uniform(-4000, 4000, size=2)) for _ in range(5)]
    _macro_network(world)
    _confounders(world)
    kinds = (
        [s for s in SCENARIOS[1:]]
        if scenario == "all"
        else ([] if scenario == "benign" else [scenario])
    )
    blasters = [_blaster(world, kind, i + 1) for i, kind in enumerate(kinds * 2)]
    world.transmitters.extend(blasters)
    parts: list[pl.DataFrame] = []
    no_sky = np.zeros(1, bool)
    for v in range(max(2, observers // 4)):  # drive-test vehicles, a sample every 4 s
        t, x, y = _route(rng, int(DURATION_S / 4), 4.0, rng.uniform(6, 12), START)
        parts.append(_observe(world, f"drive-{v + 1}", "drive", t, x, y, no_sky.repeat(t.size), 8))
    slots = int(DURATION_S // 600)
    for p in range(observers):  # crowdsourced phones: walks of a few minutes, one at a time
        for slot in sorted(rng.choice(slots, size=min(12, slots), replace=False)):
            start = START + slot * 600 + rng.uniform(0, 150)
            t, x, y = _route(rng, 40, 10.0, 1.3, start)
            parts.append(
                _observe(world, f"phone-{p + 1}", "crowd", t, x, y, no_sky.repeat(t.size), 4)
            )
    for u in range(observers * 10):  # network-side UE measurement reports during sessions
        start = START + rng.uniform(0, DURATION_S - 300)
        busy = rng.random() < 0.7
        speed = 1.3 if busy or rng.random() < 0.5 else rng.uniform(5, 12)
        origin = world.near_hotspot(700.0) if busy else None
        t, x, y = _route(rng, 30, 5.0, speed, start, origin)
        parts.append(_observe(world, f"ue-{u + 1}", "ue-report", t, x, y, no_sky.repeat(t.size), 7))
    # a phone on a plane landing from the east: 70 m/s, hears far cells in line of sight
    t = START + 3600 + np.arange(120) * 5.0
    x = 30_000 - 70 * (t - t[0])
    y = np.full(t.size, 800.0)
    parts.append(_observe(world, "phone-on-plane", "crowd", t, x, y, np.ones(t.size, bool), 6))
    observations = pl.concat(parts).sort("time")
    inventory = _inventory(world)
    # what each blaster itself was heard as: a cloned identity's real cell does not count
    heard = {
        row["_truth"]: (row["observations"], row["observers"])
        for row in observations.group_by("_truth")
        .agg(pl.len().alias("observations"), pl.col("source").n_unique().alias("observers"))
        .iter_rows(named=True)
    }
    truth = [
        {
            "id": b.id,
            "scenario": kind,
            "rat": b.rat,
            "mcc": b.mcc,
            "mnc": b.mnc,
            "area": b.area,
            "cell": b.cell,
            "start": b.start,
            "end": b.end,
            "track": [[p[0], *map(float, from_local(p[1], p[2], *CENTRE))] for p in b.track],
            "observations": heard.get(b.id, (0, 0))[0],
            "observers": heard.get(b.id, (0, 0))[1],
        }
        for b, kind in zip(blasters, kinds * 2, strict=True)
    ]
    return observations, inventory, truth


def _inventory(world: World) -> pl.DataFrame:
    known = [t for t in world.transmitters if t.in_inventory and not t.malicious]
    lat, lon = from_local([t.track[0][1] for t in known], [t.track[0][2] for t in known], *CENTRE)
    return pl.DataFrame(
        {
            "radio": [("GSM" if t.rat == "gsm" else "LTE") for t in known],
            "mcc": [t.mcc for t in known],
            "net": [t.mnc for t in known],
            "area": [t.area for t in known],
            "cell": [t.cell for t in known],
            "unit": [t.pci for t in known],
            "lon": lon.round(6),
            "lat": lat.round(6),
            "range": [int(t.range_m) for t in known],
            "samples": [50] * len(known),
            "changeable": [1] * len(known),
            "created": [1_600_000_000] * len(known),
            "updated": [1_760_000_000] * len(known),
            "averageSignal": [0] * len(known),
        }
    )


OPERATOR_TOML = """# The networks of the simulated city (telsec radio simulate)
[[networks]]
name = "Albion Mobile"
mcc = 234
mnc = 15
gsm_switched_off = true

[[networks]]
name = "Thames Telecom"
mcc = 234
mnc = 10

[[networks]]
name = "Pennine Networks"
mcc = 234
mnc = 30
"""


def write_scenario(
    folder: Path, scenario: str, seed: int = 1, observers: int = 40
) -> dict[str, int]:
    """Write the scenario's files to ``folder``; counts of what was written."""
    observations, inventory, truth = simulate(scenario, seed, observers)
    folder.mkdir(parents=True, exist_ok=True)
    inventory.write_csv(folder / "cells.csv")
    observations.drop("_truth", "_malicious").write_ndjson(folder / "observations.jsonl")
    observations.select(
        pl.int_range(1, pl.len() + 1).alias("row"),
        pl.col("_truth").alias("transmitter"),
        pl.col("_malicious").alias("malicious"),
    ).write_ndjson(folder / "labels.jsonl")
    (folder / "truth.json").write_text(
        json.dumps({"scenario": scenario, "seed": seed, "blasters": truth}, indent=1)
    )
    (folder / "operator.toml").write_text(OPERATOR_TOML)
    return {"observations": observations.height, "cells": inventory.height, "blasters": len(truth)}
