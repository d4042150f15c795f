"""The compiled fast path against the reference decoder, frame by frame.

The reference decoder is the one checked against tshark (test_tshark.py).  The
fast path must give the same rows for every frame it accepts, hand back every
frame it does not, and never crash: on the shared and generated captures, on
the same traffic in every link layer and file format it reads, and on
mutated and random frames.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telsec.packets.capture import Packet
from telsec.signalling._fastpath import Interner, RowBuffer, decode_frame
from telsec.signalling.batch import Batch, add_record, decode_chunk, resolved
from telsec.signalling.decoder import DecodeStats, decode_file, decode_packet
from telsec.signalling.generate import write_capture
from telsec.signalling.pipeline import chunks

from .conftest import SHARED_CAPTURES


def _reference(path: Path) -> tuple[list[dict], DecodeStats]:
    stats, strings, rows = DecodeStats(), Interner(), RowBuffer()
    for record in decode_file(path, stats):
        add_record(rows, strings, record)
    return resolved(Batch(rows.array(), strings.strings, stats)), stats


def _fast(path: Path) -> Batch:
    """The file as the scan decodes it: cut by the chunker (here into one chunk)."""
    (chunk,) = chunks([path], target=1 << 40)
    return decode_chunk(chunk.path, chunk.header, chunk.start, chunk.end, chunk.first_frame)


def _same(path: Path) -> Batch:
    """Decode ``path`` both ways; they must agree row by row and on every counter."""
    batch = _fast(path)
    expected, stats = _reference(path)
    got = resolved(batch)
    assert len(got) == len(expected)
    for fast_row, reference_row in zip(got, expected, strict=True):
        assert fast_row == reference_row
    assert batch.stats.as_dict() == stats.as_dict()
    return batch


# -- captures -------------------------------------------------------------------------


def _records(raw: bytes) -> list[tuple[int, int, bytes]]:
    """(seconds, microseconds, frame) of a little-endian pcap file."""
    out, pos = [], 24
    while pos < len(raw):
        seconds, micros, size, _ = struct.unpack_from("<IIII", raw, pos)
        out.append((seconds, micros, raw[pos + 16 : pos + 16 + size]))
        pos += 16 + size
    return out


def _pcap(records: list[tuple[int, int, bytes]], linktype: int, endian: str = "<",
          nanoseconds: bool = False) -> bytes:  # fmt: skip
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)]
    for seconds, micros, frame in records:
        fraction = micros * 1000 if nanoseconds else micros
        out.append(struct.pack(endian + "IIII", seconds, fraction, len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def _pcapng(records: list[tuple[int, int, bytes]], linktype: int) -> bytes:
    def block(kind: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    out.append(block(1, struct.pack("<HHI", linktype, 0, 65535)))
    for seconds, micros, frame in records:
        ticks = seconds * 1_000_000 + micros
        head = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame))
        out.append(block(6, head + frame))
    return b"".join(out)


def _ipv6(packet: bytes) -> bytes:
    """The IPv4 packet's payload in an IPv6 packet (with a hop-by-hop header)."""
    header = (packet[0] & 0x0F) * 4
    payload = packet[header:]
    hop_by_hop = bytes([132, 0]) + b"\x01\x04\0\0\0\0"  # next: SCTP, PadN
    return (
        bytes([0x60, 0, 0, 0])
        + struct.pack(">HBB", len(hop_by_hop) + len(payload), 0, 64)
        + bytes(15) + b"\x01" + bytes(15) + b"\x02"
        + hop_by_hop + payload
    )  # fmt: skip


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    folder = tmp_path_factory.mktemp("fast")
    pcap = folder / "all.pcap"
    with pcap.open("wb") as out:
        write_capture(out, io.BytesIO(), "all", 2000, seed=11)
    return pcap, _records(pcap.read_bytes())


def test_generated_capture_is_decoded_alike_and_mostly_by_the_fast_path(generated) -> None:
    pcap, _ = generated
    batch = _same(pcap)
    assert batch.stats.frames == 2000
    assert batch.declined == 0  # generated traffic is all plain: none is handed back
    assert {row["protocol"] for row in resolved(batch)} == {1, 2}


# The SIGTRAN capture's dialogues are CAP (initialDP), cut short, between management
# and SCTP control frames: the fast path hands every frame back.  The Diameter one
# has 4 messages over SCTP, which it decodes, and 4 over TCP, which it hands back.
@pytest.mark.parametrize(
    ("name", "fast_frames"),
    [("arkime-m3ua-synthetic.pcap", 0), ("arkime-diameter-synthetic.pcap", 4)],
)
def test_shared_captures_are_decoded_alike(name: str, fast_frames: int) -> None:
    path = SHARED_CAPTURES / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    batch = _same(path)
    assert batch.stats.frames - batch.declined == fast_frames


