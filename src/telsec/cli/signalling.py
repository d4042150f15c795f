"""``telsec signalling``: decode captures, generate traffic, scan and evaluate."""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from telsec.cli.output import (
    ListFormat,
    OutputFormat,
    emit,
    err_console,
    fail,
    progress_bar,
    worker_processes,
    write_list,
    write_table,
)
from telsec.cli.share import (
    BundleOpt,
    ProducerOpt,
    PublishOpt,
    TlpOpt,
    TokenOpt,
    UrlOpt,
    share,
    share_level,
)

if TYPE_CHECKING:
    from telsec.signalling.findings import Finding
    from telsec.signalling.pipeline import Emit, Found

_T = TypeVar("_T")

app = typer.Typer(
    help="SS7/SIGTRAN and Diameter captures: decode, screen, generate.", no_args_is_help=True
)


class RecordFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


WorkersOpt = Annotated[
    int,
    typer.Option("--workers", "-w", min=0, help="processes to decode with (0: one per core)"),
]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[n]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _records(files: list[Path], stats: Any) -> Iterator[dict[str, Any]]:
    from telsec.signalling.decoder import decode_file

    total = sum(f.stat().st_size for f in files if f.exists())
    with _progress() as progress:
        task = progress.add_task("decoding", total=max(total, 1), n="")
        done = 0
        for path in files:
            for record in decode_file(path, stats):
                yield record
                if stats.records % 5000 == 0:
                    progress.update(task, n=f"{stats.frames:,} frames")
            done += path.stat().st_size if path.exists() else 0
            progress.update(task, completed=done)


def _blocks(files: list[Path], fmt: RecordFormat, workers: int, stats: Any) -> Iterator[Any]:
    """The captures' records written as ``fmt`` a chunk at a time, on ``workers``
    processes, in file order."""
    from telsec.signalling.pipeline import decode_in_parallel

    total = sum(f.stat().st_size for f in files if f.exists())
    progress = _progress()
    task = progress.add_task("decoding", total=max(total, 1), n="")
    blocks = _primed(decode_in_parallel(
        files, fmt.value, workers, lambda done: progress.update(task, completed=done)
    ))  # fmt: skip
    with progress, _lost_workers():
        for block, seen in blocks:
            stats.merge(seen)
            progress.update(task, n=f"{stats.frames:,} frames")
            yield block


@contextmanager
def _lost_workers(dask: str | None = None) -> Iterator[None]:
    """A worker process that stops (the system killed it?) ends the command with a
    one-line error, not as a bug; so does a Dask cluster that cannot load the
    scan's code (its scheduler or workers run another version of telsec)."""
    from telsec.signalling.pipeline import WorkerLost

    try:
        yield
    except WorkerLost as exc:
        fail(f"{exc}: was it killed, or out of memory?" + ("" if dask else " Try fewer --workers."))
    except RuntimeError as exc:
        if not dask or "deserializ" not in str(exc):
            raise
        fail(f"the Dask cluster at {dask} could not load this scan's work: its scheduler and "
             "workers must run the same version of telsec as this command")  # fmt: skip


def _primed(items: Iterator[_T]) -> Iterator[_T]:
    """``items``, the first one taken now: workers start with it, and they are forked
    only from a process without threads, so before a progress display starts its
    own (see ``telsec.signalling.pipeline._worker_context``)."""
    first = list(itertools.islice(items, 1))
    return itertools.chain(first, items)


def _report(stats: Any) -> None:
    err_console.print(f"{stats.frames:,} frames, {stats.records:,} records")
    for reason, count in stats.skipped.most_common():
        err_console.print(f"  skipped {count:,}: {escape(reason)}")
    for problem in stats.file_errors:
        err_console.print(f"[yellow]damaged:[/] {escape(problem)}")


def _check_files(files: list[Path]) -> None:
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        fail(f"no such capture file: {', '.join(missing)}", 2)


def _check_captures(files: list[Path]) -> None:
    """At least one of the files is a capture: when none is, the command stops
    before it starts (a damaged file among good ones is reported at the end,
    with the frames read before the damage)."""
    from telsec.packets.capture import capture_problem

    problems = [(f, capture_problem(f)) for f in files]
    if all(problem for _, problem in problems):
        fail("no capture to read: " + "; ".join(f"{f}: {problem}" for f, problem in problems))


