"""Score every observed cell for signs of a fake base station, explainably.

Each rule adds evidence with a weight; a cell's score is the noisy-OR of its
evidence (1 - product of (1 - weight)), so independent signs add up and no
single weak sign (a new cell not yet in the inventory, a femtocell's own TAC)
makes an alert on its own.  Every alert lists the evidence that scored it.

Observations from an observer moving faster than a car (a phone on a plane)
are not used for the distance-based rules: from the air, cells are heard far
beyond their range.  The work is columnar (Polars) until the per-window
localisation of the few suspect cells.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from telsec.geo import METRES_PER_DEGREE, haversine_m
from telsec.radio.device import DeviceEvent
from telsec.radio.locate import Estimate, displacement_m, estimate, track_fixed
from telsec.radio.schema import CELL_KEY, OBSERVATION_SCHEMA, TEST_MCC
from telsec.radio.store import FIX_COLUMNS, ObservationStore, floor_column
from telsec.radio.track import track_grid
from telsec.tomlfile import flag, number, refuse_unknown, table, tables


@dataclass(frozen=True)
class Rule:
    id: str
    weight: float
    title: str
    #: FiGHT: false base station, spoofed broadcast, bid down to 2G; MoTIF: broadcast channel.
    techniques: tuple[str, ...] = ("FGT1583.501", "FGT1642.501", "FGT1562.501", "MOT3001.301")


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "RADIO-NOT-IN-INVENTORY", 0.30, "cell identity of a real network, not in its inventory"
        ),
        Rule("RADIO-GSM-OFF", 0.45, "GSM cell of a network that has switched 2G off"),
        Rule("RADIO-LONESOME-AREA", 0.25, "LAC/TAC that none of the network's cells uses"),
        Rule(
            "RADIO-OUT-OF-RANGE",
            0.55,
            "heard where its inventory position and range cannot explain",
        ),
        Rule(
            "RADIO-TOO-STRONG",
            0.35,
            "signal stronger than free space allows from its inventory position",
        ),
        Rule("RADIO-TRANSIENT", 0.20, "on the air for minutes only"),
        Rule("RADIO-NO-NEIGHBOURS", 0.30, "announces no neighbour cells"),
        Rule("RADIO-NULL-CIPHER", 0.30, "GSM without ciphering (A5/0)"),
        Rule("RADIO-MOVING", 0.45, "its estimated position moves (vehicle-borne)"),
        Rule("RADIO-TEST-PLMN", 0.50, "broadcasts the test network's MCC 001"),
        # seen by a phone's modem (device logs: Rayhunter and other GSMTAP captures)
        Rule(
            "RADIO-DEVICE-IMSI-REQUEST",
            0.35,
            "asked a phone for its IMSI without authenticating it",
        ),
        Rule("RADIO-DEVICE-REDIRECT-2G", 0.45, "released a phone with a redirection to 2G"),
        Rule("RADIO-DEVICE-PRIORITY-2G", 0.35, "broadcasts 2G/3G reselection priority above LTE"),
        Rule("RADIO-DEVICE-NULL-CIPHER", 0.45, "selected EEA0: no ciphering"),
        Rule("RADIO-DEVICE-AUTH-FAILURE", 0.50, "failed to authenticate itself to a phone"),
        # only from Rayhunter's own reports (telsec.radio.rayhunter)
        Rule("RADIO-DEVICE-INCOMPLETE-SIB", 0.20, "broadcasts an incomplete set of SIBs"),
        Rule("RADIO-DEVICE-RAYHUNTER", 0.25, "a Rayhunter warning telsec has no own rule for"),
    )
}


@dataclass(frozen=True)
class Network:
    name: str
    mcc: int
    mnc: int
    gsm_switched_off: bool = False


@dataclass(frozen=True)
class RadioConfig:
    networks: tuple[Network, ...] = ()
    #: An alert needs at least this score.
    threshold: float = 0.5
    window_s: float = 300.0
    transient_s: float = 2700.0
    #: Not heard for this long, a cell's next observations start a new stretch on the air.
    session_gap_s: float = 1800.0
    #: Observers faster than this (m/s) are airborne: no distance rules from them.
    max_ground_speed: float = 55.0
    #: Legitimate transmit power bounds (dBm EIRP) for the too-strong rule.
    max_power_dbm: dict[str, float] = field(
        default_factory=lambda: {"gsm": 57.0, "umts": 50.0, "lte": 48.0, "nr": 50.0}
    )


class ConfigError(ValueError):
    pass


_NETWORK_KEYS = {"name", "mcc", "mnc", "gsm_switched_off"}
_DETECTION_KEYS = {"threshold", "window_s", "transient_s", "max_ground_speed"}


def _network(item: Any, where: str) -> Network:
    item = table(item, where, ConfigError)
    refuse_unknown(item, _NETWORK_KEYS, where, ConfigError)
    missing = [key for key in ("name", "mcc", "mnc") if key not in item]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    if not isinstance(item["name"], str) or not item["name"].strip():
        raise ConfigError(f"{where}: name must be a non-empty string")
    for key in ("mcc", "mnc"):
        value = item[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999:
            raise ConfigError(f"{where}: {key} must be a whole number from 0 to 999, not {value!r}")
    switched_off = flag(item, "gsm_switched_off", False, where, ConfigError)
    return Network(item["name"], item["mcc"], item["mnc"], switched_off)


def parse_config(text: str) -> RadioConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    refuse_unknown(data, {"networks", "detection"}, "the configuration", ConfigError)
    items = tables(data, "networks", ConfigError)
    networks = tuple(_network(item, f"[[networks]] #{i + 1}") for i, item in enumerate(items))
    where, default = "[detection]", RadioConfig()
    limits = table(data.get("detection", {}), where, ConfigError)
    refuse_unknown(limits, _DETECTION_KEYS, where, ConfigError)

    def positive(key: str) -> float:
        return float(number(limits, key, getattr(default, key), where, ConfigError))

    threshold = number(limits, "threshold", default.threshold, where, ConfigError, at_most=1.0)
    return RadioConfig(
        networks,
        threshold=float(threshold),
        window_s=positive("window_s"),
        transient_s=positive("transient_s"),
        max_ground_speed=positive("max_ground_speed"),
    )


def load_config(path: Path | None) -> RadioConfig:
    if path is None:
        return RadioConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a configuration: not UTF-8 text (a TOML file)") from None
    return parse_config(text)


# -- per-observation flags ------------------------------------------------------------


def airborne_fixes(fixes: pl.DataFrame, max_speed: float) -> pl.DataFrame:
    """The observers' fixes (source, time, lat, lon) reached faster than ``max_speed``.

    Needs every fix of each observer (in time order), but only those four columns:
    ``fixes`` may be the observations themselves or their distinct fixes.
    """
    fixes = fixes.select("source", "time", "lat", "lon").unique().sort("source", "time")
    lat, lon = fixes["lat"].to_numpy(), fixes["lon"].to_numpy()
    same = fixes["source"].to_numpy()[1:] == fixes["source"].to_numpy()[:-1]
    dt = np.diff(fixes["time"].to_numpy())
    d = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    fast = same & (d > 200) & (d > max_speed * np.maximum(dt, 1e-3))
    flag = np.zeros(fixes.height, dtype=bool)
    flag[1:] |= fast
    flag[:-1] |= fast
    return fixes.filter(pl.Series(flag)).with_columns(pl.lit(True).alias("airborne"))


def _mark_airborne(obs: pl.DataFrame, airborne: pl.DataFrame) -> pl.DataFrame:
    """``obs`` with an ``airborne`` column: its fix is among ``airborne``."""
    return obs.join(airborne, on=["source", "time", "lat", "lon"], how="left").with_columns(
        pl.col("airborne").fill_null(False)
    )


#: observations flagged and counted at a time (see detect)
CHUNK_ROWS = 500_000


def _per_cell(flagged_chunks: Iterable[pl.DataFrame]) -> tuple[pl.DataFrame, float, float]:
    """Per cell: counts, first/last seen and the distinct sources and far places,
    combined from per-chunk partial sums; and the first and last time overall."""
    key = list(CELL_KEY)
    partials, sources, far_sources, far_places = [], [], [], []
    for flagged in flagged_chunks:
        partials.append(
            flagged.group_by(key).agg(
                pl.len().alias("observations"),
                pl.col("time").min().alias("first_seen"),
                pl.col("time").max().alias("last_seen"),
                pl.col("cell_lat").is_not_null().any().alias("in_inventory"),
                pl.col("far").sum().alias("far"),
                pl.col("cell_distance").filter(pl.col("far")).max().alias("far_m"),
                pl.col("loud").sum().alias("loud"),
                pl.col("neighbours").is_not_null().sum().alias("neighbour_reports"),
                pl.col("lonely").sum().alias("lonely"),
                pl.col("clear").sum().alias("clear"),
                pl.col("signal").max().alias("max_signal"),
            )
        )
        sources.append(flagged.select(*key, "source").unique())
        far = flagged.filter(pl.col("far"))
        far_sources.append(far.select(*key, "source").unique())
        far_places.append(far.select(*key, "lat", "lon").unique())
    if not partials:
        return pl.DataFrame(), 0.0, 0.0

    def distinct(parts: list[pl.DataFrame], name: str) -> pl.DataFrame:
        return pl.concat(parts).unique().group_by(key).agg(pl.len().alias(name))

    totals = (
        pl.concat(partials)
        .group_by(key)
        .agg(
            pl.col("observations").sum(),
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
            pl.col("in_inventory").any(),
            pl.col("far").sum(),
            pl.col("far_m").max(),
            pl.col("loud").sum(),
            pl.col("neighbour_reports").sum(),
            pl.col("lonely").sum(),
            pl.col("clear").sum(),
            pl.col("max_signal").max(),
        )
    )
    per_cell = (
        totals.join(distinct(sources, "sources"), on=key, how="left")
        .join(distinct(far_sources, "far_sources"), on=key, how="left")
        .join(distinct(far_places, "far_places"), on=key, how="left")
        .with_columns(
            pl.col("far_sources").fill_null(0),
            pl.col("far_places").fill_null(0),
            (pl.col("far_m").fill_null(0) / 1000).alias("far_km"),
        )
        .drop("far_m")
    )
    first, last = totals["first_seen"].min(), totals["last_seen"].max()
    return per_cell, float(first), float(last)  # type: ignore[arg-type]


def _with_inventory(
    obs: pl.DataFrame, inventory: pl.DataFrame, config: RadioConfig
) -> pl.DataFrame:
    cells = inventory.select(
        *CELL_KEY, pl.col("lat").alias("cell_lat"), pl.col("lon").alias("cell_lon"), "range_m"
    )
    joined = obs.join(cells, on=list(CELL_KEY), how="left")
    distance = haversine_m(
        joined["lat"].to_numpy(),
        joined["lon"].to_numpy(),
        joined["cell_lat"].fill_null(0).to_numpy(),
        joined["cell_lon"].fill_null(0).to_numpy(),
    )
    max_power = pl.col("rat").replace_strict(
        config.max_power_dbm, default=50.0, return_dtype=pl.Float64
    )
    known = pl.col("cell_lat").is_not_null()
    ground = ~pl.col("airborne")
    d = pl.col("cell_distance").clip(lower_bound=30.0)
    return joined.with_columns(pl.Series("cell_distance", distance)).with_columns(
        (known & ground & (pl.col("cell_distance") > 2 * pl.col("range_m") + 1000)).alias("far"),
        # free space (exponent 2) from the inventory position, 38 dB at 1 m, 10 dB margin
        (known & ground & (pl.col("signal") > max_power - 38.0 - 20 * d.log10() + 10)).alias(
            "loud"
        ),
        (pl.col("neighbours") == 0).fill_null(False).alias("lonely"),
        pl.col("cipher")
        .str.to_uppercase()
        .is_in(["A5/0", "NONE", "NULL"])
        .fill_null(False)
        .alias("clear"),
    )


# -- per-cell evidence ---------------------------------------------------------------


def _plmns(inventory: pl.DataFrame, config: RadioConfig) -> set[tuple[int, int]]:
    known = {(n.mcc, n.mnc) for n in config.networks}
    known |= set(inventory.select("mcc", "mnc").unique().iter_rows())
    return known


def _areas(inventory: pl.DataFrame) -> set[tuple[int, int, bool, int]]:
    """(mcc, mnc, is 4G/5G, area) in use: LACs and TACs are separate numberings."""
    return {
        (mcc, mnc, rat in ("lte", "nr"), area)
        for rat, mcc, mnc, area in inventory.select("rat", "mcc", "mnc", "area")
        .unique()
        .iter_rows()
    }


def _evidence(
    cell: dict[str, Any], ctx: dict[str, Any], config: RadioConfig
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(rule: str, detail: str) -> None:
        out.append(
            {
                "rule": rule,
                "weight": RULES[rule].weight,
                "title": RULES[rule].title,
                "detail": detail,
            }
        )

    plmn = (cell["mcc"], cell["mnc"])
    known_plmn = plmn in ctx["plmns"]
    in_inventory = cell["in_inventory"]
    if cell["mcc"] == TEST_MCC:
        add("RADIO-TEST-PLMN", f"PLMN {cell['mcc']:03d}-{cell['mnc']:02d}")
    if known_plmn and not in_inventory:
        add(
            "RADIO-NOT-IN-INVENTORY",
            f"{cell['rat']} cell {cell['area']}/{cell['cell']} of "
            f"{ctx['names'].get(plmn, f'{plmn[0]}-{plmn[1]:02d}')}",
        )
    if cell["rat"] == "gsm" and plmn in ctx["gsm_off"]:
        add("RADIO-GSM-OFF", f"{ctx['names'][plmn]} has switched 2G off")
    lte = cell["rat"] in ("lte", "nr")
    if known_plmn and (plmn[0], plmn[1], lte, cell["area"]) not in ctx["areas"]:
        add(
            "RADIO-LONESOME-AREA",
            f"{'TAC' if lte else 'LAC'} {cell['area']} is used by no other cell of the network",
        )
    # two observers, or one at many places: not a single phone with a stale position fix
    if cell["far"] >= 5 and (cell["far_sources"] >= 2 or cell["far_places"] >= 5):
        add(
            "RADIO-OUT-OF-RANGE",
            f"{cell['far']} observations by {cell['far_sources']} "
            f"observers up to {cell['far_km']:.1f} km from its inventory position",
        )
    if cell["loud"] >= 3:
        add("RADIO-TOO-STRONG", f"{cell['loud']} observations louder than free space allows")
    if cell["neighbour_reports"] >= 3 and cell["lonely"] >= 0.8 * cell["neighbour_reports"]:
        add(
            "RADIO-NO-NEIGHBOURS",
            f"{cell['lonely']} of {cell['neighbour_reports']} reports list no neighbour",
        )
    if cell["clear"] >= 1:
        add("RADIO-NULL-CIPHER", f"{cell['clear']} observations with ciphering off")
    span = cell["last_seen"] - cell["first_seen"]
    # a lifetime needs two observers: one phone walking past an indoor cell for a
    # few seconds says nothing about how long the cell has been on the air
    if (
        not in_inventory
        and span < config.transient_s
        and ctx["span"] > 2 * config.transient_s
        and cell["observations"] >= 3
        and cell["sources"] >= 2
    ):
        add(
            "RADIO-TRANSIENT",
            f"on the air for {span / 60:.0f} min of {ctx['span'] / 3600:.1f} h observed",
        )
    return out


def score(evidence: list[dict[str, Any]]) -> float:
    remaining = 1.0
    for item in evidence:
        remaining *= 1 - item["weight"]
    return 1 - remaining


@dataclass
class Detection:
    alerts: list[dict[str, Any]]
    cells: int
    observations: int


def alert_id(rat: str, mcc: int, mnc: int, area: int, cell: int) -> str:
    """How an alert names its transmitter: ``rat:mcc-mnc:area:cell``."""
    return f"{rat}:{mcc:03d}-{mnc:02d}:{area}:{cell}"


def _device_evidence(
    events: Sequence[DeviceEvent],
) -> dict[tuple[Any, ...], tuple[list[dict[str, Any]], float, float, set[str]]]:
    """Per cell: the device-log evidence, first and last event time, the devices."""
    grouped: dict[tuple[Any, ...], dict[str, list[DeviceEvent]]] = {}
    for event in events:
        if event.cell is not None:
            grouped.setdefault(event.cell, {}).setdefault(event.rule, []).append(event)
    out = {}
    for key, rules in grouped.items():
        evidence = []
        times = [e.time for found in rules.values() for e in found]
        for rule, found in rules.items():
            first = found[0]
            evidence.append(
                {
                    "rule": rule,
                    "weight": RULES[rule].weight,
                    "title": RULES[rule].title,
                    "detail": f"{len(found)} time(s); first in frame {first.frame} of "
                    f"{first.source}: {first.detail}",
                }
            )
        sources = {e.source for found in rules.values() for e in found}
        out[key] = (evidence, min(times), max(times), sources)
    return out


_EMPTY_CELL = {
    "observations": 0,
    "far": 0,
    "far_sources": 0,
    "far_places": 0,
    "far_km": 0.0,
    "loud": 0,
    "neighbour_reports": 0,
    "lonely": 0,
    "clear": 0,
    "max_signal": None,
}


def detect(
    observations: pl.DataFrame | ObservationStore,
    inventory: pl.DataFrame,
    config: RadioConfig,
    device_events: Sequence[DeviceEvent] = (),
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> Detection:
    """Alerts, most suspect first, each with evidence, first/last seen and a track.

    The observations are flagged and counted ``chunk_rows`` at a time, so that
    the flagged copy of all of them (twice their size) never exists at once; the
    suspects' own observations are flagged again for localisation.  They may be
    in a frame or in an :class:`ObservationStore` (on disk when they are many):
    this reads them chunk by chunk, twice, and their distinct fixes once.
    ``progress`` is told (rows read, rows to read) after each chunk of either pass.
    """
    store = (
        observations
        if isinstance(observations, ObservationStore)
        else ObservationStore.of(observations)
    )
    devices = _device_evidence(device_events)
    if store.height == 0 and not devices:
        return Detection([], 0, 0)
    fixes = store.fixes()
    airborne = airborne_fixes(fixes, config.max_ground_speed)
    # where ground observers listened, and the weakest cell of each technology reported there
    listened = fixes.join(airborne, on=list(FIX_COLUMNS), how="anti")
    done = 0

    def chunks() -> Iterator[pl.DataFrame]:
        nonlocal done
        for chunk in store.chunks(chunk_rows):
            yield chunk
            done += chunk.height
            if progress:
                progress(done, 2 * store.height)

    def flag(rows: pl.DataFrame) -> pl.DataFrame:
        return _with_inventory(_mark_airborne(rows, airborne), inventory, config)

    per_cell, first_time, last_time = _per_cell(
        (flag(chunk) for chunk in chunks()),
    )
    names = {(n.mcc, n.mnc): n.name for n in config.networks}
    ctx = {
        "plmns": _plmns(inventory, config),
        "areas": _areas(inventory),
        "gsm_off": {(n.mcc, n.mnc) for n in config.networks if n.gsm_switched_off},
        "names": names,
        "span": last_time - first_time,
    }
    alerts = []
    suspects = []
    cells = list(per_cell.iter_rows(named=True))
    known = set(inventory.select(list(CELL_KEY)).iter_rows())
    for key in devices.keys() - {tuple(c[k] for k in CELL_KEY) for c in cells}:
        _, first, last, sources = devices[key]
        cells.append(
            {
                **dict(zip(CELL_KEY, key, strict=True)),
                **_EMPTY_CELL,
                "sources": len(sources),
                "first_seen": first,
                "last_seen": last,
                "in_inventory": key in known,
            }
        )
    for cell in cells:
        evidence = _evidence(cell, ctx, config)
        device = devices.get(tuple(cell[k] for k in CELL_KEY))
        if device:
            evidence += device[0]
            cell["first_seen"] = min(cell["first_seen"], device[1])
            cell["last_seen"] = max(cell["last_seen"], device[2])
        # worth locating: two independent signs already (a cell whose only sign is
        # that the inventory lacks it is not tracked: that is how new cells look)
        if score(evidence) >= config.threshold * 0.9:
            suspects.append((cell, evidence))
    # the suspects' observations, split once (not one pass over everything per suspect)
    keys = pl.DataFrame(
        [{k: cell[k] for k in CELL_KEY} for cell, _ in suspects],
        schema={k: OBSERVATION_SCHEMA[k] for k in CELL_KEY},
    )
    # flags are row by row: only the suspects' rows need them again
    near = flag(
        pl.concat(
            [chunk.join(keys, on=list(CELL_KEY), how="semi") for chunk in chunks()]
            or [pl.DataFrame(schema=OBSERVATION_SCHEMA)]  # no observations (device logs only)
        )
    )
    parts = near.partition_by(list(CELL_KEY), as_dict=True) if near.height else {}
    for cell, evidence in suspects:
        own = parts.get(tuple(cell[k] for k in CELL_KEY), near.head(0))
        evidence = _confirm_transient(evidence, cell, own, listened)
        track, moved = [], 0.0
        # each stretch on the air is followed on its own: the same identity back on
        # another day may be somewhere else
        for session in _sessions(own, config):
            shift = movement_m(_windows(session, cell, config, region=False)) or movement_m(
                _windows(session, cell, config, region=True), solid=False
            )
            moved = max(moved, shift)
            track += _track(session, cell, config, moving=shift > 0, listened=listened)
        if moved > 0:
            evidence.append(
                {
                    "rule": "RADIO-MOVING",
                    "weight": RULES["RADIO-MOVING"].weight,
                    "title": RULES["RADIO-MOVING"].title,
                    "detail": f"estimates {moved:,.0f} m apart beyond their uncertainty",
                }
            )
        total = score(evidence)
        if total < config.threshold:
            continue
        alerts.append(
            {
                "id": alert_id(cell["rat"], cell["mcc"], cell["mnc"], cell["area"], cell["cell"]),
                **{k: cell[k] for k in CELL_KEY},
                "score": round(total, 3),
                "first_seen": cell["first_seen"],
                "last_seen": cell["last_seen"],
                "observations": cell["observations"],
                "sources": cell["sources"],
                "in_inventory": cell["in_inventory"],
                "evidence": sorted(evidence, key=lambda e: -e["weight"]),
                "track": [e.as_dict() for e in track],
            }
        )
    alerts.sort(key=lambda a: (-a["score"], a["first_seen"]))
    return Detection(alerts, len(cells), store.height)


#: A transient cell must have been missed where it had been loud: at a fix this
#: close to one of its readings, before or after it was heard, listening to its
#: technology, whose weakest reported cell was this much weaker than that reading.
ABSENCE_NEAR_M = 100.0
ABSENCE_MARGIN_DB = 15.0
#: ... at this many fixes, and this long before its first or after its last reading.
ABSENCES = 3
ABSENCE_GAP_S = 120.0


def absences(own: pl.DataFrame, listened: pl.DataFrame, first_seen: float, last_seen: float) -> int:
    """How many fixes in ``listened`` (fixes with their floors) missed the cell of
    ``own`` (its readings: time, lat, lon, signal, rat) where it had been loud.

    A fix counts when it lies within :data:`ABSENCE_NEAR_M` of one of the readings,
    reported cells of the reading's technology down to :data:`ABSENCE_MARGIN_DB`
    below it, and came :data:`ABSENCE_GAP_S` or more before the cell's first reading
    or after its last: there and then the cell would have been listed, had it been
    on the air.  A cell heard for minutes because observers passed by for minutes
    (an indoor cell in a quiet street) has none."""
    readings = own.filter(pl.col("signal").is_not_null())
    if readings.is_empty():
        return 0
    floor = floor_column(str(readings["rat"][0]))
    lat, lon = readings["lat"].to_numpy(), readings["lon"].to_numpy()
    pad_lat = ABSENCE_NEAR_M / METRES_PER_DEGREE
    pad_lon = pad_lat / max(float(np.cos(np.radians(np.abs(lat).max()))), 0.01)
    fixes = listened.filter(
        pl.col(floor).is_not_null(),
        (pl.col("time") <= first_seen - ABSENCE_GAP_S)
        | (pl.col("time") >= last_seen + ABSENCE_GAP_S),
        pl.col("lat").is_between(lat.min() - pad_lat, lat.max() + pad_lat),
        pl.col("lon").is_between(lon.min() - pad_lon, lon.max() + pad_lon),
    )
    if fixes.is_empty():
        return 0
    loud = readings["signal"].to_numpy() - ABSENCE_MARGIN_DB
    fix_lat, fix_lon = fixes["lat"].to_numpy(), fixes["lon"].to_numpy()
    fix_floor = fixes[floor].to_numpy().astype(np.float64)
    missed = 0
    # blocks of fixes, so that the fixes x readings distances stay a few million
    step = max(1, 2_000_000 // lat.size)
    for at in range(0, fix_lat.size, step):
        part = slice(at, at + step)
        near = (
            haversine_m(fix_lat[part, None], fix_lon[part, None], lat[None, :], lon[None, :])
            <= ABSENCE_NEAR_M
        )
        missed += int((near & (fix_floor[part, None] <= loud[None, :])).any(axis=1).sum())
    return missed


def _confirm_transient(
    evidence: list[dict[str, Any]],
    cell: dict[str, Any],
    own: pl.DataFrame,
    listened: pl.DataFrame,
) -> list[dict[str, Any]]:
    """``evidence`` with RADIO-TRANSIENT kept only if observers missed the cell
    where it had been loud (:func:`absences`): first and last seen alone say how
    long observers were near it, not how long it was on the air."""
    found = next((e for e in evidence if e["rule"] == "RADIO-TRANSIENT"), None)
    if found is None:
        return evidence
    missed = absences(
        own.filter(~pl.col("airborne")), listened, cell["first_seen"], cell["last_seen"]
    )
    if missed < ABSENCES:
        return [e for e in evidence if e is not found]
    detail = f"{found['detail']}; missed at {missed} places where it had been loud"
    found = {**found, "detail": detail}
    return [found if e["rule"] == "RADIO-TRANSIENT" else e for e in evidence]


def _sessions(observations: pl.DataFrame, config: RadioConfig) -> list[pl.DataFrame]:
    """The observations cut where the cell was not heard for ``session_gap_s``."""
    if observations.is_empty():
        return []
    ordered = observations.sort("time")
    gaps = ordered["time"].diff().fill_null(0) > config.session_gap_s
    return ordered.with_columns(gaps.cum_sum().alias("_session")).partition_by(
        "_session", include_key=False, maintain_order=True
    )


def _observations_of(flagged: pl.DataFrame, cell: dict[str, Any]) -> pl.DataFrame:
    """The observations that locate the transmitter behind ``cell``: from the ground,
    with a signal; for a cell in the inventory only the anomalous ones (a cloned
    identity: the real cell is heard too, where it should be)."""
    mine = flagged.filter(
        *(pl.col(k) == cell[k] for k in CELL_KEY),
        ~pl.col("airborne"),
        pl.col("signal").is_not_null(),
    )
    if cell["in_inventory"]:
        mine = mine.filter(pl.col("far") | pl.col("loud") | pl.col("clear"))
    return mine.sort("time")


#: A transmitter moves when well-placed windows (8 or more observations, a
#: covariance radius of 600 m or less, three of them at least) lie this far apart
#: beyond their radii...
MOVED_SOLID_M = 700.0
#: ... or any two windows of 3 or more observations this far beyond the regions
#: the data allow around them (a stationary blaster's or clone's windows lay at
#: most 1,081 m apart so in 38 simulated cities; a vehicle's, up to 6 km).
MOVED_ANY_M = 1500.0


def movement_m(windows: list[Estimate], *, solid: bool = True) -> float:
    """How far the transmitter moved, by its windows estimated on their own: the
    largest distance between two beyond their uncertainty, when that exceeds the
    bound of their kind (``MOVED_SOLID_M`` for well-placed windows with the
    covariance's radius, ``MOVED_ANY_M`` for any with the region's); 0 otherwise.

    Only well-placed windows are held to the tighter bound: a passing observer's
    few readings of a fixed cell can pull one estimate hundreds of metres off."""
    if solid:
        windows = [e for e in windows if e.observations >= 8 and e.radius_m <= 600]
        if len(windows) < 3:
            return 0.0
    shift = displacement_m(windows)
    return shift if shift > (MOVED_SOLID_M if solid else MOVED_ANY_M) else 0.0


def _windows(
    flagged: pl.DataFrame, cell: dict[str, Any], config: RadioConfig, *, region: bool
) -> list[Estimate]:
    """Each window on its own (to tell whether the transmitter moves); ``region``:
    radii from the region the data allow (else the covariance's alone)."""
    mine = _observations_of(flagged, cell)
    if mine.is_empty():
        return []
    window_s = config.window_s
    mine = mine.with_columns((pl.col("time") // window_s).alias("window"))
    out = []
    for (window,), part in mine.group_by(["window"], maintain_order=True):
        start = float(window) * window_s
        found = estimate(
            part["lat"].to_numpy(),
            part["lon"].to_numpy(),
            part["signal"].to_numpy(),
            start,
            start + window_s,
            region=region,
        )
        if found is not None and found.observations >= 3:
            out.append(found)
    out.sort(key=lambda e: e.start)
    return out


def _silent(
    listened: pl.DataFrame, flagged: pl.DataFrame, mine: pl.DataFrame, window_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(times, latitudes, longitudes, floors) of the fixes where observers listened
    to the transmitter's radio technology while it was heard (from its first
    located reading to the end of its last one's window) and reported nothing
    under its identity (``flagged``: all the cell's rows, a clone's real cell's
    too).  A fix that reported only other technologies' cells is no silence: a
    phone on LTE does not list the GSM cells around it."""
    times = mine["time"].to_numpy()
    first, last = float(times.min()), float(times.max())
    floor = floor_column(mine["rat"][0])
    quiet = (
        listened.filter(
            pl.col(floor).is_not_null(), pl.col("time").is_between(first, last + window_s)
        )
        .join(flagged.select(FIX_COLUMNS), on=list(FIX_COLUMNS), how="anti")
        # in one order whatever the chunks the fixes were gathered in: the
        # locator samples them
        .sort("time", "lat", "lon", floor)
    )
    return (
        quiet["time"].to_numpy(),
        quiet["lat"].to_numpy(),
        quiet["lon"].to_numpy(),
        quiet[floor].to_numpy().astype(np.float64),
    )


def _track(
    flagged: pl.DataFrame,
    cell: dict[str, Any],
    config: RadioConfig,
    *,
    moving: bool,
    listened: pl.DataFrame | None = None,
) -> list[Estimate]:
    """The transmitter's windows: a moving one's tracked over the whole session
    (:func:`telsec.radio.track.track_grid`), a fixed one's from every reading so
    far; both with the places ``listened`` (fixes with their floors) where it
    was not heard."""
    mine = _observations_of(flagged, cell)
    if mine.is_empty():
        return []
    args = (
        mine["lat"].to_numpy(),
        mine["lon"].to_numpy(),
        mine["signal"].to_numpy(),
        mine["time"].to_numpy(),
        config.window_s,
    )
    silent = None if listened is None else _silent(listened, flagged, mine, config.window_s)
    if moving:
        return track_grid(*args, silent)
    return track_fixed(*args, silent)
