"""Hostile input: no exception escapes the decoder, and good frames survive bad ones."""

from __future__ import annotations

import io
import struct
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from telsec.packets.capture import Packet
from telsec.signalling.decoder import DecodeStats, decode_file, decode_packet
from telsec.signalling.generate import write_capture


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([1, 101, 113, 276, 0, 228]))
def test_random_frames_never_raise(data: bytes, linktype: int) -> None:
    stats = DecodeStats()
    decode_packet(Packet(1, 0.0, linktype, data), stats)
    assert stats.frames == 1


def _frames(tmp_path) -> list[bytes]:
    pcap = tmp_path / "g.pcap"
    with pcap.open("wb") as out:
        write_capture(out, io.BytesIO(), "all", 40, seed=5)
    raw = pcap.read_bytes()
    frames, pos = [], 24
    while pos < len(raw):
        size = struct.unpack_from("<I", raw, pos + 8)[0]
        frames.append(raw[pos + 16 : pos + 16 + size])
        pos += 16 + size
    return frames


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_messages_never_raise(tmp_path_factory, data) -> None:
    frames = _frames(tmp_path_factory.mktemp("m"))
    frame = bytearray(data.draw(st.sampled_from(frames)))
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(frame) - 1))
        frame[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(frame)))
    stats = DecodeStats()
    decode_packet(
        Packet(1, 0.0, 1, bytes(frame[:cut] if data.draw(st.booleans()) else frame)), stats
    )


def test_a_truncated_file_keeps_every_whole_frame(tmp_path) -> None:
    pcap = tmp_path / "g.pcap"
    with pcap.open("wb") as out:
        write_capture(out, io.BytesIO(), "benign", 50, seed=2)
    raw = pcap.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[: len(raw) - 30])
    stats = DecodeStats()
    records = list(decode_file(cut, stats))
    assert len(records) == 49 and stats.frames == 49
    assert stats.file_errors and "cut short" in stats.file_errors[0]


def test_a_broken_frame_between_good_ones_loses_nothing(tmp_path) -> None:
    good = _frames(tmp_path)[:3]
    stats = DecodeStats()
    out = []
    for i, frame in enumerate([good[0], good[1][:60], good[2]], start=1):
        out += decode_packet(Packet(i, 0.0, 1, frame), stats)
    assert [r["frame"] for r in out] == [1, 3]
    assert sum(stats.skipped.values()) == 1


def test_not_a_capture(tmp_path) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(b"hello, this is not a capture")
    stats = DecodeStats()
    assert list(decode_file(path, stats)) == []
    assert "not a pcap" in stats.file_errors[0]


def _as_pcapng(raw: bytes) -> bytes:
    """A little-endian pcap file's frames as a pcapng section of enhanced packet blocks."""
    out = _pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += _pcapng_block(1, struct.pack("<HHI", 1, 0, 65535))
    pos = 24
    while pos < len(raw):
        seconds, micros, size, _ = struct.unpack_from("<IIII", raw, pos)
        ticks = seconds * 1_000_000 + micros
        head = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, size, size)
        out += _pcapng_block(6, head + raw[pos + 16 : pos + 16 + size])
        pos += 16 + size
    return out


@settings(max_examples=120, deadline=None)
@given(st.data(), st.sampled_from(["pcap", "pcapng"]))
def test_chunked_reading_of_a_damaged_file_matches_the_serial_reader(
    tmp_path_factory, data, layout: str
) -> None:
    """Damage anywhere (headers, lengths, a cut): chunking never raises, and the chunks
    (decoded as the scan decodes them) give exactly the rows and the damage report that
    one serial pass of the reference decoder gives."""
    from telsec.signalling.batch import batch_of, decode_chunk, resolved
    from telsec.signalling.pipeline import chunks

    folder = tmp_path_factory.mktemp("chunks")
    pcap = folder / "g.pcap"
    with pcap.open("wb") as out:
        write_capture(out, io.BytesIO(), "all", 60, seed=3)
    raw = bytearray(pcap.read_bytes() if layout == "pcap" else _as_pcapng(pcap.read_bytes()))
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    pcap.write_bytes(bytes(raw))

    serial_stats = DecodeStats()
    serial = resolved(batch_of(decode_file(pcap, serial_stats)))
    chunked, errors = [], []
    for chunk in chunks([pcap], target=data.draw(st.integers(200, 3000))):
        batch = decode_chunk(chunk.path, chunk.header, chunk.start, chunk.end, chunk.first_frame)
        chunked.extend(resolved(batch))
        errors.extend(batch.stats.file_errors)
    assert chunked == serial
    assert errors == serial_stats.file_errors


def _pcapng_block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def test_a_bad_pcapng_packet_block_is_counted_and_the_frames_around_it_survive(
    tmp_path,
) -> None:
    """Found while giving pcapng to the fast path: a packet block too short for its
    fields raised struct.error, and one naming a missing interface stopped the file
    (so a chunked scan, which starts again at the next chunk, read more of it)."""
    section = _pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    section += _pcapng_block(1, struct.pack("<HHI", 1, 0, 65535))
    pcap = tmp_path / "g.pcap"
    with pcap.open("wb") as out:
        write_capture(out, io.BytesIO(), "benign", 6, seed=2)
    blocks = _as_pcapng(pcap.read_bytes())[len(section) :]
    half = 0
    for _ in range(3):  # past three of the six packet blocks
        half += struct.unpack_from("<I", blocks, half + 4)[0]
    bad_blocks = {
        "too short": _pcapng_block(6, b"\1\2\3\4"),
        "obsolete, too short": _pcapng_block(2, b"\1\2\3\4"),
        "simple, too short": struct.pack("<II", 3, 12) + struct.pack("<I", 12),
        "missing interface": _pcapng_block(6, struct.pack("<IIIII", 7, 0, 0, 4, 4) + bytes(4)),
        "overrun": _pcapng_block(6, struct.pack("<IIIII", 0, 0, 0, 400, 400) + bytes(4)),
    }
    for name, bad in bad_blocks.items():
        path = tmp_path / "bad.pcapng"
        path.write_bytes(section + blocks[:half] + bad + blocks[half:])
        stats = DecodeStats()
        records = list(decode_file(path, stats))
        assert len(records) == 6 and stats.frames == 7, name
        assert not stats.file_errors and sum(stats.skipped.values()) == 1, name
        result = subprocess.run(
            [sys.executable, "-m", "telsec.cli.main", "signalling", "decode", str(path)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0 and "internal error" not in result.stderr, name
        assert result.stdout.count("\n") == 6, name
