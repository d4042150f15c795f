"""Spam and scam reports: the documented columns, the CSV and JSONL readers, and
the enrichment every report gets on ingest.

A report file holds one report per row (CSV with a header) or per line (JSONL).
Columns, with the other names accepted for them:

====================  =================================================================
``reporter``          the customer who forwarded it (``reporter_msisdn``, ``msisdn``);
                      pseudonymised on ingest, never stored as given
``reporting_network`` the operator that received the report (``network``, ``operator``)
``reported_at``       when it was reported: ISO 8601 or epoch seconds (``reported``)
``body``              the message text (``message``, ``text``)
``sender``            the claimed sender: E.164 number, short code or alphanumeric ID
                      (``from``, ``claimed_sender``, ``originator``)
``received_at``       when the customer received it (optional; else ``reported_at``)
``lat``, ``lon``      where it was received (optional; ``latitude``, ``longitude``)
``originating_gt``    the SMSC / Global Title it came from, if the network knows it
                      (optional; ``smsc``, ``gt``)
``region``            ISO 3166 country for reading national numbers (optional; else
                      the reporter's number's country, else the ``region`` given)
====================  =================================================================

Rows are kept with a flag when something is wrong but the rest is useful:
``empty-body``, ``binary`` (mostly unprintable), ``truncated`` (body over
``MAX_BODY`` characters), ``bad-sender`` (not a number, short code or ID),
``no-location`` is not a flag (most reports have none). Rows are rejected, with
the reason counted, when they carry no time or nothing at all.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
import polars as pl

from telsec.fraud.extract import SHORTENERS, classify_sender, clean_text, link_of, scan
from telsec.rejections import Rejections, json_objects

MAX_BODY = 4096
#: A line longer than this is not a report (a 10 MB "message" is cut to MAX_BODY
#: first if it fits; beyond this the line is dropped and counted).
MAX_LINE = 32 << 20
_FRAME_ROWS = 50_000
ALIASES = {
    "reporter_msisdn": "reporter",
    "msisdn": "reporter",
    "network": "reporting_network",
    "operator": "reporting_network",
    "reported": "reported_at",
    "message": "body",
    "text": "body",
    "from": "sender",
    "claimed_sender": "sender",
    "originator": "sender",
    "received": "received_at",
    "latitude": "lat",
    "longitude": "lon",
    "smsc": "originating_gt",
    "gt": "originating_gt",
}
FORMATS = ("csv", "jsonl")

#: The columns of an ingested report (what ``telsec fraud ingest`` writes).
REPORT_SCHEMA: dict[str, pl.DataType] = {
    "report_id": pl.String(),
    "reporter": pl.String(),
    "reporting_network": pl.String(),
    "reported_at": pl.Float64(),
    "received_at": pl.Float64(),
    "body": pl.String(),
    "sender": pl.String(),
    "sender_kind": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "originating_gt": pl.String(),
    "urls": pl.List(pl.String()),
    "domains": pl.List(pl.String()),
    #: the IP addresses of the links that have no domain
    "ip_addresses": pl.List(pl.String()),
    "shorteners": pl.List(pl.String()),
    "callbacks": pl.List(pl.String()),
    "emails": pl.List(pl.String()),
    "template": pl.String(),
    "flags": pl.List(pl.String()),
}


def _arrow_types() -> dict[str, Any]:
    import pyarrow as pa

    def arrow(dtype: pl.DataType) -> Any:
        if isinstance(dtype, pl.List):
            return pa.list_(pa.string())
        return pa.float64() if dtype == pl.Float64 else pa.string()

    return {name: arrow(dtype) for name, dtype in REPORT_SCHEMA.items()}


_ARROW = _arrow_types()


class ReaderError(ValueError):
    """The file cannot be read at all."""


def detect_format(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(b"{"):
        return "jsonl"
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    names = {ALIASES.get(c.strip(), c.strip()) for c in first.split(",")}
    if "body" in names or path.suffix.lower() == ".csv":
        return "csv"
    raise ReaderError(f"{path}: neither CSV with a header nor JSON lines; give --input-format")


def raw_lines(path: Path, counts: Rejections) -> Iterator[bytes]:
    """The file's lines as bytes; a line over ``MAX_LINE`` is skipped (counted)
    without ever being held whole."""
    with path.open("rb") as handle:
        while raw := handle.readline(MAX_LINE + 1):
            if len(raw) > MAX_LINE:
                while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                counts.read += 1
                counts.add("line over 32 MiB")
                continue
            yield raw


def decode(raw: bytes, counts: Rejections) -> str:
    """UTF-8, or Windows-1252 for a line that is not (counted)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        counts.notes["lines not in UTF-8, read as Windows-1252"] += 1
        return raw.decode("cp1252", "replace")


def _lines(path: Path, counts: Rejections) -> Iterator[str]:
    """Decoded lines (see :func:`raw_lines`, :func:`decode`)."""
    for raw in raw_lines(path, counts):
        yield decode(raw, counts)


def csv_rows(path: Path, counts: Rejections) -> Iterator[dict[str, Any]]:
    """Raw rows of a CSV file with a header, names mapped through :data:`ALIASES`."""
    csv.field_size_limit(MAX_LINE)
    reader = csv.reader(_lines(path, counts))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise ReaderError(f"{path}: not CSV: {exc}") from None
    names = [ALIASES.get(h.strip().lstrip("\ufeff").lower(), h.strip().lstrip("\ufeff").lower())
             for h in header]  # fmt: skip
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            counts.read += 1
            counts.add("malformed CSV line")
            continue
        if not any(v.strip() for v in values):
            continue
        yield dict(zip(names, values, strict=False))


