"""Streaming writers for decoded records: JSON lines, CSV and Parquet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from telsec.signalling.decoder import FIELDS, Record

_INTS = {
    "frame", "opc", "dpc", "return_cause", "calling_ssn", "calling_pc", "calling_gti",
    "calling_tt", "calling_np", "calling_nai", "called_ssn", "called_pc", "called_gti",
    "called_tt", "called_np", "called_nai", "abort_cause", "invoke_id", "linked_id", "opcode",
    "error_code", "command_code", "application_id", "hop_by_hop", "end_to_end", "result_code",
}  # fmt: skip


def jsonl_line(record: Record) -> bytes:
    """A record as a JSON line, without its empty fields."""
    line: bytes = orjson.dumps(
        {k: v for k, v in record.items() if v is not None}, option=orjson.OPT_APPEND_NEWLINE
    )
    return line


def write_jsonl(records: Iterable[Record], handle: IO[bytes]) -> int:
    count = 0
    for record in records:
        handle.write(jsonl_line(record))
        count += 1
    return count


def csv_writer(handle: IO[str]) -> csv.DictWriter[str]:
    """A CSV writer of records (one column per field of :data:`FIELDS`), no header yet."""
    return csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")


def write_csv(records: Iterable[Record], handle: IO[str], header: bool = True) -> int:
    writer = csv_writer(handle)
    if header:
        writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(record)
        count += 1
    return count


def parquet_schema() -> Any:
    import pyarrow as pa

    def kind(name: str) -> Any:
        if name in _INTS:
            return pa.int64()
        if name == "time":
            return pa.float64()
        if name == "is_request":
            return pa.bool_()
        return pa.string()

    return pa.schema([(name, kind(name)) for name in FIELDS])


def arrow_table(records: list[Record]) -> Any:
    """Records as an Arrow table of :func:`parquet_schema`."""
    import pyarrow as pa

    return pa.Table.from_pylist(records, schema=parquet_schema())


def write_parquet(records: Iterable[Record], sink: Any, batch: int = 50_000) -> int:
    """Row groups of ``batch`` records, so memory stays bounded."""
    return write_parquet_tables(_tables_of(records, batch), sink)


def _tables_of(records: Iterable[Record], batch: int) -> Iterator[Any]:
    rows: list[Record] = []
    for record in records:
        rows.append(record)
        if len(rows) >= batch:
            yield arrow_table(rows)
            rows = []
    if rows:
        yield arrow_table(rows)


def write_parquet_tables(tables: Iterable[Any], sink: Any) -> int:
    """Arrow tables of :func:`parquet_schema` as the row groups of one Parquet file
    (one empty row group if there are none)."""
    import pyarrow.parquet as pq

    count = 0
    written = False
    with pq.ParquetWriter(sink, parquet_schema()) as writer:
        for table in tables:
            if table.num_rows or not written:
                writer.write_table(table)
                written = True
            count += table.num_rows
        if not written:
            writer.write_table(arrow_table([]))
    return count
