"""Screening spread over processes and a Dask cluster gives exactly the serial result."""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from telsec.heap import YOUNG_COLLECTION
from telsec.privacy import Pseudonymiser
from telsec.signalling import cluster
from telsec.signalling.decoder import DecodeStats, decode_file
from telsec.signalling.findings import LOCATE, Finding
from telsec.signalling.generate import demo_policy, write_capture
from telsec.signalling.pipeline import (
    MissingCaptures,
    Scan,
    chunk_records,
    chunks,
    cut,
    inspect_chunk,
)
from telsec.signalling.policy import parse_policy

KEY = Pseudonymiser(b"a shared coalition key, 32 bytes")
POLICY = parse_policy(demo_policy())


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipeline") / "all.pcap"
    with path.open("wb") as out, open(path.with_suffix(".jsonl"), "wb") as labels:
        write_capture(out, labels, "all", 12_000, seed=21)
    path.with_suffix(".toml").write_text(demo_policy())
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


def test_a_scan_collects_cycles_rarely_and_puts_the_collector_back(capture: Path) -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    gc.unfreeze()  # a hub started by another test freezes its heap (settle_heap)
    gc.set_threshold(700, 10, 10)
    try:
        during = set()
        for _ in Scan(POLICY, KEY).steps([capture], "none"):
            during.add((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        assert during == {(YOUNG_COLLECTION, True)}
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0
        # a scan stopped early too
        steps = Scan(POLICY, KEY).steps([capture], "none")
        next(steps)
        steps.close()
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0
        # what a caller froze stays frozen
        gc.freeze()
        frozen = gc.get_freeze_count()
        Scan(POLICY, KEY).run([capture])
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        if frozen_before:
            gc.freeze()
        gc.set_threshold(*before)


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
        chunk, POLICY, KEY).found.findings]  # fmt: skip
    assert len({f.rule for f in found}) >= 5
    assert any(f.origin_realm for f in found) and any(len(f.frames) > 1 or f.category is None
                                                      for f in found)  # fmt: skip
    again = pickle.loads(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))
    assert [f.as_dict() for f in again] == [f.as_dict() for f in found]
    assert again == found and all(type(f) is Finding for f in again)


def _chunk_events(capture: Path) -> list:
    return [inspect_chunk(c, POLICY, KEY) for c in chunks([capture], 150_000)]


def test_events_split_by_subscriber_and_by_gt(capture: Path) -> None:
    """Each event goes to one part: mobility by subscriber, lookups and deliveries by
    GT, in time order, with the texts it names."""
    owner: dict[tuple, int] = {}
    for result in _chunk_events(capture):
        events = result.events
        parts = events.partition(3)
        assert sum(len(p) for p in parts) == len(events) > 0
        for number, part in enumerate(parts):
            assert (part.time[1:] >= part.time[:-1]).all() or not len(part)
            assert len(part.names) < len(events.names)  # only the texts it names
            for i in range(len(part)):
                key = (("subscriber", int(part.subscriber[i])) if part.kind[i] == LOCATE
                       else ("gt", part.names[part.place[i]]))  # fmt: skip
                assert owner.setdefault(key, number) == number  # in every chunk, the same part
        # what the events say is kept: every event's evidence, in some part
        said = sorted(str(e) for i in range(len(events)) if (e := events.evidence(i)))
        again = sorted(str(e) for p in parts for i in range(len(p)) if (e := p.evidence(i)))
        assert said == again
    kinds = {key[0] for key in owner}
    assert kinds == {"subscriber", "gt"} and len(set(owner.values())) == 3


