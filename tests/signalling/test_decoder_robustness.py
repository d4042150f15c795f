"""Hostile input: no exception escapes the decoder, and good frames survive bad ones."""

from __future__ import annotations

import io
import struct

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


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_chunked_reading_of_a_damaged_file_matches_the_serial_reader(
    tmp_path_factory, data
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
    raw = bytearray(pcap.read_bytes())
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
