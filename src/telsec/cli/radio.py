"""``telsec radio``: find, locate and track SMS blasters in cell observations."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape

from telsec.cli.output import (
    OutputFormat,
    emit,
    err_console,
    fail,
    none_kept,
    progress_bar,
    utc_time,
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

app = typer.Typer(
    help="Cell observations: detect, locate and track fake base stations.", no_args_is_help=True
)


class ScanFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    geojson = "geojson"


def _read(files: list[Path], cells: Path, input_format: str | None, config: Path | None) -> Any:
    from telsec.radio.detect import ConfigError, load_config
    from telsec.radio.device import read_gsmtap
    from telsec.radio.readers import (
        ReaderError,
        detect_format,
        read_inventory,
        read_observations_into,
    )
    from telsec.radio.schema import Rejections
    from telsec.radio.store import ObservationStore

    missing = [str(f) for f in [*files, cells, *([config] if config else [])] if not f.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}", 2)
    try:
        settings = load_config(config)
    except ConfigError as exc:
        fail(str(exc), 2)
        raise
    counts = Rejections()
    # the observations of every file together, each row once; on disk beyond a
    # couple of million rows, removed when the process ends
    observations = ObservationStore(counts)
    events: list[Any] = []
    logs: dict[Path, Any] = {}
    reports = []
    try:
        inventory, inventory_counts = read_inventory(cells)
        for path in files:
            kind = input_format or detect_format(path)
            if kind == "rayhunter":
                reports.append(path)  # after the captures: their serving cells are needed
                continue
            if kind == "gsmtap":
                log = logs[path.resolve()] = read_gsmtap(path)
                events.extend(log.events)
                what = f"device log, {log.rrc:,} RRC and {log.nas:,} NAS messages"
                _device_summary(path, what, log)
                continue
            with progress_bar(f"reading {escape(path.name)}") as advance:
                file_counts = read_observations_into(
                    observations, path, kind, lambda share: advance(share, 1.0)
                )
            counts.merge(file_counts)
            err_console.print(f"{escape(str(path))}: {file_counts.kept:,} observations")
        for path in reports:
            events = _with_report(path, events, logs)
    except ReaderError as exc:
        fail(str(exc), 2)
        raise
    err_console.print(f"inventory {escape(str(cells))}: {inventory.height:,} cells")
    for reason, count in [*inventory_counts.rejected.most_common(), *counts.rejected.most_common()]:
        err_console.print(f"  rejected {count:,}: {escape(reason)}")
    # nothing to judge by, or nothing to judge: a scan would say "no alerts" and
    # mean nothing (an inventory of rejected rows would turn off the rules that use it)
    if inventory.height == 0 and inventory_counts.read:
        fail(f"{cells}: no usable cell in the inventory ({none_kept(inventory_counts.read)})")
    if inventory.height == 0:  # a header alone: no inventory, on purpose (device logs)
        err_console.print(
            "[yellow]note:[/] an empty inventory: the rules that compare cells with it are off"
        )
    if counts.kept == 0 and not logs and not reports:
        fail(f"no observation to scan ({none_kept(counts.read)})")
    return observations, inventory, settings, events


def _device_summary(path: Path, what: str, log: Any) -> None:
    err_console.print(f"{escape(str(path))}: {what}, {len(log.events)} events")
    for reason, count in log.skipped.most_common():
        err_console.print(f"  skipped {count:,}: {escape(reason)}")
    if log.error:
        err_console.print(f"[yellow]damaged:[/] {escape(log.error)}")


def _with_report(path: Path, events: list[Any], logs: dict[Path, Any]) -> list[Any]:
    """``events`` with a Rayhunter report's warnings, placed on the serving cell
    that the recording's own capture names."""
    from telsec.radio.device import read_gsmtap
    from telsec.radio.rayhunter import attach_cells, combine, read_report, recording_of

    report = read_report(path)
    _device_summary(path, f"Rayhunter report, {report.frames:,} rows", report)
    recording = recording_of(path)
    if recording is not None:
        capture = logs.get(recording.resolve()) or read_gsmtap(recording)
        placed = attach_cells(report, capture.cells)
        err_console.print(f"  serving cells from {escape(str(recording))}: {placed} events placed")
    homeless = sum(1 for e in report.events if e.cell is None)
    if homeless:
        err_console.print(
            f"  [yellow]{homeless} warnings without a serving cell[/] (no GSMTAP capture of "
            "this recording beside the report): listed here, not in alerts"
        )
        for event in report.events:
            if event.cell is None:
                err_console.print(f"    {event.rule}: {escape(event.detail)}")
    merged, agreed = combine(events, report)
    if agreed:
        err_console.print(f"  {agreed} warnings agree with telsec's own reading of the capture")
    return merged