@app.command()
def decode(
    files: Annotated[list[Path], typer.Argument(help="pcap or pcapng captures")],
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f")] = RecordFormat.jsonl,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file (default: stdout)")] = None,
    workers: WorkersOpt = 1,
) -> None:
    """One record per TCAP component (or Diameter message), streamed, in file order."""
    from telsec.signalling.decoder import DecodeStats

    _check_files(files)
    if fmt == RecordFormat.parquet and out is None and sys.stdout.isatty():
        fail("Parquet is binary: give --out FILE or redirect standard output", 2)
    _check_captures(files)
    stats = DecodeStats()
    processes = worker_processes(workers)
    if processes > 1:
        _write_blocks(_blocks(files, fmt, processes, stats), fmt, out)
    else:
        _write_records(_records(files, stats), fmt, out)
    _report(stats)
    if stats.file_errors and not stats.frames:
        raise typer.Exit(1)


def _write_records(records: Iterator[dict[str, Any]], fmt: RecordFormat, out: Path | None) -> None:
    from telsec.signalling.output import write_csv, write_jsonl, write_parquet

    if fmt == RecordFormat.parquet:
        write_parquet(records, str(out) if out else sys.stdout.buffer)
    elif fmt == RecordFormat.csv:
        with out.open("w", newline="") if out else nullcontext(sys.stdout) as text:
            write_csv(records, text)
    else:
        with out.open("wb") if out else nullcontext(sys.stdout.buffer) as binary:
            write_jsonl(records, binary)
        sys.stdout.flush()


def _write_blocks(blocks: Iterator[Any], fmt: RecordFormat, out: Path | None) -> None:
    """What :func:`_blocks` gives, as one file: the same as :func:`_write_records`."""
    from telsec.signalling.output import csv_writer, write_parquet_tables

    if fmt == RecordFormat.parquet:
        write_parquet_tables(blocks, str(out) if out else sys.stdout.buffer)
    elif fmt == RecordFormat.csv:
        with out.open("w", newline="") if out else nullcontext(sys.stdout) as text:
            csv_writer(text).writeheader()
            for rows in blocks:
                text.write(rows)
    else:
        with out.open("wb") if out else nullcontext(sys.stdout.buffer) as binary:
            for lines in blocks:
                binary.write(lines)
        sys.stdout.flush()


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="the pcap to write")],
    labels: Annotated[Path, typer.Option("--labels", help="ground truth, JSON lines")],
    scenario: Annotated[str, typer.Option(help="benign, an attack, or all")] = "all",
    messages: Annotated[int, typer.Option(min=1)] = 10_000,
    seed: int = 1,
    policy_out: Annotated[
        Path | None, typer.Option("--policy-out", help="also write the matching policy (TOML)")
    ] = None,
) -> None:
    """Write realistic MAP traffic with attacks interleaved, and its labels."""
    from telsec.signalling.generate import SCENARIOS, demo_policy, write_capture

    if scenario not in (*SCENARIOS, "all"):
        fail(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}, all", 2)
    with out.open("wb") as capture, labels.open("wb") as truth:
        written = write_capture(capture, truth, scenario, messages, seed)
    if policy_out:
        policy_out.write_text(demo_policy())
    err_console.print(f"wrote {written:,} frames to {escape(str(out))}")


class View(StrEnum):
    findings = "findings"
    sources = "sources"
    both = "both"


DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="SCHEDULER",
        help="run on a Dask cluster (tcp://host:8786); workers must see the files",
    ),
]


