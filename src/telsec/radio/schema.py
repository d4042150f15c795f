"""The columnar schemas every reader produces, and the checks every row passes.

Observations (one row per cell heard, at a place and time)::

    time      float   seconds since the Unix epoch (UTC)
    lat, lon  float   WGS84 degrees, where the observer was
    source    str     the observer (device, drive-test vehicle, UE report id)
    kind      str     drive | crowd | ue-report | scan
    rat       str     gsm | umts | lte | nr
    mcc, mnc  int     the PLMN the cell broadcasts
    area      int     LAC (2G/3G) or TAC (4G/5G)
    cell      int     CID, UTRAN cell id, ECI or NCI
    channel   int     ARFCN / UARFCN / EARFCN / NR-ARFCN (may be null)
    pci       int     BSIC (2G), PSC (3G), PCI (4G/5G) (may be null)
    signal    float   dBm: RSSI (2G/3G) or RSRP (4G/5G) (may be null)
    neighbours int    neighbour cells the serving cell announces (null: unknown)
    cipher    str     2G ciphering in use, e.g. A5/1, A5/0 (may be null)

Inventory (one row per planned or known cell)::

    rat, mcc, mnc, area, cell, lat, lon, range_m, channel, pci

:func:`clean` drops impossible rows and counts each reason, so a bad row never
stops a scan and the user sees what was rejected.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from telsec.rejections import Rejections

__all__ = ["Rejections"]

OBSERVATION_SCHEMA: dict[str, pl.DataType] = {
    "time": pl.Float64(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "source": pl.Utf8(),
    "kind": pl.Utf8(),
    "rat": pl.Utf8(),
    "mcc": pl.Int32(),
    "mnc": pl.Int32(),
    "area": pl.Int64(),
    "cell": pl.Int64(),
    "channel": pl.Int64(),
    "pci": pl.Int32(),
    "signal": pl.Float64(),
    "neighbours": pl.Int32(),
    "cipher": pl.Utf8(),
}
INVENTORY_SCHEMA: dict[str, pl.DataType] = {
    "rat": pl.Utf8(),
    "mcc": pl.Int32(),
    "mnc": pl.Int32(),
    "area": pl.Int64(),
    "cell": pl.Int64(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "range_m": pl.Float64(),
    "channel": pl.Int64(),
    "pci": pl.Int32(),
}
RATS = ("gsm", "umts", "lte", "nr")
#: The test network's MCC (001): no public network uses it, a cell in the wild that
#: does is itself evidence.
TEST_MCC = 1
#: The key of a cell: what a transmitter broadcasts as its identity.
CELL_KEY = ("rat", "mcc", "mnc", "area", "cell")
#: Largest cell identity per RAT (TS 23.003; UTRAN: RNC-Id and C-Id, 28 bits).
MAX_CELL = {"gsm": 0xFFFF, "umts": (1 << 28) - 1, "lte": (1 << 28) - 1, "nr": (1 << 36) - 1}
MAX_AREA = {"gsm": 0xFFFF, "umts": 0xFFFF, "lte": 0xFFFF, "nr": (1 << 24) - 1}
#: Plausible received power, dBm (RSSI for 2G/3G, RSRP for 4G/5G).
SIGNAL_RANGE = {
    "gsm": (-125.0, -10.0),
    "umts": (-125.0, -10.0),
    "lte": (-150.0, -30.0),
    "nr": (-156.0, -30.0),
}


def empty_observations() -> pl.DataFrame:
    return pl.DataFrame(schema=OBSERVATION_SCHEMA)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with exactly ``schema``'s columns, in order, cast (missing: null)."""
    if frame.height == 0:
        return pl.DataFrame(schema=schema)  # literals alone would make a phantom row
    columns = []
    for name, dtype in schema.items():
        if name in frame.columns:
            columns.append(pl.col(name).cast(dtype, strict=False))
        else:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(columns)


def _drop(frame: pl.DataFrame, bad: pl.Expr, reason: str, counts: Rejections) -> pl.DataFrame:
    flagged = frame.select(bad.fill_null(False).sum()).item()
    if flagged:
        counts.add(reason, int(flagged))
        frame = frame.filter(~bad.fill_null(False))
    return frame