def jsonl_rows(lines: Iterable[str], counts: Rejections) -> Iterator[dict[str, Any]]:
    """Raw rows of JSON lines, names mapped through :data:`ALIASES`."""
    for row in json_objects(lines, counts):
        yield {ALIASES.get(str(k).lower(), str(k).lower()): v for k, v in row.items()}


def _time(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            if parsed.tzinfo is None:
                return None  # a time without a zone cannot be placed
            seconds = parsed.timestamp()
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    return seconds if 946684800 <= seconds <= 4102444800 else None  # 2000-2100


def _float(value: Any, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _region_of(number: str) -> str | None:
    """The main country of an international number's country code (``+44`` -> GB)."""
    digits = number.lstrip("+")
    for width in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:width] or 0))
        if regions and digits[:width].isdigit():
            return str(regions[0])
    return None


def _mostly_unprintable(text: str) -> bool:
    if text.isprintable():
        return False
    odd = sum(1 for c in text if (not c.isprintable() and c not in "\n\t\r") or c == "\ufffd")
    return bool(text) and odd > len(text) // 4


@dataclass
class Ingest:
    """Turns raw rows into report rows; holds the pseudonymiser and the counts."""

    pseudonymise: Any
    default_region: str | None = None
    counts: Rejections = field(default_factory=Rejections)

    def row(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        self.counts.read += 1
        flags: list[str] = []
        reported = _time(raw.get("reported_at"))
        received = _time(raw.get("received_at"))
        if reported is None and received is None:
            self.counts.add("no valid reported_at or received_at")
            return None
        given = _text(raw.get("body"))
        body = clean_text(given[: MAX_BODY + 64])
        if len(given) > MAX_BODY:
            body = body[:MAX_BODY]
            flags.append("truncated")
        if _mostly_unprintable(given[:1000]):
            flags.append("binary")
        if not body.strip():
            flags.append("empty-body")
        reporter_raw = _text(raw.get("reporter")).strip()
        region = _text(raw.get("region")).strip().upper() or None
        if region is None and reporter_raw.startswith("+"):
            region = _region_of(reporter_raw)
        region = region or self.default_region
        sender = classify_sender(_text(raw.get("sender"))[:64], region)
        if sender.kind == "unknown" and sender.value:
            flags.append("bad-sender")
        found = scan(body, region)
        gt = "".join(c for c in _text(raw.get("originating_gt")) if c.isdigit())[:15] or None
        reporter = self.pseudonymise("msisdn", reporter_raw) if reporter_raw else None
        lat, lon = _float(raw.get("lat"), -90, 90), _float(raw.get("lon"), -180, 180)
        if lat is None or lon is None:
            lat = lon = None
        row_id = _text(raw.get("report_id")).strip()[:64]
        if not row_id:
            digest = hashlib.blake2b(
                f"{reporter}|{reported}|{body}|{sender.value}".encode(), digest_size=12
            )
            row_id = digest.hexdigest()
        return {
            "report_id": row_id,
            "reporter": reporter,
            "reporting_network": _text(raw.get("reporting_network")).strip()[:64] or None,
            "reported_at": reported if reported is not None else received,
            "received_at": received if received is not None else reported,
            "body": body,
            "sender": sender.value or None,
            "sender_kind": sender.kind,
            "lat": lat,
            "lon": lon,
            "originating_gt": gt,
            "urls": found.urls,
            # a shortener is everyone's domain: kept apart, its URLs stay in urls
            "domains": [d for d in found.domains if d not in SHORTENERS],
            "ip_addresses": found.ip_addresses,
            "shorteners": [d for d in found.domains if d in SHORTENERS],
            "callbacks": found.callbacks,
            "emails": found.emails,
            "template": found.template,
            "flags": flags,
        }


def link_addresses(urls: Iterable[str] | None) -> list[str]:
    """The IP addresses that the links among ``urls`` without a domain point at,
    sorted, once each (the ``ip_addresses`` that ingest keeps)."""
    found = {link[1] for link in map(link_of, urls or ()) if link is not None and link[1]}
    return sorted(found)


def read_reports(path: Path, ingest: Ingest, input_format: str | None = None) -> pl.DataFrame:
    """The reports of one file, enriched; bad rows counted in ``ingest.counts``."""
    kind = input_format or detect_format(path)
    if kind not in FORMATS:
        raise ReaderError(f"unknown input format {kind!r}: {', '.join(FORMATS)}")
    counts = ingest.counts
    rows = csv_rows(path, counts) if kind == "csv" else jsonl_rows(_lines(path, counts), counts)
    try:
        return ingest_rows(rows, ingest)
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None


def ingest_rows(rows: Iterable[dict[str, Any]], ingest: Ingest) -> pl.DataFrame:
    """Raw rows (a reader's, or in memory; named as the documented columns) ingested
    into a frame of :data:`REPORT_SCHEMA`; bad rows counted in ``ingest.counts``."""
    parts: list[pl.DataFrame] = []
    kept: list[dict[str, Any]] = []
    for raw in rows:
        row = ingest.row(raw)
        if row is not None:
            kept.append(row)
        if len(kept) == _FRAME_ROWS:  # as columns: a tenth of the memory of dicts
            parts.append(frame(kept))
            kept = []
    parts.append(frame(kept))
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Report rows as a frame of :data:`REPORT_SCHEMA` (built column by column:
    many times faster than row by row)."""
    import pyarrow as pa

    if not rows:
        return pl.DataFrame(schema=REPORT_SCHEMA)
    table = pa.table(
        {name: pa.array([r[name] for r in rows], type=_ARROW[name]) for name in REPORT_SCHEMA}
    )
    return pl.DataFrame(pl.from_arrow(table)).cast(pl.Schema(REPORT_SCHEMA))
