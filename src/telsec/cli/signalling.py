"""``telsec signalling``: decode captures, generate traffic, scan and evaluate."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from telsec.cli.output import OutputFormat, emit, err_console, fail

app = typer.Typer(
    help="SS7/SIGTRAN and Diameter captures: decode, screen, generate.", no_args_is_help=True
)


class RecordFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


def _records(files: list[Path], stats: Any) -> Iterator[dict[str, Any]]:
    from telsec.signalling.decoder import decode_file

    total = sum(f.stat().st_size for f in files if f.exists())
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[n]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with progress:
        task = progress.add_task("decoding", total=max(total, 1), n="")
        done = 0
        for path in files:
            for record in decode_file(path, stats):
                yield record
                if stats.records % 5000 == 0:
                    progress.update(task, n=f"{stats.frames:,} frames")
            done += path.stat().st_size if path.exists() else 0
            progress.update(task, completed=done)


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


@app.command()
def decode(
    files: Annotated[list[Path], typer.Argument(help="pcap or pcapng captures")],
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f")] = RecordFormat.jsonl,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file (default: stdout)")] = None,
) -> None:
    """One record per TCAP component (or Diameter message), streamed."""
    from telsec.signalling.decoder import DecodeStats
    from telsec.signalling.output import write_csv, write_jsonl, write_parquet

    _check_files(files)
    stats = DecodeStats()
    records = _records(files, stats)
    if fmt == RecordFormat.parquet:
        if out is None and sys.stdout.isatty():
            fail("Parquet is binary: give --out FILE or redirect standard output", 2)
        write_parquet(records, str(out) if out else sys.stdout.buffer)
    elif fmt == RecordFormat.csv:
        if out:
            with out.open("w", newline="") as handle:
                write_csv(records, handle)
        else:
            write_csv(records, sys.stdout)
    elif out:
        with out.open("wb") as handle:
            write_jsonl(records, handle)
    else:
        write_jsonl(records, sys.stdout.buffer)
        sys.stdout.flush()
    _report(stats)
    if stats.file_errors and not stats.frames:
        raise typer.Exit(1)


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


def _screen(files: list[Path], policy_path: Path) -> tuple[list[Any], Any, Any]:
    from telsec.config import load_settings
    from telsec.privacy import Pseudonymiser, pseudonym_key
    from telsec.signalling.decoder import DecodeStats
    from telsec.signalling.policy import PolicyError, load_policy
    from telsec.signalling.rules import Screen, screen

    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        fail(str(exc), 2)
        raise
    stats = DecodeStats()
    engine = Screen(policy, Pseudonymiser(pseudonym_key(load_settings().data_dir)))
    findings = list(screen(_records(files, stats), policy, engine.pseudonym, engine))
    return findings, stats, engine


@app.command()
def scan(
    files: Annotated[list[Path], typer.Argument(help="pcap or pcapng captures, in time order")],
    policy: Annotated[Path, typer.Option("--policy", help="the home network's policy (TOML)")],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
) -> None:
    """Screen captures with the FS.11 and GT-misuse rules; print the findings."""
    _check_files(files)
    findings, stats, engine = _screen(files, policy)
    rows = [f.as_dict() for f in findings]
    if fmt == OutputFormat.table:
        for row in rows:
            row["frames"] = row["frames"][:5] + (["..."] if len(row["frames"]) > 5 else [])
        emit(
            rows,
            columns=[
                "rule",
                "severity",
                "frames",
                "calling_gt",
                "operation",
                "subscriber",
                "detail",
            ],
            fmt=fmt,
            out=out,
            title="findings",
        )
    else:
        emit(rows, fmt=fmt, out=out)
    _report(stats)
    if engine.undecided:
        err_console.print(
            f"{engine.undecided:,} SRI-SM too close to the end of the capture to judge"
        )
    err_console.print(f"{len(findings):,} findings")


@app.command()
def evaluate(
    files: Annotated[list[Path], typer.Argument(help="generated captures")],
    labels: Annotated[Path, typer.Option("--labels", help="their ground truth")],
    policy: Annotated[Path, typer.Option("--policy")],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
) -> None:
    """Precision and recall of the rules per attack scenario."""
    from telsec.signalling.evaluate import score

    _check_files([*files, labels])
    findings, stats, _engine = _screen(files, policy)
    flagged = {frame for f in findings for frame in f.frames}
    try:
        truth = [orjson.loads(line) for line in labels.read_bytes().splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        fail(f"{labels}: not JSON lines ({exc})", 2)
        raise
    rows = [
        {
            "scenario": s.scenario,
            "malicious frames": s.malicious_frames,
            "detected": s.detected,
            "precision": round(s.precision, 4),
            "recall": round(s.recall, 4),
        }
        for s in score(truth, flagged)
    ]
    emit(rows, fmt=fmt, title="detection per scenario")
    _report(stats)