def _outside(name: str, low: pl.Expr | int, high: pl.Expr | int) -> pl.Expr:
    """The column is missing or outside [low, high]."""
    column = pl.col(name)
    return column.is_null() | (column < low) | (column > high)


def _common_checks(frame: pl.DataFrame, counts: Rejections) -> pl.DataFrame:
    rat = pl.col("rat")
    frame = _drop(frame, ~rat.is_in(list(RATS)) | rat.is_null(), "unknown radio technology", counts)
    country = (pl.col("mcc") >= 200) & (pl.col("mcc") <= 799)
    frame = _drop(
        frame,
        pl.col("mcc").is_null() | ~(country | (pl.col("mcc") == TEST_MCC)),
        "MCC missing or not a country's (200-799, or 001 test)",
        counts,
    )
    frame = _drop(frame, _outside("mnc", 0, 999), "MNC missing or out of range", counts)
    max_area = rat.replace_strict(MAX_AREA, default=0, return_dtype=pl.Int64)
    frame = _drop(frame, _outside("area", 0, max_area), "LAC/TAC missing or out of range", counts)
    max_cell = rat.replace_strict(MAX_CELL, default=0, return_dtype=pl.Int64)
    return _drop(
        frame, _outside("cell", 0, max_cell), "cell identity missing or out of range", counts
    )


def _position_checks(frame: pl.DataFrame, counts: Rejections) -> pl.DataFrame:
    frame = _drop(
        frame,
        pl.col("lat").is_null()
        | pl.col("lon").is_null()
        | pl.col("lat").is_nan()
        | pl.col("lon").is_nan(),
        "no coordinates",
        counts,
    )
    frame = _drop(
        frame,
        (pl.col("lat").abs() > 90) | (pl.col("lon").abs() > 180),
        "impossible coordinates",
        counts,
    )
    return _drop(
        frame, (pl.col("lat") == 0) & (pl.col("lon") == 0), "coordinates 0,0 (no fix)", counts
    )


#: rows checked at a time: cleaning makes several copies of what it checks
CLEAN_CHUNK_ROWS = 250_000


def slices(frame: pl.DataFrame, rows: int) -> Iterator[pl.DataFrame]:
    """``frame`` ``rows`` at a time (views, not copies)."""
    for start in range(0, frame.height, rows):
        yield frame.slice(start, rows)


def check_observations(frame: pl.DataFrame, counts: Rejections) -> pl.DataFrame:
    """The row-by-row checks of observations (repeats are the store's:
    :func:`telsec.radio.store.clean_observations`)."""
    counts.read += frame.height
    frame = conform(frame, OBSERVATION_SCHEMA)
    frame = _common_checks(frame, counts)
    frame = _position_checks(frame, counts)
    frame = _drop(frame, pl.col("time").is_null() | (pl.col("time") < 0), "no time", counts)
    low = pl.col("rat").replace_strict(
        {r: v[0] for r, v in SIGNAL_RANGE.items()}, default=-200.0, return_dtype=pl.Float64
    )
    high = pl.col("rat").replace_strict(
        {r: v[1] for r, v in SIGNAL_RANGE.items()}, default=0.0, return_dtype=pl.Float64
    )
    return _drop(
        frame,
        (pl.col("signal") < low) | (pl.col("signal") > high),
        "signal strength impossible for the RAT",
        counts,
    )


def clean_inventory(frame: pl.DataFrame, counts: Rejections) -> pl.DataFrame:
    counts.read += frame.height
    frame = conform(frame, INVENTORY_SCHEMA)
    frame = _common_checks(frame, counts)
    frame = _position_checks(frame, counts)
    frame = frame.with_columns(
        pl.when(pl.col("range_m").is_null() | (pl.col("range_m") <= 0))
        .then(pl.lit(2000.0))
        .otherwise(pl.col("range_m"))
        .alias("range_m")
    )
    before = frame.height
    frame = frame.unique(subset=list(CELL_KEY), keep="first", maintain_order=True)
    counts.add("duplicate cell", before - frame.height)
    return frame
