"""Streaming writers for decoded records: JSON lines, CSV and Parquet."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

import orjson

from telsec.signalling.decoder import FIELDS, Record

_INTS = {
    "frame", "opc", "dpc", "return_cause", "calling_ssn", "calling_pc", "calling_gti",
    "calling_tt", "calling_np", "calling_nai", "called_ssn", "called_pc", "called_gti",
    "called_tt", "called_np", "called_nai", "abort_cause", "invoke_id", "linked_id", "opcode",
    "error_code", "command_code", "application_id", "hop_by_hop", "end_to_end", "result_code",
}  # fmt: skip


def write_jsonl(records: Iterable[Record], handle: IO[bytes]) -> int:
    count = 0
    for record in records:
        handle.write(orjson.dumps({k: v for k, v in record.items() if v is not None}))
        handle.write(b"\n")
        count += 1
    return count


def write_csv(records: Iterable[Record], handle: IO[str]) -> int:
    writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
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


def write_parquet(records: Iterable[Record], sink: Any, batch: int = 50_000) -> int:
    """Row groups of ``batch`` records, so memory stays bounded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    count = 0
    rows: list[Record] = []
    with pq.ParquetWriter(sink, schema) as writer:
        for record in records:
            rows.append(record)
            if len(rows) >= batch:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count += len(rows)
                rows = []
        if rows or not count:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
    return count
