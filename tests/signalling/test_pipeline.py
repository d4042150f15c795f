"""Screening spread over processes and a Dask cluster gives exactly the serial result."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from telsec.privacy import Pseudonymiser
from telsec.signalling.decoder import DecodeStats, decode_file
from telsec.signalling.findings import Finding
from telsec.signalling.generate import demo_policy, write_capture
from telsec.signalling.pipeline import Scan, chunk_records, chunks, inspect_chunk
from telsec.signalling.policy import parse_policy

KEY = Pseudonymiser(b"a shared coalition key, 32 bytes")
POLICY = parse_policy(demo_policy())


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipeline") / "all.pcap"
    with path.open("wb") as out, open(path.with_suffix(".jsonl"), "wb") as labels:
        write_capture(out, labels, "all", 12_000, seed=21)
    return path


def _key(finding) -> tuple:
    return (finding.rule, tuple(finding.frames), finding.detail, finding.subscriber)


def _run(paths: list[Path], **kw) -> tuple[list[tuple], Scan]:
    scan = Scan(POLICY, KEY, **kw)
    return sorted(_key(f) for f in scan.findings(paths)), scan


def _same_frames(paths: list[Path], target: int) -> None:
    """Chunks decoded on their own (fast path and all) give the rows of one
    reference pass over the whole files."""
    from telsec.signalling.batch import batch_of, decode_chunk, resolved

    whole = resolved(batch_of(r for p in paths for r in decode_file(p, DecodeStats())))
    pieces = list(chunks(paths, target))
    assert len(pieces) > 3
    parts = [
        row
        for c in pieces
        for row in resolved(decode_chunk(c.path, c.header, c.start, c.end, c.first_frame))
    ]
    assert [r["frame"] for r in parts] == [r["frame"] for r in whole]
    assert parts == whole


def test_chunks_of_a_pcap_hold_every_frame_once(capture: Path) -> None:
    _same_frames([capture], 100_000)


def test_chunks_of_a_pcapng_hold_every_frame_once(capture: Path, tshark: str, tmp_path) -> None:
    pcapng = tmp_path / "all.pcapng"
    subprocess.run([tshark, "-r", str(capture), "-F", "pcapng", "-w", str(pcapng)], check=True)
    assert pcapng.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    _same_frames([pcapng], 100_000)


def test_workers_find_exactly_what_one_process_finds(capture: Path, monkeypatch) -> None:
    monkeypatch.setattr("telsec.signalling.pipeline.CHUNK_BYTES", 200_000)
    serial, one = _run([capture])
    parallel, many = _run([capture], workers=2)
    assert serial and parallel == serial
    assert many.undecided == one.undecided
    assert many.stats.frames == one.stats.frames == 12_000
    assert {k: (a.messages, len(a.subscribers)) for k, a in many.activity.items()} == {
        k: (a.messages, len(a.subscribers)) for k, a in one.activity.items()
    }


def test_findings_cross_processes_whole(capture: Path) -> None:
    """Findings travel from the workers pickled as their fields in order."""
    found = [f for chunk in chunks([capture]) for f in inspect_chunk(
        chunk, POLICY, KEY).findings]  # fmt: skip
    assert len({f.rule for f in found}) >= 5
    assert any(f.origin_realm for f in found) and any(len(f.frames) > 1 or f.category is None
                                                      for f in found)  # fmt: skip
    again = pickle.loads(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))
    assert [f.as_dict() for f in again] == [f.as_dict() for f in found]
    assert again == found and all(type(f) is Finding for f in again)


def test_a_dask_cluster_finds_exactly_what_one_process_finds(capture: Path, monkeypatch) -> None:
    from distributed import LocalCluster

    monkeypatch.setattr("telsec.signalling.pipeline.CHUNK_BYTES", 300_000)
    serial, _ = _run([capture])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        distributed, scan = _run([capture], dask=cluster.scheduler_address)
    assert distributed == serial
    assert scan.stats.frames == 12_000


def test_a_file_cut_short_keeps_every_whole_frame_in_parallel(capture: Path, tmp_path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture.read_bytes()[: capture.stat().st_size * 2 // 3 + 7])
    serial, one = _run([cut])
    parallel, many = _run([cut], workers=2)
    assert parallel == serial and serial
    assert many.stats.frames == one.stats.frames > 7000
    assert len(many.stats.file_errors) == 1 and "cut short" in many.stats.file_errors[0]


def test_not_a_capture_is_one_chunk_that_says_so(tmp_path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all")
    (chunk,) = chunks([junk])
    result = inspect_chunk(chunk, POLICY, KEY)
    assert result.stats.frames == 0 and "not a pcap" in result.stats.file_errors[0]


# -- decoding to records on several processes --------------------------------------


def _damaged(capture: Path, tmp_path: Path) -> Path:
    """The capture with an impossible record length a third of the way in."""
    data = bytearray(capture.read_bytes())
    (first,) = [c for c in chunks([capture], len(data) // 3)][1:2]
    data[first.start + 8 : first.start + 12] = (0x7FFFFFFF).to_bytes(4, "little")
    damaged = tmp_path / "damaged.pcap"
    damaged.write_bytes(bytes(data))
    return damaged


@pytest.mark.parametrize("kind", ["pcap", "pcapng", "cut short", "damaged", "junk"])
def test_chunks_decoded_alone_give_the_records_of_one_pass(
    capture: Path, tshark: str, tmp_path: Path, kind: str
) -> None:
    """Every record once, in frame order, and the same counts and damage reports."""
    path = {"pcap": capture, "junk": tmp_path / "junk.pcap"}.get(kind, tmp_path / "x.pcap")
    if kind == "pcapng":
        subprocess.run([tshark, "-r", str(capture), "-F", "pcapng", "-w", str(path)], check=True)
    elif kind == "cut short":
        path.write_bytes(capture.read_bytes()[: capture.stat().st_size // 2 + 5])
    elif kind == "damaged":
        path = _damaged(capture, tmp_path)
    elif kind == "junk":
        path.write_bytes(b"\x00 not a capture " * 100)
    whole_stats = DecodeStats()
    whole = list(decode_file(path, whole_stats))
    stats, parts = DecodeStats(), []
    pieces = list(chunks([path, capture], 150_000))
    assert len(pieces) > (1 if kind == "junk" else 4)
    for piece in pieces:
        records, seen = chunk_records(piece)
        parts.extend(records)
        stats.merge(seen)
    whole.extend(decode_file(capture, whole_stats))
    assert parts == whole and len(whole) >= (12_000 if kind == "junk" else 15_000)
    assert stats == whole_stats
    if kind in ("cut short", "damaged", "junk"):
        assert len(stats.file_errors) == 1 and str(path) in stats.file_errors[0]


def test_decode_on_workers_writes_the_files_one_process_writes(capture: Path, tmp_path) -> None:
    """``telsec signalling decode --workers 2``, every format, against one process."""
    import pyarrow.parquet as pq

    for fmt in ("jsonl", "csv", "parquet"):
        outputs = []
        for workers in ("1", "2"):
            out = tmp_path / f"{workers}.{fmt}"
            done = subprocess.run(
                [sys.executable, "-m", "telsec.cli.main", "signalling", "decode", str(capture),
                 str(capture), "-f", fmt, "-w", workers, "-o", str(out)],
                capture_output=True, text=True,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert "24,000 frames, 24,000 records" in done.stderr
            outputs.append(out)
        if fmt == "parquet":  # row groups differ: one per chunk
            one, two = (pq.read_table(o) for o in outputs)
            assert one.num_rows == 24_000 and one.equals(two)
        else:
            assert outputs[0].read_bytes() == outputs[1].read_bytes()


def test_scan_on_forked_workers_writes_what_one_process_writes(capture: Path, tmp_path) -> None:
    """The command forks its workers (it runs no other thread then): same output
    (the capture twice: a chunk or more each)."""
    policy = tmp_path / "policy.toml"
    policy.write_text(demo_policy())
    outputs = []
    for workers in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "telsec.cli.main", "signalling", "scan", str(capture),
             str(capture), "--policy", str(policy), "-f", "jsonl", "-w", workers],
            capture_output=True, env={**os.environ, "TELSEC_PSEUDONYM_KEY": "k" * 32},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count(b'"record":"source"') > 10


def test_workers_are_forked_only_from_a_process_without_threads() -> None:
    check = (
        "import threading, time\n"
        "from telsec.signalling.pipeline import _worker_context\n"
        "alone = _worker_context().get_start_method()\n"
        "threading.Thread(target=time.sleep, args=(1,), daemon=True).start()\n"
        "print(alone, _worker_context().get_start_method())\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.stdout.split() == ["fork", "forkserver"], done.stderr