@pytest.mark.parametrize("parts", [2, 3])
def test_the_stateful_rules_split_decide_what_they_decide_whole(capture: Path, parts) -> None:
    """Split by :meth:`Events.partition`, the stateful rules give the same findings
    in the same order, chunk by chunk, as one tracker given every event."""
    from telsec.signalling.pipeline import Tracking, merged_parts

    whole = Tracking(POLICY, "findings")
    split = [Tracking(POLICY, "findings", keyed=True, parts=parts) for _ in range(parts)]
    rules = set()
    for result in _chunk_events(capture):
        expected = whole.track(result.events, result.clock)
        pieces = result.events.partition(parts)
        got = merged_parts([t.track(p, result.clock) for t, p in zip(split, pieces, strict=True)])
        assert got.findings == expected.findings
        assert got.tally.sources.keys() == expected.tally.sources.keys()
        rules |= {f.rule for f in got.findings}
    assert merged_parts([t.finish() for t in split]).findings == whole.finish().findings
    assert sum(t.tracker.undecided for t in split) == whole.tracker.undecided
    assert rules == {"SIG-CAT3-VELOCITY", "SIG-FAN-OUT", "SIG-SRISM-NO-MT"}


def test_the_parts_share_the_memory_bounds_of_the_whole() -> None:
    """N parts hold at most what one tracker would: each a share of the tables
    (subscribers' locations, SRI-SMs awaiting judgement, GTs); a GT's lookups are
    in one part, so their bound is whole."""
    from telsec.signalling.pipeline import Tracking

    whole = Tracking(POLICY, "none").tracker
    part = Tracking(POLICY, "none", keyed=True, parts=4).tracker
    assert whole.max_subscribers >= 1000 and whole.max_pending >= 1000
    assert (part.max_subscribers, part.max_pending, part.max_gts, part.max_recent) == (
        whole.max_subscribers // 4, whole.max_pending // 4, whole.max_gts // 4, whole.max_recent,
    )  # fmt: skip


def test_tallies_of_the_parts_add_up_to_the_tally_of_all(capture: Path) -> None:
    from telsec.signalling.rules import Tally

    results = _chunk_events(capture)
    whole, merged = Tally(), Tally()
    for result in results:
        whole.add_all(result.found.findings)
        merged.merge(result.found.tally)
    assert merged.total == whole.total > 100
    assert {k: (v.findings, dict(v.rules), v.frames, v.severity) for k, v in
            merged.sources.items()} == {k: (v.findings, dict(v.rules), v.frames, v.severity)
                                        for k, v in whole.sources.items()}  # fmt: skip


def test_a_part_of_the_stateful_rules_that_fails_says_why() -> None:
    import pickle as pickling

    from telsec.signalling.pipeline import _TrackerProcesses, _worker_context

    trackers = _TrackerProcesses(_worker_context(), 2, POLICY, "jsonl")
    try:
        trackers.send([b"not a pickle", b"nor this"], 0.0)
        with pytest.raises(pickling.UnpicklingError):
            trackers.receive()
    finally:
        trackers.close()
    assert not any(process.is_alive() for process in trackers.processes)


def test_three_workers_write_what_one_process_writes(capture: Path, monkeypatch) -> None:
    """JSON lines, written where the findings were made: three workers and three
    parts of the stateful rules give one process's bytes."""
    monkeypatch.setattr("telsec.signalling.pipeline.CHUNK_BYTES", 200_000)
    one, three = Scan(POLICY, KEY), Scan(POLICY, KEY, workers=3)
    lines = b"".join(one.lines([capture]))
    assert lines.count(b"\n") == one.tally.total > 100
    assert b"".join(three.lines([capture])) == lines
    assert three.tally.total == one.tally.total and three.undecided == one.undecided


