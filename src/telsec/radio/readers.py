"""Readers for cell inventories and observations, into :mod:`.schema`'s columns.

A file's format is recognised from its first line (or its extension), and can
be forced with ``input_format``:

================  =========================================================
``opencellid``    OpenCelliD / Mozilla Location Service export:
                  ``radio,mcc,net,area,cell,unit,lon,lat,range,samples,...``
``cells-csv``     an operator's planned cells: ``rat,mcc,mnc,area,cell,lat,lon``
                  and optionally ``range_m,channel,pci`` (``lac``/``tac``,
                  ``cid``/``eci``/``nci``, ``radio``, ``range`` also accepted)
``towercollector`` Tower Collector CSV export (``mcc,mnc,lac,cell_id,psc,asu,dbm,
                  ta,lat,lon,...,measured_at,net_type,neighboring,device``)
``wigle``         WiGLE 1.6 CSV (``WigleWifi-1.6`` pre-header): its cell rows
                  (GSM, WCDMA, LTE, NR); Wi-Fi and Bluetooth rows are skipped
``cellinfo``      Android CellInfo JSON: records ``{"time", "lat", "lon",
                  "source", "cells": [CellInfo...]}``, each CellInfo as Android
                  dumps it (``type`` CellInfoGsm/Wcdma/Lte/Nr, ``registered``,
                  ``cellIdentity``, ``cellSignalStrength``), a JSON array or lines
``jsonl``         telsec's own JSON lines, the columns of :mod:`.schema`
                  (network-side UE measurement reports and 2G scans)
``parquet``       the same columns in Parquet
``rayhunter``     EFF Rayhunter's NDJSON analysis report, read by :mod:`.rayhunter`
``gsmtap``        a device log: GSMTAP LTE RRC/NAS in pcap or pcapng (Rayhunter,
                  QCSuper, SCAT), read by :mod:`.device`
================  =========================================================

Every reader returns the rows it could use and counts the others by reason.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from telsec.radio.rayhunter import is_report
from telsec.radio.schema import (
    CLEAN_CHUNK_ROWS,
    OBSERVATION_SCHEMA,
    Rejections,
    check_observations,
    clean_inventory,
    slices,
)
from telsec.radio.store import ObservationStore
from telsec.rejections import json_objects

INVENTORY_FORMATS = ("opencellid", "cells-csv")
OBSERVATION_FORMATS = ("towercollector", "wigle", "cellinfo", "jsonl", "parquet")
_RATS = {
    "GSM": "gsm",
    "UMTS": "umts",
    "WCDMA": "umts",
    "LTE": "lte",
    "NR": "nr",
    "5G": "nr",
    "4G": "lte",
    "3G": "umts",
    "2G": "gsm",
}


class ReaderError(ValueError):
    """The file cannot be read at all (missing, unknown format, not text)."""


def _first_line(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
    return head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff").lower()


_CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)


def detect_format(path: Path) -> str:
    """The format of ``path`` by its first line, else its extension."""
    try:
        with path.open("rb") as handle:
            if handle.read(4) in _CAPTURE_MAGICS:
                return "gsmtap"
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
    first = _first_line(path)
    if first.startswith("wiglewifi"):
        return "wigle"
    if first.startswith("radio,mcc,net,area,cell"):
        return "opencellid"
    if first.startswith("mcc,mnc,lac,cell_id"):
        return "towercollector"
    header = {_ALIASES.get(c.strip(), c.strip()) for c in first.split(",")}
    if {"rat", "mcc", "mnc", "lat", "lon"} <= header:
        return "cells-csv"
    if is_report(first):
        return "rayhunter"
    if first.startswith(("[", "{")):
        return "cellinfo" if '"cells"' in first or first == "[" else "jsonl"
    suffix = path.suffix.lower()
    if suffix == ".parquet" or first.startswith("par1"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "cellinfo"
    raise ReaderError(f"{path}: cannot tell the format from its first line; give --input-format")


def _csv_rows(path: Path, skip_lines: int = 0) -> tuple[list[dict[str, str]], Rejections]:
    counts = Rejections()
    text = path.read_bytes().decode("utf-8", "replace")
    lines = io.StringIO(text, newline="")
    for _ in range(skip_lines):
        lines.readline()
    reader = csv.DictReader(lines)
    rows = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            counts.read += 1
            counts.add("malformed CSV line")
            continue
        if None in row or any(v is None for v in row.values()):
            counts.read += 1
            counts.add("wrong number of fields")
            continue
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items()})
    return rows, counts


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return None


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result else None  # NaN is no value


def _frame(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    rows = list(rows)
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


# -- inventories ---------------------------------------------------------------------


def _opencellid(path: Path) -> tuple[pl.DataFrame, Rejections]:
    rows, counts = _csv_rows(path)
    out = []
    for row in rows:
        out.append(
            {
                "rat": _RATS.get(row.get("radio", "").upper(), row.get("radio", "").lower()),
                "mcc": _int(row.get("mcc")),
                "mnc": _int(row.get("net")),
                "area": _int(row.get("area")),
                "cell": _int(row.get("cell")),
                "lat": _float(row.get("lat")),
                "lon": _float(row.get("lon")),
                "range_m": _float(row.get("range")),
                "pci": _int(row.get("unit")),
            }
        )
    return _frame(out), counts


_ALIASES = {
    "radio": "rat",
    "net": "mnc",
    "lac": "area",
    "tac": "area",
    "cid": "cell",
    "eci": "cell",
    "nci": "cell",
    "cell_id": "cell",
    "range": "range_m",
    "arfcn": "channel",
    "earfcn": "channel",
    "latitude": "lat",
    "longitude": "lon",
}


def _cells_csv(path: Path) -> tuple[pl.DataFrame, Rejections]:
    rows, counts = _csv_rows(path)
    out = []
    for row in rows:
        item = {_ALIASES.get(k, k): v for k, v in row.items()}
        out.append(
            {
                "rat": _RATS.get(item.get("rat", "").upper(), item.get("rat", "").lower()),
                **{k: _int(item.get(k)) for k in ("mcc", "mnc", "area", "cell", "channel", "pci")},
                **{k: _float(item.get(k)) for k in ("lat", "lon", "range_m")},
            }
        )
    return _frame(out), counts


def read_inventory(path: Path, input_format: str | None = None) -> tuple[pl.DataFrame, Rejections]:
    """The cells of an inventory file, cleaned; rejected rows counted."""
    kind = input_format or detect_format(path)
    if kind not in INVENTORY_FORMATS:
        raise ReaderError(
            f"{path}: {kind} is not an inventory format ({', '.join(INVENTORY_FORMATS)})"
        )
    frame, counts = _opencellid(path) if kind == "opencellid" else _cells_csv(path)
    cleaned = clean_inventory(frame, counts)
    return cleaned, counts


# -- observations --------------------------------------------------------------------


def _timestamp(text: str) -> float | None:
    text = text.strip().strip('"')
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return _float(text)


def _towercollector(path: Path) -> tuple[pl.DataFrame, Rejections]:
    rows, counts = _csv_rows(path)
    # neighbour rows belong to the serving cell measured at the same moment
    neighbours: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.get("neighboring", "").lower() == "true":
            key = (row.get("measured_at", ""), row.get("device", ""))
            neighbours[key] = neighbours.get(key, 0) + 1
    out = []
    for row in rows:
        if row.get("neighboring", "").lower() == "true" and not row.get("cell_id"):
            counts.read += 1
            counts.add("neighbour row without a cell identity")
            continue
        key = (row.get("measured_at", ""), row.get("device", ""))
        out.append(
            {
                "time": _timestamp(row.get("measured_at", "")),
                "lat": _float(row.get("lat")),
                "lon": _float(row.get("lon")),
                "source": row.get("device") or path.stem,
                "kind": "crowd",
                "rat": _RATS.get(row.get("net_type", "").upper(), row.get("net_type", "").lower()),
                "mcc": _int(row.get("mcc")),
                "mnc": _int(row.get("mnc")),
                "area": _int(row.get("lac")),
                "cell": _int(row.get("cell_id")),
                "pci": _int(row.get("psc")),
                "signal": _float(row.get("dbm")),
                "neighbours": None
                if row.get("neighboring", "").lower() == "true"
                else neighbours.get(key, 0),
            }
        )
    return _frame(out), counts


def _wigle(path: Path) -> tuple[pl.DataFrame, Rejections]:
    rows, counts = _csv_rows(path, skip_lines=1)
    out = []
    for row in rows:
        rat = _RATS.get(row.get("type", "").upper())
        if rat is None:  # Wi-Fi, Bluetooth, CDMA: not cells we judge
            continue
        parts = row.get("mac", "").split("_")
        operator = parts[0] if parts else ""
        if len(parts) != 3 or not operator.isdigit() or len(operator) not in (5, 6):
            counts.read += 1
            counts.add("WiGLE cell row without an MCCMNC_LAC_CID identity")
            continue
        out.append(
            {
                "time": _timestamp(row.get("firstseen", "").replace(" ", "T") + "+00:00")
                if row.get("firstseen")
                else None,
                "lat": _float(row.get("currentlatitude")),
                "lon": _float(row.get("currentlongitude")),
                "source": path.stem,
                "kind": "crowd",
                "rat": rat,
                "mcc": int(operator[:3]),
                "mnc": int(operator[3:]),
                "area": _int(parts[1]),
                "cell": _int(parts[2]),
                "channel": _int(row.get("channel")),
                "signal": _float(row.get("rssi")),
            }
        )
    return _frame(out), counts


_CELLINFO_RATS = {
    "cellinfogsm": "gsm",
    "cellinfowcdma": "umts",
    "cellinfolte": "lte",
    "cellinfonr": "nr",
}


_NO_CELLS = "CellInfo record without a list of cells"


def _json_records(path: Path, counts: Rejections) -> list[Any]:
    raw = path.read_bytes()
    try:
        document = orjson.loads(raw)
        return document if isinstance(document, list) else [document]
    except orjson.JSONDecodeError:
        pass
    return list(json_objects(raw.splitlines(), counts, "not JSON", _NO_CELLS))


def _cellinfo(path: Path) -> tuple[pl.DataFrame, Rejections]:
    counts = Rejections()
    out = []
    for record in _json_records(path, counts):
        cells = record.get("cells") if isinstance(record, dict) else None
        if not isinstance(cells, list):
            counts.read += 1
            counts.add(_NO_CELLS)
            continue
        registered = [c for c in cells if isinstance(c, dict) and c.get("registered")]
        for cell in cells:
            if not isinstance(cell, dict):
                counts.read += 1
                counts.add("CellInfo entry is not an object")
                continue
            rat = _CELLINFO_RATS.get(str(cell.get("type", "")).lower())
            ident = cell.get("cellIdentity") or {}
            strength = cell.get("cellSignalStrength") or {}
            if rat is None or not isinstance(ident, dict) or not isinstance(strength, dict):
                counts.read += 1
                counts.add("CellInfo of an unknown type")
                continue
            out.append(
                {
                    "time": _float(record.get("time")),
                    "lat": _float(record.get("lat")),
                    "lon": _float(record.get("lon")),
                    "source": str(record.get("source") or path.stem),
                    "kind": "crowd",
                    "rat": rat,
                    "mcc": _int(ident.get("mcc")),
                    "mnc": _int(ident.get("mnc")),
                    "area": _int(ident.get("tac") if rat in ("lte", "nr") else ident.get("lac")),
                    "cell": _int(
                        ident.get({"gsm": "cid", "umts": "cid", "lte": "ci", "nr": "nci"}[rat])
                    ),
                    "channel": _int(
                        ident.get(
                            {"gsm": "arfcn", "umts": "uarfcn", "lte": "earfcn", "nr": "nrarfcn"}[
                                rat
                            ]
                        )
                    ),
                    "pci": _int(
                        ident.get({"gsm": "bsic", "umts": "psc", "lte": "pci", "nr": "pci"}[rat])
                    ),
                    "signal": _float(
                        strength.get("rsrp") if rat in ("lte", "nr") else strength.get("dbm")
                    ),
                    "neighbours": len(cells) - len(registered) if cell.get("registered") else None,
                }
            )
    return _frame(out), counts


def _rows_by_line(block: bytes, counts: Rejections) -> pl.DataFrame:
    rows = json_objects(block.splitlines(), counts, "not JSON", "record is not a JSON object")
    # each column read on its own, so one bad value rejects its row, not the file
    out = []
    for row in rows:
        item: dict[str, Any] = {}
        for name in OBSERVATION_SCHEMA:
            value = row.get(name)
            if name in ("source", "kind", "rat", "cipher"):
                item[name] = None if value is None else str(value)
            elif name in ("time", "lat", "lon", "signal"):
                item[name] = _float(value)
            else:
                item[name] = _int(value)
        out.append(item)
    return _frame(out)


_OBSERVATION_READERS = {
    "towercollector": _towercollector,
    "wigle": _wigle,
    "cellinfo": _cellinfo,
}


def read_observations(
    path: Path, input_format: str | None = None
) -> tuple[pl.DataFrame, Rejections]:
    """The observations in ``path``, cleaned, in one frame; rejected rows counted
    by reason.  Read as :func:`read_observations_into` reads them (a chunk at a
    time), then gathered."""
    with ObservationStore() as store:
        counts = read_observations_into(store, path, input_format)
        return store.frame(), counts


def read_observations_into(
    store: ObservationStore,
    path: Path,
    input_format: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> Rejections:
    """Add the observations in ``path`` to ``store``, checked a chunk at a time
    (rows that repeat one already in the store are dropped); the file's rejected
    rows counted by reason.  Unlike :func:`read_observations`, nothing but the
    current chunk need be in memory: the store spills to disk.  ``progress`` is
    told the share of the file read so far (0 to 1) after each chunk."""
    kind = input_format or detect_format(path)
    if kind not in OBSERVATION_FORMATS:
        raise ReaderError(
            f"{path}: {kind} is not an observation format ({', '.join(OBSERVATION_FORMATS)})"
        )
    counts = Rejections()
    try:
        if kind in ("jsonl", "parquet"):
            reader = _jsonl_chunks if kind == "jsonl" else _parquet_chunks
            chunks = reader(path, counts, progress)
        else:
            frame, counts = _OBSERVATION_READERS[kind](path)
            chunks = slices(frame, CLEAN_CHUNK_ROWS)
        for chunk in chunks:
            store.add(check_observations(chunk, counts), counts)
        if progress:
            progress(1.0)
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
    return counts


def _parquet_chunks(
    path: Path, _counts: Rejections, progress: Callable[[float], None] | None = None
) -> Iterator[pl.DataFrame]:
    # PyArrow, not Polars' own reader: on damaged files (a fuzzed file in 60)
    # Polars panicked and printed a Rust backtrace; PyArrow raises an error
    try:
        parquet = pq.ParquetFile(path)
        total, done = max(parquet.metadata.num_rows, 1), 0
        for batch in parquet.iter_batches(batch_size=CLEAN_CHUNK_ROWS):
            done += batch.num_rows
            yield pl.DataFrame(pl.from_arrow(batch))
            if progress:
                progress(done / total)
    except (pa.ArrowException, ValueError) as exc:  # not Parquet, damaged, truncated
        raise ReaderError(
            f"{path}: not a readable Parquet file ({exc.__class__.__name__})"
        ) from None


#: bytes of JSON lines parsed at a time (about 450,000 observations; Polars' own
#: streaming reader, ``scan_ndjson().collect_batches()``, read ahead and peaked
#: at 4 to 6 GB on the 10,000,000-observation benchmark, and it stops at the
#: first line that is not JSON)
_JSONL_BLOCK = 96 * 2**20


def _jsonl_chunks(
    path: Path, counts: Rejections, progress: Callable[[float], None] | None = None
) -> Iterator[pl.DataFrame]:
    """Blocks of whole lines, each parsed natively when every line in it is a JSON
    object (a value of the wrong type becomes null and its row is rejected by the
    checks), line by line otherwise."""
    size = max(path.stat().st_size, 1)
    with path.open("rb") as handle:
        while block := handle.read(_JSONL_BLOCK):
            cut = block.rfind(b"\n") + 1
            if 0 < cut < len(block):
                handle.seek(cut - len(block), os.SEEK_CUR)  # the cut line starts the next
                block = block[:cut]
            elif cut == 0 and len(block) == _JSONL_BLOCK:
                block += handle.readline()  # one line longer than a block
            if not block.isspace():
                yield _jsonl_block(block, counts)
            if progress:
                progress(handle.tell() / size)


def _jsonl_block(block: bytes, counts: Rejections) -> pl.DataFrame:
    if not _objects_only(block):  # Polars reads `[1]` or `null` as a row of nulls
        return _rows_by_line(block, counts)
    try:
        return pl.read_ndjson(io.BytesIO(block), schema=OBSERVATION_SCHEMA, ignore_errors=True)
    except Exception:  # polars raises several kinds; the slow path tells which line
        return _rows_by_line(block, counts)


#: A line that starts with something other than ``{`` (or is empty)
_NOT_AN_OBJECT = re.compile(rb"\n[^{\n]")


def _objects_only(block: bytes) -> bool:
    """Whether every non-blank line of ``block`` starts with ``{`` (a JSON object,
    if it is JSON at all): a search over the bytes (30 ms for a block), not a
    parse; where a line starts otherwise (indented, ``\r\n`` blank lines),
    line by line."""
    if block[:1] == b"{" and not _NOT_AN_OBJECT.search(block):
        return True
    return all(not line.strip() or line.lstrip().startswith(b"{") for line in block.splitlines())