@pytest.mark.parametrize(
    "layout",
    ["sll", "sll2", "raw", "vlan", "null", "ipv6", "big-endian", "nanoseconds", "pcapng"],
)
def test_every_layout_is_decoded_alike(layout: str, generated, tmp_path: Path) -> None:
    _, records = generated
    records = records[:300]
    ip = [(s, u, frame[14:]) for s, u, frame in records]
    linktype, endian, nanoseconds = 1, "<", False
    if layout == "sll":
        linktype = 113
        framed = [(s, u, bytes(14) + b"\x08\x00" + p) for s, u, p in ip]
    elif layout == "sll2":
        linktype = 276
        framed = [(s, u, b"\x08\x00" + bytes(18) + p) for s, u, p in ip]
    elif layout == "raw":
        linktype, framed = 101, ip
    elif layout == "null":
        linktype = 0
        framed = [(s, u, b"\x02\0\0\0" + p) for s, u, p in ip]
    elif layout == "vlan":
        framed = [(s, u, f[:12] + b"\x81\x00\x00\x07" + f[12:]) for s, u, f in records]
    elif layout == "ipv6":
        framed = [(s, u, bytes(12) + b"\x86\xdd" + _ipv6(p)) for s, u, p in ip]
    else:
        framed = records
        endian = ">" if layout == "big-endian" else "<"
        nanoseconds = layout == "nanoseconds"
    path = tmp_path / f"{layout}.pcap"
    if layout == "pcapng":
        path.write_bytes(_pcapng(framed, linktype))
    else:
        path.write_bytes(_pcap(framed, linktype, endian, nanoseconds))
    batch = _same(path)
    assert batch.stats.frames == 300
    assert batch.declined == 0


def test_a_damaged_file_is_reported_as_the_reference_reports_it(generated, tmp_path) -> None:
    pcap, _ = generated
    raw = pcap.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[: len(raw) // 2 + 7])
    batch = _same(cut)
    assert batch.stats.file_errors


# -- frame by frame -------------------------------------------------------------------


def _one_frame(data: bytes, linktype: int) -> tuple[bool, list[dict], list[dict], DecodeStats]:
    strings, rows = Interner(), RowBuffer()
    accepted = decode_frame(data, linktype, 1, 0.0, strings, rows)
    fast = resolved(Batch(rows.array(), strings.strings, DecodeStats()))
    stats, ref_strings, ref_rows = DecodeStats(), Interner(), RowBuffer()
    for record in decode_packet(Packet(1, 0.0, linktype, data), stats):
        add_record(ref_rows, ref_strings, record)
    reference = resolved(Batch(ref_rows.array(), ref_strings.strings, stats))
    return accepted, fast, reference, stats


def _check(data: bytes, linktype: int) -> bool:
    accepted, fast, reference, stats = _one_frame(data, linktype)
    if accepted:
        # accepted only when the reference decodes the whole frame, to the same rows
        assert not stats.skipped
        assert fast == reference
    else:
        assert fast == []
    return accepted


def test_each_generated_frame_alone(generated) -> None:
    _, records = generated
    assert all(_check(frame, 1) for _, _, frame in records[:500])


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_mutated_frames_are_decoded_alike_or_handed_back(generated, data) -> None:
    _, records = generated
    frame = bytearray(data.draw(st.sampled_from(records[:400]))[2])
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        at = data.draw(st.integers(14, len(frame) - 1))
        if action == "set":
            frame[at] = data.draw(st.integers(0, 255))
        elif action == "insert":
            frame[at:at] = bytes([data.draw(st.integers(0, 255))])
        else:
            del frame[at]
    if data.draw(st.booleans()):
        frame = frame[: data.draw(st.integers(0, len(frame)))]
    _check(bytes(frame), 1)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([1, 101, 113, 276, 0, 228, 229, 147]))
def test_random_frames_are_handed_back_or_decoded_alike(data: bytes, linktype: int) -> None:
    _check(data, linktype)


# -- the helpers ----------------------------------------------------------------------


def test_a_string_has_one_id_whichever_way_it_came(generated) -> None:
    """The rules compare GTs by id (node address against calling GT) and group by id:
    a string decoded in C and the same text from a record of the reference decoder
    must get the same id."""
    _, records = generated
    strings, rows = Interner(), RowBuffer()
    for number, (_, _, frame) in enumerate(records[:50], 1):
        assert decode_frame(frame, 1, number, 0.0, strings, rows)
    table = rows.array()
    for name in ("calling_gt", "called_gt", "imsi", "msisdn", "origin_realm"):
        for index in {int(i) for i in table[name] if i >= 0}:
            assert strings.text(strings.strings[index]) == index
    assert len(set(strings.strings)) == len(strings.strings)
    # texts that are not digit strings, or too long for a packed key, go through a dict
    ids = [strings.text(t) for t in ("abc", "", "1" * 16, "abc", "", "1" * 16)]
    assert ids[:3] == ids[3:] and len(set(ids)) == 3


def _walk_file(sizes: list[int], endian: str) -> bytes:
    return b"".join(struct.pack(endian + "IIII", 1, 0, size, size) + bytes(size) for size in sizes)


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcap_walk_cuts_at_record_boundaries(endian: str) -> None:
    from telsec.signalling._fastpath import pcap_walk

    data = _walk_file([10, 20, 30, 40], endian)
    big = endian == ">"
    assert pcap_walk(data, big, 1, False) == (26, 1, False)  # the first boundary past 1
    assert pcap_walk(data, big, 27, False) == (62, 2, False)
    assert pcap_walk(data, big, 10**9, False) == (len(data), 4, False)
    # a record running past the block: left for the next block, or walked over at the end
    assert pcap_walk(data[:-5], big, 10**9, False) == (108, 3, False)
    assert pcap_walk(data[:-5], big, 10**9, True) == (len(data), 4, False)
    # an impossible length: stop before it
    damaged = data[:62] + struct.pack(endian + "IIII", 1, 0, 1 << 30, 0) + bytes(8)
    assert pcap_walk(damaged, big, 10**9, True) == (62, 2, True)