def test_a_dask_cluster_finds_exactly_what_one_process_finds(capture: Path, monkeypatch) -> None:
    from distributed import LocalCluster

    monkeypatch.setattr("telsec.signalling.pipeline.CHUNK_BYTES", 300_000)
    serial, one = _run([capture])
    lines = b"".join(Scan(POLICY, KEY).lines([capture]))
    junk = capture.with_name("junk.pcap")
    junk.write_bytes(b"\x00 not a capture " * 100)
    files, here = [capture, junk, capture], Scan(POLICY, KEY)
    files_lines = b"".join(here.lines(files))

    class NotInTheClient:
        def __init__(self, *args) -> None:
            raise AssertionError("the stateful rules ran in the client")

    # the stateful rules run on the cluster's workers, a part on each
    monkeypatch.setattr("telsec.signalling.pipeline._HereTracker", NotInTheClient)
    parts: list[int] = []
    made = cluster.ClusterTrackers.__init__

    def counted(self, client, workers, *args) -> None:
        made(self, client, workers, *args)
        parts.append(len({actor._address for actor in self.actors}))  # workers holding one

    monkeypatch.setattr(cluster.ClusterTrackers, "__init__", counted)
    # the events go from the inspecting workers to the parts, not through the client
    relayed: list[int] = []
    send = cluster.ClusterTrackers.send

    def sent(self, events, clock) -> None:
        relayed.append(len(events))
        send(self, events, clock)

    monkeypatch.setattr(cluster.ClusterTrackers, "send", sent)
    # the workers cut the files (they are other processes, the client's patch is not theirs)
    monkeypatch.setattr(cluster, "CUT_CHUNKS", 3)

    def not_here(*args, **kw):
        raise AssertionError("the client read a capture")

    monkeypatch.setattr("telsec.signalling.pipeline._file_chunks", not_here)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local:  # fmt: skip
        distributed, scan = _run([capture], dask=local.scheduler_address)
        assert scan.size == capture.stat().st_size
        # JSON lines written on the cluster's workers: the same bytes
        on_cluster = Scan(POLICY, KEY, dask=local.scheduler_address)
        assert b"".join(on_cluster.lines([capture])) == lines
        # and with fewer parts than workers
        monkeypatch.setattr(cluster, "MAX_CLUSTER_PARTS", 1)
        assert b"".join(Scan(POLICY, KEY, dask=local.scheduler_address).lines([capture])) == lines
        # several files, one not a capture: cut in turn, each from its start
        there = Scan(POLICY, KEY, dask=local.scheduler_address)
        assert b"".join(there.lines(files)) == files_lines
        assert there.stats == here.stats and len(there.stats.file_errors) == 1
        # a file the workers do not see: no scan
        absent = Scan(POLICY, KEY, dask=local.scheduler_address)
        with pytest.raises(MissingCaptures, match=r"absent\.pcap"):
            list(absent.lines([capture, capture.with_name("absent.pcap")]))
        told = subprocess.run(
            [sys.executable, "-m", "telsec.cli.main", "signalling", "scan", "absent.pcap",
             "--policy", str(capture.with_suffix(".toml")), "--dask", local.scheduler_address],
            capture_output=True, text=True, cwd=capture.parent,
        )  # fmt: skip
        assert told.returncode == 2 and "Traceback" not in told.stderr
        said = f"no such capture file on the Dask cluster's workers: {capture.parent}"
        assert said in told.stderr
    assert parts == [2, 2, 1, 1]
    assert len(relayed) >= 3 * 5 and not any(relayed)  # scans of ten chunks and more
    assert distributed == serial
    assert scan.stats.frames == 12_000
    assert scan.undecided == one.undecided and on_cluster.tally.total == one.tally.total


