"""Decoded signalling as rows of columns: what screening reads, at speed.

A :class:`Batch` holds one row per TCAP component or Diameter message of a
run of frames, as a NumPy structured array (:data:`ROW_FIELDS`), with every
string (GT, IMSI, MSISDN, node address, realm, PLMN) replaced by its index in
``strings``.  Rows carry the fields the screening rules use: the MAP
parameters of operations (Invokes) and the AVPs of every Diameter message.

:func:`decode_chunk` fills a batch with the compiled fast path
(:mod:`._fastpath`) and hands every frame it declines, in frame order, to the
reference decoder (:mod:`.decoder`), whose records become rows through
:func:`add_record`.  The two give the same rows for every frame the fast path
accepts (``tests/signalling/test_fastpath.py``), so a batch does not depend on
which of them decoded a frame.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from telsec.packets.capture import (
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAPNG_SHB,
    CaptureError,
    Packet,
    pcapng_section,
    read_capture,
)
from telsec.signalling import _fastpath
from telsec.signalling._fastpath import ROW_DTYPE, ROW_FIELDS, Interner, RowBuffer
from telsec.signalling.decoder import DecodeStats, Record, decode_packet
from telsec.signalling.transport import SctpReassembly

__all__ = [
    "ROW_DTYPE", "ROW_FIELDS", "Batch", "add_record", "batch_of", "decode_chunk", "decode_region",
    "read_region",
]  # fmt: skip

#: ``protocol`` column values.
MAP, DIAMETER, OTHER = 1, 2, 3
_PROTOCOLS = {"map": MAP, "diameter": DIAMETER}
#: String columns (ids into ``Batch.strings``, -1 for none).
STRING_FIELDS = (
    "calling_gt", "called_gt", "imsi", "msisdn", "vlr_number", "msc_number", "service_centre",
    "origin_realm", "visited_plmn",
)  # fmt: skip
_MAP_PARAMETERS = ("imsi", "msisdn", "vlr_number", "msc_number", "service_centre")


@dataclass
class Batch:
    rows: np.ndarray
    strings: list[str]
    stats: DecodeStats
    #: Frames the fast path handed to the reference decoder.
    declined: int = 0

    def text(self, index: int) -> str | None:
        return None if index < 0 else self.strings[index]


def resolved(batch: Batch) -> list[dict[str, Any]]:
    """The rows as dicts, strings in place of their ids (for tests and debugging)."""
    out = []
    for values in batch.rows.tolist():
        row = dict(zip(ROW_FIELDS, values, strict=True))
        for name in STRING_FIELDS:
            row[name] = batch.text(row[name])
        out.append(row)
    return out


def _int(value: Any) -> int:
    return -1 if value is None else int(value)


def add_record(rows: RowBuffer, strings: Interner, record: Record) -> None:
    """One record of the reference decoder as a row."""
    protocol = _PROTOCOLS.get(record.get("protocol") or "", OTHER)

    def text(name: str) -> int:
        value = record.get(name)
        return -1 if value is None else strings.text(value)

    if protocol == MAP:
        operation = record.get("component") == "invoke"
        names = _MAP_PARAMETERS if operation else ()
        imsi, msisdn, vlr, msc, centre = (text(n) if n in names else -1 for n in _MAP_PARAMETERS)
        realm = plmn = -1
    else:
        operation = protocol == DIAMETER and bool(record.get("is_request"))
        imsi = text("imsi") if protocol == DIAMETER else -1
        msisdn = vlr = msc = centre = -1
        realm, plmn = text("origin_realm"), text("visited_plmn")
    rows.add(
        record["frame"],
        record["time"],
        protocol,
        operation,
        _int(record.get("opc")),
        _int(record.get("opcode")) if protocol == MAP else -1,
        _int(record.get("command_code")) if protocol == DIAMETER else -1,
        text("calling_gt"),
        text("called_gt"),
        imsi,
        msisdn,
        vlr,
        msc,
        centre,
        realm,
        plmn,
    )


def batch_of(records: Iterable[Record]) -> Batch:
    """Records of the reference decoder as a batch."""
    strings, rows = Interner(), RowBuffer()
    for record in records:
        add_record(rows, strings, record)
    return Batch(rows.array(), strings.strings, DecodeStats())


class _Reference:
    """The reference decoder for the frames the fast path declines."""

    def __init__(self, rows: RowBuffer, strings: Interner) -> None:
        self.rows = rows
        self.strings = strings
        self.stats = DecodeStats()
        self.reassembly = SctpReassembly()
        self.frames = 0

    def packet(self, packet: Packet) -> None:
        self.frames += 1
        for record in decode_packet(packet, self.stats, self.reassembly):
            add_record(self.rows, self.strings, record)

    def packets(self, packets: Iterable[Packet], name: str) -> None:
        try:
            for packet in packets:
                self.packet(packet)
        except CaptureError as exc:
            self.stats.file_errors.append(f"{name}: {exc}")


def decode_region(header: bytes, body: bytes, first_frame: int, name: str) -> Batch:
    """Decode frames of a capture: its header (pcap file header, or pcapng
    section and interface blocks) and a run of whole records after it."""
    strings = Interner()
    rows = RowBuffer(len(body) // 150 + 64)
    reference = _Reference(rows, strings)
    magic = header[:4]

    def decline(frame: int, time: float, start: int, end: int, linktype: int) -> None:
        reference.packet(Packet(frame, time, linktype, body[start:end]))

    frames = stop = 0
    capture = True
    if len(header) >= 24 and magic in (*PCAP_MAGIC_US, *PCAP_MAGIC_NS):
        endian = PCAP_MAGIC_US.get(magic) or PCAP_MAGIC_NS[magic]
        linktype = struct.unpack_from(endian + "I", header, 20)[0] & 0x0FFFFFFF
        frames, stop = _fastpath.decode_pcap(
            body, endian == ">", magic in PCAP_MAGIC_NS, linktype, first_frame, strings, rows,
            decline,
        )  # fmt: skip
    elif magic == PCAPNG_SHB:
        try:
            endian, interfaces = pcapng_section(header)
        except CaptureError:  # the reference reader says what is wrong
            endian, interfaces = "<", []
        frames, stop = _fastpath.decode_pcapng(
            body, endian == ">", interfaces, first_frame, strings, rows, decline
        )
    else:
        capture = False
    fast_frames = frames - reference.frames
    if stop < len(body) or not capture:
        # the rest is damaged, another kind of pcapng block, or not a capture at
        # all: the reference reader takes it from there and says what it is
        rest = io.BytesIO(header + body[stop:])
        reference.packets(read_capture(rest, first_frame + frames), name)
    stats = reference.stats
    stats.frames += fast_frames
    stats.records = len(rows)
    return Batch(rows.array(), strings.strings, stats, reference.frames)


def read_region(path: str | Path, start: int, end: int, stats: DecodeStats) -> bytes | None:
    """The bytes at [start, end) of a capture file; None (the error in ``stats``)
    if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)
    except OSError as exc:
        stats.file_errors.append(f"{path}: {exc.strerror or exc}")
        return None


def decode_chunk(path: str | Path, header: bytes, start: int, end: int, first_frame: int) -> Batch:
    """Decode the records at [start, end) of a capture file (see :mod:`.pipeline`)."""
    stats = DecodeStats()
    body = read_region(path, start, end, stats)
    if body is None:
        return Batch(np.empty(0, dtype=ROW_DTYPE), [], stats)
    return decode_region(header, body, first_frame, str(path))
