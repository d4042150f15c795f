"""Streaming readers for pcap and pcapng capture files.

They yield one :class:`Packet` per captured frame, numbered from 1 exactly as
Wireshark numbers frames, reading the file in blocks so that memory stays
bounded whatever the capture size.  A damaged file ends the stream with a
:class:`CaptureError` that says where and why; what was read before stays
good.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PCAP_MAGIC_US = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}
PCAP_MAGIC_NS = {b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
#: A pcapng section header's byte-order magic, and the byte order it names.
PCAPNG_BYTE_ORDER = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
#: Larger records than this are not frames but a corrupt length field.
MAX_FRAME = 262_144
_BLOCK = 1 << 20


class CaptureError(ValueError):
    """The capture file is not a pcap/pcapng file, or is damaged."""


@dataclass(slots=True)
class Packet:
    frame: int
    #: Seconds since the Unix epoch.
    time: float
    linktype: int
    data: bytes
    #: Why this record holds no frame to read (the file goes on past it), or None.
    error: str | None = None


#: A packet block whose own fields are wrong (its length, which delimits it, is not).
_BAD_BLOCK = "pcapng packet block too short, or with a missing interface or an overrun"


def open_capture(path: str | Path) -> Iterator[Packet]:
    """Every packet of a pcap or pcapng file, in file order."""
    return read_capture(open(path, "rb"))


def read_capture(handle: BinaryIO, first_frame: int = 1) -> Iterator[Packet]:
    """Every packet of a pcap or pcapng stream (closed at the end), numbered from
    ``first_frame`` (a later part of a file, behind a copy of its header)."""
    with handle:
        magic = handle.read(4)
        if magic == PCAPNG_SHB:
            yield from _read_pcapng(handle, magic, first_frame - 1)
        elif magic in PCAP_MAGIC_US or magic in PCAP_MAGIC_NS:
            yield from _read_pcap(handle, magic, first_frame - 1)
        else:
            raise CaptureError(_not_a_capture(magic))


def _not_a_capture(magic: bytes) -> str:
    if len(magic) < 4:
        return "empty or truncated file: no capture header"
    return f"not a pcap or pcapng file (magic {magic.hex()})"


def capture_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a capture at all (it cannot be opened, or
    does not start as a pcap or pcapng file), or None: a check of its first
    bytes, before a long run over several files."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    if magic == PCAPNG_SHB or magic in PCAP_MAGIC_US or magic in PCAP_MAGIC_NS:
        return None
    return _not_a_capture(magic)


class _Buffer:
    """A growing window over a file, refilled in large blocks."""

    __slots__ = ("data", "eof", "handle", "pos")

    def __init__(self, handle: BinaryIO, head: bytes = b"") -> None:
        self.handle = handle
        self.data = head
        self.pos = 0
        self.eof = False

    def ensure(self, count: int) -> bool:
        """Make ``count`` bytes available from ``pos``; False at end of file."""
        while len(self.data) - self.pos < count:
            if self.eof:
                return False
            more = self.handle.read(max(_BLOCK, count))
            if not more:
                self.eof = True
                return len(self.data) - self.pos >= count
            self.data = self.data[self.pos :] + more
            self.pos = 0
        return True

    def remaining(self) -> int:
        return len(self.data) - self.pos


def _read_pcap(handle: BinaryIO, magic: bytes, frame: int) -> Iterator[Packet]:
    endian = PCAP_MAGIC_US.get(magic) or PCAP_MAGIC_NS[magic]
    divisor = 1e6 if magic in PCAP_MAGIC_US else 1e9
    buf = _Buffer(handle, magic)
    if not buf.ensure(24):
        raise CaptureError("truncated pcap file header")
    linktype = struct.unpack_from(endian + "I", buf.data, buf.pos + 20)[0] & 0x0FFFFFFF
    buf.pos += 24
    record = struct.Struct(endian + "IIII")
    while buf.ensure(16):
        seconds, fraction, incl_len, _orig = record.unpack_from(buf.data, buf.pos)
        if incl_len > MAX_FRAME:
            raise CaptureError(
                f"frame {frame + 1}: record length {incl_len} is impossible; file damaged"
            )
        if not buf.ensure(16 + incl_len):
            raise CaptureError(f"frame {frame + 1}: truncated record (file cut short)")
        start = buf.pos + 16
        frame += 1
        buf.pos = start + incl_len
        yield Packet(frame, seconds + fraction / divisor, linktype, buf.data[start : buf.pos])
    if buf.remaining():
        raise CaptureError(f"frame {frame + 1}: truncated record header (file cut short)")


def _read_pcapng(handle: BinaryIO, magic: bytes, frame: int) -> Iterator[Packet]:
    buf = _Buffer(handle, magic)
    endian = "<"
    interfaces: list[tuple[int, float]] = []  # (linktype, seconds per tick)
    while buf.ensure(12):
        head = buf.data[buf.pos : buf.pos + 12]
        if head[:4] == PCAPNG_SHB:
            endian = _byte_order(head[8:12])
            interfaces = []  # interface ids are per section
        block_type, length = struct.unpack_from(endian + "II", head)
        if length < 12 or length % 4 or length > MAX_FRAME + 1024:
            raise CaptureError(f"pcapng block of length {length} after frame {frame}; damaged")
        if not buf.ensure(length):
            raise CaptureError(f"truncated pcapng block after frame {frame} (file cut short)")
        body = buf.data[buf.pos + 8 : buf.pos + length - 4]
        buf.pos += length
        if block_type == 1:  # interface description
            interfaces.append(_interface(body, endian))
        elif block_type in (6, 2):  # enhanced packet, obsolete packet
            frame += 1
            if len(body) < 20:
                yield Packet(frame, 0.0, -1, b"", _BAD_BLOCK)
                continue
            if block_type == 6:
                iface, high, low, caplen = struct.unpack_from(endian + "IIII", body)
            else:
                iface, high, low, caplen = struct.unpack_from(endian + "HxxIII", body)
            if iface >= len(interfaces) or 20 + caplen > len(body):
                yield Packet(frame, 0.0, -1, b"", _BAD_BLOCK)
                continue
            linktype, tick = interfaces[iface]
            yield Packet(frame, ((high << 32) | low) * tick, linktype, body[20 : 20 + caplen])
        elif block_type == 3:  # simple packet: no timestamp, interface 0
            frame += 1
            if not interfaces or len(body) < 4:
                yield Packet(frame, 0.0, -1, b"", _BAD_BLOCK)
                continue
            (orig_len,) = struct.unpack_from(endian + "I", body)
            caplen = min(orig_len, len(body) - 4)
            yield Packet(frame, 0.0, interfaces[0][0], body[4 : 4 + caplen])
    if buf.remaining():
        raise CaptureError(f"truncated pcapng block after frame {frame} (file cut short)")


def pcapng_section(header: bytes) -> tuple[str, list[tuple[int, float]]]:
    """Byte order and interfaces ``(linktype, seconds per tick)`` of the pcapng
    section whose header blocks (section header, interface descriptions) these are."""
    endian = "<"
    interfaces: list[tuple[int, float]] = []
    pos = 0
    while pos + 12 <= len(header):
        if header[pos : pos + 4] == PCAPNG_SHB:
            endian = _byte_order(header[pos + 8 : pos + 12])
            interfaces = []
        block_type, length = struct.unpack_from(endian + "II", header, pos)
        if length < 12 or length % 4 or pos + length > len(header):
            raise CaptureError("damaged pcapng section header")
        if block_type == 1:
            interfaces.append(_interface(header[pos + 8 : pos + length - 4], endian))
        pos += length
    return endian, interfaces


def _byte_order(magic: bytes) -> str:
    endian = PCAPNG_BYTE_ORDER.get(magic)
    if endian is None:
        raise CaptureError("pcapng section header with an unknown byte order")
    return endian


def _interface(body: bytes, endian: str) -> tuple[int, float]:
    if len(body) < 8:
        raise CaptureError("truncated pcapng interface description")
    linktype = struct.unpack_from(endian + "H", body)[0]
    tick = 1e-6
    pos = 8
    while pos + 4 <= len(body):
        code, size = struct.unpack_from(endian + "HH", body, pos)
        if code == 0:
            break
        if code == 9 and size >= 1 and pos + 5 <= len(body):  # if_tsresol
            resolution = body[pos + 4]
            tick = 2.0 ** -(resolution & 0x7F) if resolution & 0x80 else 10.0**-resolution
        pos += 4 + (size + 3) // 4 * 4
    return linktype, tick