def test_a_part_of_the_stateful_rules_on_a_dask_worker_takes_its_events_in_turn(
    capture: Path, monkeypatch
) -> None:
    """Chunks' events may arrive in any order, some twice (a task run again); the
    part tracks each once, in turn, so it decides exactly what it would on the
    events in file order."""
    import asyncio

    from telsec.signalling.cluster import TrackingActor
    from telsec.signalling.findings import finding_line
    from telsec.signalling.pipeline import Tracking

    monkeypatch.setattr("telsec.signalling.pipeline.CHUNK_BYTES", 300_000)
    messages = [inspect_chunk(c, POLICY, KEY, "findings", parts=1).events[0]
                for c in chunks([capture])]  # fmt: skip
    assert len(messages) > 4
    in_order = Tracking(POLICY, "findings", keyed=True)
    expected = [in_order.track(*pickle.loads(m)).findings for m in messages]
    expected.append(in_order.finish().findings)
    assert sum(map(len, expected)) > 20

    async def backwards() -> list:
        actor = TrackingActor(POLICY, "findings", 1)
        turns = list(enumerate(messages))
        collected = [asyncio.ensure_future(actor.collect(turn)) for turn, _ in turns]
        for at, (turn, message) in enumerate([*reversed(turns), turns[0], turns[-1]]):
            await actor.deliver(turn, message)  # the last two come again
            await asyncio.sleep(0)
            # nothing is tracked before its turn, then all of it
            assert actor.turn == (0 if at < len(turns) - 1 else len(turns))
        answers = await asyncio.gather(*collected)
        return [*answers, await actor.finish(len(messages))]

    answers = asyncio.run(backwards())
    got = [answer.findings for answer in answers[:-1]] + [answers[-1][0].findings]
    assert [list(map(finding_line, f)) for f in got] == [
        list(map(finding_line, f)) for f in expected
    ]


def test_an_inspection_that_lost_a_part_of_the_stateful_rules_is_lost_work() -> None:
    """Dask fails the tasks given an actor whose worker was lost (seen by hand: a
    worker killed with SIGKILL mid-scan); that is the one-line lost-worker error."""
    from telsec.signalling.pipeline import WorkerLost

    class Failed:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def result(self):
            raise self.error

    with pytest.raises(WorkerLost, match="holding the stateful rules stopped"):
        cluster._Inspection(Failed(RuntimeError("Worker holding Actor was lost"))).result()
    with pytest.raises(RuntimeError, match="something else"):  # not that: a bug
        cluster._Inspection(Failed(RuntimeError("something else"))).result()


def test_a_dask_cluster_that_cannot_load_the_scan_says_so() -> None:
    """A scheduler or worker running another telsec cannot unpickle the scan's tasks."""
    import typer

    from telsec.cli.signalling import _lost_workers

    with pytest.raises(typer.Exit) as stopped, _lost_workers("tcp://scheduler:8786"):
        raise RuntimeError("Error during deserialization of the task graph. This frequently")
    assert stopped.value.exit_code == 1
    with pytest.raises(RuntimeError), _lost_workers(None):  # not a cluster's: a bug
        raise RuntimeError("Error during deserialization of the task graph.")