class _Screening:
    """A scan of captures with a policy, with progress on standard error."""

    def __init__(self, files: list[Path], policy_path: Path, workers: int, dask: str | None):
        from telsec.config import load_settings
        from telsec.privacy import Pseudonymiser, pseudonym_key
        from telsec.signalling.pipeline import Scan
        from telsec.signalling.policy import PolicyError, load_policy

        if not dask:  # a cluster's workers read the files, and say if they miss one
            _check_files(files)
        try:
            self.policy = load_policy(policy_path)
        except PolicyError as exc:
            fail(str(exc), 2)
            raise
        if not dask:
            _check_captures(files)
        self.files = files
        self.scan = Scan(
            self.policy,
            Pseudonymiser(pseudonym_key(load_settings().data_dir)),
            workers=1 if dask else worker_processes(workers),
            dask=dask,
        )

    def findings(self) -> Iterator[Finding]:
        for step in self.steps("findings"):
            yield from step.findings

    def steps(self, emit: Emit) -> Iterator[Found]:
        """The scan's steps (:meth:`telsec.signalling.pipeline.Scan.steps`) with progress."""
        from telsec.signalling.pipeline import MissingCaptures

        scan = self.scan  # its size is known once its steps have begun
        try:
            with _lost_workers(scan.dask):
                steps = _primed(scan.steps(self.files, emit))
                with progress_bar("screening") as advance:
                    scan.on_progress = lambda done: advance(done, scan.size)
                    yield from steps
        except MissingCaptures as exc:
            fail(str(exc), 2)
        except OSError as exc:
            if not self.scan.dask:
                raise
            fail(f"cannot reach the Dask scheduler {self.scan.dask}: {exc}")

    def report(self) -> None:
        _report(self.scan.stats)
        if self.scan.undecided:
            err_console.print(
                f"{self.scan.undecided:,} SRI-SM too close to the end of the capture to judge"
            )
        from telsec.signalling.rules import MAX_SOURCES

        untracked = self.scan.untracked
        if untracked.sources:
            err_console.print(
                f"{untracked.sources:,} sources ({untracked.messages:,} messages) left out of the "
                f"per-source summary, which keeps {MAX_SOURCES:,}, those with findings first"
            )
        if self.scan.stats.file_errors and not self.scan.stats.frames:
            raise typer.Exit(1)

    @property
    def total(self) -> int:
        """Findings so far."""
        return self.scan.tally.total

    def summaries(self, *, carriers: bool = True) -> list[Any]:
        from telsec.signalling.report import summarise

        scan = self.scan
        return summarise(scan.activity, scan.tally, self.policy, carriers=carriers)


_SOURCE_COLUMNS = [
    "source", "verdict", "severity", "country", "operator", "messages", "cat1", "cat2",
    "cat3", "subscribers", "findings", "rules",
]  # fmt: skip
_FINDING_COLUMNS = [
    "rule", "severity", "frames", "source", "operation", "subscriber", "detail",
]  # fmt: skip
#: Findings shown in the table for people (all of them go to json/jsonl).
TABLE_FINDINGS = 200


@app.command()
def scan(
    files: Annotated[list[Path], typer.Argument(help="pcap or pcapng captures, in time order")],
    policy: Annotated[Path, typer.Option("--policy", help="the home network's policy (TOML)")],
    workers: WorkersOpt = 1,
    dask: DaskOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    view: Annotated[View, typer.Option(help="findings, per-source summary, or both")] = View.both,
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
    publish: PublishOpt = None,
    tlp: TlpOpt = None,
    bundle: BundleOpt = None,
    producer: ProducerOpt = None,
    url: UrlOpt = "http://127.0.0.1:8000",
    token: TokenOpt = None,
) -> None:
    """Screen captures with the FS.11/FS.19 and GT-misuse rules.

    Writes the findings and a summary per GT, and optionally publishes a STIX report to a hub.
    """
    from telsec.signalling.report import stix_bundle

    level = share_level(publish, bundle, tlp)
    screening = _Screening(files, policy, workers, dask)
    shown: list[dict[str, Any]] = []
    handle = out.open("wb") if out and fmt == OutputFormat.jsonl else None
    if fmt == OutputFormat.jsonl and handle is None:
        sys.stdout.flush()  # lines go to the binary buffer below the text layer
    lines = handle or sys.stdout.buffer
    emit: Emit = (
        "none" if view == View.sources else "jsonl" if fmt == OutputFormat.jsonl else "findings"
    )
    try:
        for step in screening.steps(emit):
            lines.writelines(step.lines)  # written by the processes that found them
            for item in step.findings:
                if fmt == OutputFormat.json or len(shown) < TABLE_FINDINGS:
                    shown.append(item.as_dict())
    finally:
        if handle:
            handle.close()
        elif fmt == OutputFormat.jsonl:
            sys.stdout.buffer.flush()
    # the sources' operator names are written only with the sources or a report
    shown_sources = view != View.findings
    summaries = screening.summaries(carriers=shown_sources or level is not None)
    listed = [s for s in summaries if s.findings or fmt != OutputFormat.table]
    sources = [s.as_dict() for s in listed] if shown_sources else []
    if fmt == OutputFormat.jsonl:
        if view != View.findings:
            with out.open("a", encoding="utf-8") if out else nullcontext(sys.stdout) as dest:
                for source in sources:
                    dest.write(orjson.dumps({"record": "source", **source}).decode() + "\n")
    elif fmt == OutputFormat.json:
        document = {
            "findings": shown if view != View.sources else None,
            "sources": sources if view != View.findings else None,
        }
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    else:
        _tables(shown, sources, screening.total, view, out)
    screening.report()
    verdicts = Counter(s.verdict for s in summaries)
    err_console.print(
        f"{screening.total:,} findings; sources: "
        + ", ".join(f"{verdicts.get(v, 0):,} {v}" for v in ("block", "investigate", "watch", "ok"))
    )
    if level is not None:
        scanned = ", ".join(f.name for f in files)
        stix = stix_bundle(summaries, level, producer=producer, scanned=scanned)
        share(stix, publish, bundle, url, token)