@app.command()
def scan(
    files: Annotated[list[Path], typer.Argument(help="observation files")],
    cells: Annotated[Path, typer.Option("--cells", help="the reference cell inventory")],
    config: Annotated[
        Path | None, typer.Option("--config", help="the operators' networks (TOML)")
    ] = None,
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format",
            help="towercollector|wigle|cellinfo|jsonl|parquet|gsmtap|rayhunter (else detected)",
        ),
    ] = None,
    fmt: Annotated[ScanFormat, typer.Option("--format", "-f")] = ScanFormat.table,
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
    publish: PublishOpt = None,
    tlp: TlpOpt = None,
    bundle: BundleOpt = None,
    producer: ProducerOpt = None,
    url: UrlOpt = "http://127.0.0.1:8000",
    token: TokenOpt = None,
) -> None:
    """Score every observed cell and raise alerts on suspected fake base stations.

    Each alert has its evidence, first and last seen and track; optionally a STIX report
    is published to a hub.
    """
    from telsec.radio.detect import detect
    from telsec.radio.locate import geojson

    level = share_level(publish, bundle, tlp)
    observations, inventory, settings, events = _read(files, cells, input_format, config)
    with observations, progress_bar("detecting") as advance:
        found = detect(observations, inventory, settings, events, progress=advance)
    if fmt == ScanFormat.geojson:
        text = orjson.dumps(geojson(found.alerts), option=orjson.OPT_INDENT_2).decode() + "\n"
        if out:
            out.write_text(text)
        else:
            sys.stdout.write(text)
    elif fmt == ScanFormat.jsonl:
        lines = "".join(orjson.dumps(a).decode() + "\n" for a in found.alerts)
        if out:
            out.write_text(lines)
        else:
            sys.stdout.write(lines)
    else:
        rows = [
            {
                "cell": alert["id"],
                "score": alert["score"],
                "first seen": utc_time(alert["first_seen"]),
                "last seen": utc_time(alert["last_seen"]),
                "obs": alert["observations"],
                "where": _where(alert),
                "evidence": ", ".join(e["rule"].removeprefix("RADIO-") for e in alert["evidence"]),
            }
            for alert in found.alerts
        ]
        emit(rows, out=out, title="suspected fake base stations")
    err_console.print(
        f"{found.observations:,} observations of {found.cells:,} cells: {len(found.alerts)} alerts"
    )
    if level is not None:
        from telsec.radio.report import stix_bundle

        scanned = ", ".join(f.name for f in files)
        stix = stix_bundle(found.alerts, level, producer=producer, scanned=scanned)
        share(stix, publish, bundle, url, token)


def _where(alert: dict[str, Any]) -> str:
    track = alert.get("track") or []
    if not track:
        return ""
    last = track[-1]
    moving = " (moving)" if any(e["rule"] == "RADIO-MOVING" for e in alert["evidence"]) else ""
    return f"{last['lat']:.5f},{last['lon']:.5f} ±{last['radius_m']:.0f} m{moving}"


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="the folder to write")],
    scenario: Annotated[str, typer.Option(help="benign, a blaster scenario, or all")] = "all",
    seed: int = 1,
    observers: Annotated[int, typer.Option(min=2, help="phones (and a quarter as many vans)")] = 40,
) -> None:
    """Write a city's observations with SMS blasters, confounders and ground truth."""
    from telsec.radio.simulate import SCENARIOS, write_scenario

    if scenario not in (*SCENARIOS, "all"):
        fail(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}, all", 2)
    counts = write_scenario(out, scenario, seed, observers)
    err_console.print(
        f"wrote {counts['observations']:,} observations, {counts['cells']:,} inventory cells, "
        f"{counts['blasters']} blasters to {escape(str(out))}"
    )


@app.command()
def evaluate(
    folder: Annotated[Path, typer.Argument(help="a folder written by `telsec radio simulate`")],
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="table for people; json or jsonl for machines"),
    ] = OutputFormat.table,
) -> None:
    """Precision, recall, time to first detection and localisation error on a simulation."""
    from telsec.radio.evaluate import TruthError, read_truth
    from telsec.radio.evaluate import evaluate as score

    truth_path = folder / "truth.json"
    if not truth_path.is_file():
        fail(f"{folder} has no truth.json: write it with `telsec radio simulate`", 2)
    try:
        scenario, blasters = read_truth(truth_path.read_bytes())
    except TruthError as exc:
        fail(f"{truth_path}: not the ground truth `telsec radio simulate` writes: {exc}", 2)
        raise
    observations, inventory, settings, _events = _read(
        [folder / "observations.jsonl"], folder / "cells.csv", None, folder / "operator.toml"
    )
    with observations:
        frame = observations.frame()
    result = score(scenario, frame, inventory, settings, blasters)
    emit([result.as_dict()], fmt=fmt, title="detection and localisation")