def test_a_file_cut_short_keeps_every_whole_frame_in_parallel(capture: Path, tmp_path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture.read_bytes()[: capture.stat().st_size * 2 // 3 + 7])
    serial, one = _run([cut])
    parallel, many = _run([cut], workers=2)
    assert parallel == serial and serial
    assert many.stats.frames == one.stats.frames > 7000
    assert len(many.stats.file_errors) == 1 and "cut short" in many.stats.file_errors[0]


@pytest.mark.parametrize(
    "kind", ["pcap", "pcapng", "two pcapng sections", "cut short", "damaged", "junk", "empty"]
)
@pytest.mark.parametrize("count", [1, 4])
def test_a_file_cut_a_piece_at_a_time_gives_the_chunks_of_one_cut(
    capture: Path, tshark: str, tmp_path: Path, kind: str, count: int
) -> None:
    """What a Dask worker cuts, ``count`` chunks at a time from where the last piece
    ended, are the chunks of one walk over the file: same bounds, headers, frames."""
    path = _of_kind(kind, capture, tshark, tmp_path)
    whole = list(chunks([path], 150_000))
    pieces, at = cut(str(path), None, 150_000, count)
    assert len(pieces) == min(count, len(whole))
    while at is not None:
        more, at = cut(str(path), at, 150_000, count)
        assert 1 <= len(more) <= count
        pieces.extend(more)
    assert pieces == whole
    assert len(whole) == 1 if kind in ("junk", "empty") else len(whole) > 4
    if kind == "two pcapng sections":  # frames are numbered on across the sections
        assert whole[-1].first_frame > 12_000


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


def _of_kind(kind: str, capture: Path, tshark: str, tmp_path: Path) -> Path:
    """The capture as a file of ``kind``: itself, as pcapng (one section or two),
    cut short, damaged, junk, or empty."""
    path = tmp_path / "x.pcap"
    if kind == "pcap":
        return capture
    if kind in ("pcapng", "two pcapng sections"):
        subprocess.run([tshark, "-r", str(capture), "-F", "pcapng", "-w", str(path)], check=True)
        if kind == "two pcapng sections":  # a second section, its own interfaces
            path.write_bytes(path.read_bytes() * 2)
    elif kind == "cut short":
        path.write_bytes(capture.read_bytes()[: capture.stat().st_size // 2 + 5])
    elif kind == "damaged":
        return _damaged(capture, tmp_path)
    elif kind == "junk":
        path.write_bytes(b"\x00 not a capture " * 100)
    else:
        path.write_bytes(b"")
    return path


@pytest.mark.parametrize("kind", ["pcap", "pcapng", "cut short", "damaged", "junk"])
def test_chunks_decoded_alone_give_the_records_of_one_pass(
    capture: Path, tshark: str, tmp_path: Path, kind: str
) -> None:
    """Every record once, in frame order, and the same counts and damage reports."""
    path = _of_kind(kind, capture, tshark, tmp_path)
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


def test_ctrl_c_stops_a_scan_on_workers_without_a_stack_trace(capture: Path, tmp_path) -> None:
    """Ctrl-C reaches every process of the command: the command stops with 130,
    and no process prints a stack trace."""
    import signal
    import time

    policy = tmp_path / "policy.toml"
    policy.write_text(demo_policy())
    big = tmp_path / "big.pcap"
    data = capture.read_bytes()
    big.write_bytes(data + data[24:] * 20)  # long enough to be stopped half way
    scan = subprocess.Popen(
        [sys.executable, "-m", "telsec.cli.main", "signalling", "scan", str(big), "--policy",
         str(policy), "-f", "jsonl", "-w", "2", "-o", str(tmp_path / "out.jsonl")],
        stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "TELSEC_PSEUDONYM_KEY": "k" * 32},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (tmp_path / "out.jsonl").exists() or not (tmp_path / "out.jsonl").stat().st_size:
        assert time.monotonic() < deadline and scan.poll() is None
        time.sleep(0.02)
    os.killpg(scan.pid, signal.SIGINT)
    _, err = scan.communicate(timeout=60)
    assert scan.returncode == 130, err.decode()
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err


@pytest.mark.parametrize("which", ["a part of the stateful rules", "a worker"])
def test_a_process_killed_mid_scan_is_a_one_line_error(capture: Path, tmp_path, which) -> None:
    """The system may kill a process (out of memory): the command says so in one
    line and fails (1), without calling it a bug."""
    import signal
    import time

    import psutil

    policy = tmp_path / "policy.toml"
    policy.write_text(demo_policy())
    big = tmp_path / "big.pcap"
    data = capture.read_bytes()
    big.write_bytes(data + data[24:] * 20)
    scan = subprocess.Popen(
        [sys.executable, "-m", "telsec.cli.main", "signalling", "scan", str(big), "--policy",
         str(policy), "-f", "jsonl", "-w", "2", "-o", str(tmp_path / "out.jsonl")],
        stderr=subprocess.PIPE, env={**os.environ, "TELSEC_PSEUDONYM_KEY": "k" * 32},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(children := psutil.Process(scan.pid).children()) < 4:  # 2 parts, then 2 workers
        assert time.monotonic() < deadline and scan.poll() is None
        time.sleep(0.01)
    pids = sorted(child.pid for child in children)
    os.kill(pids[0] if which.startswith("a part") else pids[-1], signal.SIGKILL)
    # at once: the other processes are stopped, not waited for (they would wait
    # on pipes that the processes forked after them hold open)
    _, err = scan.communicate(timeout=4)
    assert scan.returncode == 1, err.decode()
    assert b"stopped" in err and b"out of memory" in err
    assert b"internal error" not in err and b"Traceback" not in err