def _tables(
    findings: list[dict[str, Any]], sources: list[dict[str, Any]], total: int, view: View,
    out: Path | None,
) -> None:  # fmt: skip
    for row in findings:
        row["frames"] = row["frames"][:5] + (["..."] if len(row["frames"]) > 5 else [])
    for row in sources:
        row["rules"] = ", ".join(f"{k} ({v})" for k, v in row["rules"].items())
    with out.open("w", encoding="utf-8") if out else nullcontext(sys.stdout) as handle:
        if view != View.sources:
            title = "findings" + (
                f" (first {len(findings)} of {total:,})" if total > len(findings) else ""
            )
            write_table(findings, _FINDING_COLUMNS, handle, title)
        if view != View.findings:
            write_table(sources, _SOURCE_COLUMNS, handle, "sources with findings")


@app.command()
def blocklist(
    files: Annotated[list[Path], typer.Argument(help="pcap or pcapng captures, in time order")],
    policy: Annotated[Path, typer.Option("--policy", help="the home network's policy (TOML)")],
    workers: WorkersOpt = 1,
    dask: DaskOpt = None,
    investigate: Annotated[
        bool, typer.Option("--investigate", help="also list sources to screen (partners' GTs)")
    ] = False,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
) -> None:
    """The GTs (and Diameter realms) to deny, as CSV for SS7/Diameter firewalls."""
    from telsec.signalling.report import BLOCKLIST_COLUMNS, blocklist_rows

    screening = _Screening(files, policy, workers, dask)
    for _ in screening.steps("none"):
        pass  # the scan keeps what the blocklist is made of
    verdicts = ("block", "investigate") if investigate else ("block",)
    rows = blocklist_rows(screening.summaries(), verdicts)
    write_list(rows, BLOCKLIST_COLUMNS, fmt, out)
    screening.report()
    err_console.print(f"{len(rows):,} sources listed")


@app.command()
def evaluate(
    files: Annotated[list[Path], typer.Argument(help="generated captures")],
    labels: Annotated[Path, typer.Option("--labels", help="their ground truth")],
    policy: Annotated[Path, typer.Option("--policy")],
    workers: WorkersOpt = 1,
    dask: DaskOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
) -> None:
    """Precision and recall of the rules per attack scenario."""
    from telsec.signalling.evaluate import read_labels, score

    _check_files(files)
    if not labels.is_file():
        fail(f"no such labels file: {labels}", 2)
    truth, rejected = read_labels(labels.read_bytes().splitlines())
    reasons = "; ".join(f"{count:,} {why}" for why, count in rejected.most_common())
    if not truth:
        fail(f"{labels}: no label in it" + (f" ({reasons})" if reasons else ""), 2)
    if rejected:
        err_console.print(f"{escape(str(labels))}: lines left out: {escape(reasons)}")
    screening = _Screening(files, policy, workers, dask)
    flagged = {frame for f in screening.findings() for frame in f.frames}
    rows = [
        {
            "scenario": s.scenario,
            "malicious frames": s.malicious_frames,
            "detected": s.detected,
            "precision": round(s.precision, 4),
            "recall": None if s.recall is None else round(s.recall, 4),
            "false alarms": s.false_alarms,
        }
        for s in score(truth, flagged)
    ]
    emit(rows, fmt=fmt, title="detection per scenario")
    screening.report()
