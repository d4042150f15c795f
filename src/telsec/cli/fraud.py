"""``telsec fraud``: spam and scam reports into campaigns, blocklists and a model."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape

from telsec.cli.output import (
    ListFormat,
    OutputFormat,
    emit,
    err_console,
    fail,
    none_kept,
    progress_bar,
    utc_time,
    worker_processes,
    write_list,
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
    help="Spam and scam reports: classify, cluster into campaigns, block and share.",
    no_args_is_help=True,
)
# beside the project checkout (src/telsec/cli/fraud.py -> ../shared/data/sms)
SHARED_SMS = Path(__file__).resolve().parents[4] / "shared" / "data" / "sms"


class ReportFormat(StrEnum):
    parquet = "parquet"
    jsonl = "jsonl"
    csv = "csv"


InputFormatOpt = Annotated[
    str | None, typer.Option("--input-format", help="csv|jsonl (else detected)")
]
RegionOpt = Annotated[
    str | None,
    typer.Option(help="country (ISO 3166) for national numbers when the reporter's is unknown"),
]


WorkersOpt = Annotated[
    int | None, typer.Option(min=1, help="processes for ingest and classification (all cores)")
]


@contextmanager
def _reports(
    files: list[Path], input_format: str | None, region: str | None, workers: int | None = None
) -> Iterator[Any]:
    """The reports of report files (and of ingested Parquet files), classified,
    in a :class:`~telsec.fraud.store.ReportStore` (on disk, deleted after)."""
    import polars as pl

    from telsec.config import load_settings
    from telsec.fraud.pipeline import Ingester
    from telsec.fraud.records import Ingest, ReaderError
    from telsec.fraud.store import ReportStore, SpillError, StoreError
    from telsec.privacy import Pseudonymiser, pseudonym_key

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}", 2)
    ingest = Ingest(Pseudonymiser(pseudonym_key(load_settings().data_dir)), region)
    try:
        with ReportStore() as store, Ingester(ingest, store, worker_processes(workers)) as ingester:
            for path in files:
                try:
                    if path.suffix.lower() == ".parquet":
                        rows = ingester.add_ingested(path)
                        err_console.print(f"{escape(str(path))}: {rows:,} ingested reports")
                    else:
                        rows = _read(ingester, path, input_format)
                        err_console.print(f"{escape(str(path))}: {rows:,} reports")
                except (ReaderError, StoreError) as exc:
                    fail(str(exc), 2)
            ingester.close()
            _tell_counts(ingest.counts, store)
            yield store
    except SpillError as exc:
        fail(str(exc), 1)
    except pl.exceptions.PolarsError as exc:  # a given Parquet file damaged inside
        fail(f"cannot read the reports: {exc}", 1)


def _read(ingester: Any, path: Path, input_format: str | None) -> int:
    """A report file into the store, with a progress bar; the reports kept."""
    size = path.stat().st_size
    with progress_bar(f"reading {escape(path.name)}") as advance:
        rows: int = ingester.add(path, input_format, lambda done: advance(done, size))
        return rows


def _tell_counts(counts: Any, store: Any) -> None:
    """Rejected rows by reason, notes and flags, on standard error."""
    for reason, count in counts.rejected.most_common():
        err_console.print(f"  rejected {count:,}: {escape(reason)}")
    for note, count in counts.notes.most_common():
        err_console.print(f"  note {count:,}: {escape(note)}")
    if not store.parts:
        fail(f"no reports to work on ({none_kept(counts.read)})")
    flags = (
        store.scan(["flags"])
        .explode("flags")
        .drop_nulls()
        .group_by("flags")
        .len()
        .sort("len", "flags", descending=[True, False])
        .collect(engine="streaming")
    )
    for flag, count in flags.iter_rows():
        err_console.print(f"  flagged {count:,}: {escape(flag)}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="report files (CSV or JSONL)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write here")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.jsonl,
    input_format: InputFormatOpt = None,
    region: RegionOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Read, pseudonymise, enrich and classify reports; write them for ``campaigns``."""

    if fmt == ReportFormat.parquet and out is None:
        fail("--format parquet needs --out", 2)
    with _reports(files, input_format, region, workers) as store:
        reports = store.scan()
        if fmt == ReportFormat.parquet:
            assert out is not None
            reports.sink_parquet(out)
        else:
            with out.open("w", encoding="utf-8") if out else nullcontext(sys.stdout) as handle:
                first = True
                for batch in store.batches():
                    if fmt == ReportFormat.csv:
                        flat = batch.with_columns(
                            batch[c].list.join(" ").alias(c)
                            for c, t in batch.schema.items()
                            if t.is_nested()
                        )
                        flat.write_csv(handle, include_header=first)
                    else:
                        for row in batch.iter_rows(named=True):
                            handle.write(orjson.dumps(row).decode() + "\n")
                    first = False
        counts = (
            reports.group_by("category")
            .len()
            .sort("len", "category", descending=[True, False])
            .collect(engine="streaming")
        )
    total = int(counts["len"].sum())
    err_console.print(
        f"{total:,} reports: " + ", ".join(f"{n:,} {c}" for c, n in counts.iter_rows())
    )


def _jsonl(path: Path | None, what: str, wanted: Callable[[dict[str, Any]], bool]) -> list[Any]:
    """The objects of a JSON lines file that another command wrote: those that
    are ``wanted``; the other lines are counted, and a file of none is an error."""
    from telsec.rejections import Rejections, json_objects

    if path is None:
        return []
    if not path.is_file():
        fail(f"no such file: {path}", 2)
    others = Rejections()  # lines that are not JSON objects: counted with the rest
    objects = list(json_objects(path.read_bytes().splitlines(), others))
    kept = [item for item in objects if wanted(item)]
    lines = len(objects) + others.read
    if lines and not kept:
        fail(f"{path}: none of its {lines:,} lines is {what}", 2)
    left = lines - len(kept)
    if left:
        lines_are = "1 line that is" if left == 1 else f"{left:,} lines that are"
        err_console.print(f"{escape(str(path))}: {lines_are} not {what} left out")
    return kept


def _is_alert(line: dict[str, Any]) -> bool:
    return isinstance(line.get("id"), str) and isinstance(line.get("track"), list)


def _is_source(line: dict[str, Any]) -> bool:
    named = line.get("source") or line.get("global_title")
    return line.get("record", "source") == "source" and isinstance(named, str)


@app.command()
def campaigns(
    files: Annotated[list[Path], typer.Argument(help="report files, or ingested .parquet")],
    blasters: Annotated[
        Path | None, typer.Option(help="radio alerts (telsec radio scan -f jsonl) to link")
    ] = None,
    signalling: Annotated[
        Path | None,
        typer.Option(help="signalling sources (telsec signalling scan --view sources -f jsonl)"),
    ] = None,
    include_ham: Annotated[
        bool, typer.Option("--include-ham", help="also list clusters the model calls ham")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
    input_format: InputFormatOpt = None,
    region: RegionOpt = None,
    workers: WorkersOpt = None,
    publish: PublishOpt = None,
    tlp: TlpOpt = None,
    bundle: BundleOpt = None,
    producer: ProducerOpt = None,
    url: UrlOpt = "http://127.0.0.1:8000",
    token: TokenOpt = None,
) -> None:
    """Campaigns: near-duplicate texts joined by shared domains, senders and numbers."""
    from telsec.fraud.campaigns import link_blasters, link_signalling, summarise
    from telsec.fraud.pipeline import stored_campaigns

    level = share_level(publish, bundle, tlp)
    alerts = _jsonl(blasters, "a radio alert (telsec radio scan -f jsonl)", _is_alert)
    sources = _jsonl(
        signalling, "a signalling source (telsec signalling scan --view sources)", _is_source
    )
    with _reports(files, input_format, region, workers) as store:
        with err_console.status(f"clustering {store.rows:,} reports"):
            reports = stored_campaigns(store)
            found = summarise(reports)
            link_blasters(found, reports, alerts)
    link_signalling(found, sources)
    if not include_ham:
        found = [c for c in found if c["category"] != "ham"]
    err_console.print(f"{len(found):,} campaigns")
    if fmt == OutputFormat.table:
        rows = [
            {
                "campaign": c["name"],
                "reports": c["reports"],
                "reporters": c["reporters"],
                "first seen": utc_time(c["first_seen"]),
                "last seen": utc_time(c["last_seen"]),
                "networks": c["networks"][:3],
                "senders": c["senders"][:3],
                "domains, IPs": (c["domains"] + c["ip_addresses"])[:3],
                "links": [b["alert"] for b in c["blasters"]]
                + [g["global_title"] for g in c["global_titles"]],
            }
            for c in found
        ]
        emit(rows, fmt=fmt, out=out, title="fraud campaigns")
    else:
        emit(found, fmt=fmt, out=out)
    if level is not None:
        from telsec.fraud.report import stix_bundle

        scanned = ", ".join(f.name for f in files)
        stix = stix_bundle(found, level, producer=producer, scanned=scanned)
        share(stix, publish, bundle, url, token)


@app.command()
def blocklist(
    files: Annotated[list[Path], typer.Argument(help="report files, or ingested .parquet")],
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
    input_format: InputFormatOpt = None,
    region: RegionOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Domains, IP addresses, URLs, senders and callbacks of the campaigns, for SMS firewalls."""
    from telsec.fraud.campaigns import summarise
    from telsec.fraud.pipeline import stored_campaigns

    with _reports(files, input_format, region, workers) as store:
        found = summarise(stored_campaigns(store))
    rows = []
    for campaign in found:
        if campaign["category"] == "ham":
            continue
        for kind, key in (
            ("domain", "domains"),
            ("ip", "ip_addresses"),
            ("url", "urls"),
            ("sender", "senders"),
            ("callback", "callbacks"),
        ):
            for value in campaign[key]:
                rows.append(
                    {
                        "kind": kind,
                        "value": value,
                        "campaign": campaign["id"],
                        "name": campaign["name"],
                        "category": campaign["category"],
                        "reports": campaign["reports"],
                    }
                )
    write_list(rows, ["kind", "value", "campaign", "name", "category", "reports"], fmt, out)
    err_console.print(f"{len(rows):,} entries")


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="the report file to write (JSONL)")],
    reports: Annotated[int, typer.Option(min=1, help="how many reports")] = 10_000,
    seed: Annotated[int, typer.Option()] = 1,
    hostile: Annotated[bool, typer.Option(help="add malformed reports")] = False,
) -> None:
    """Reports with known campaigns; their labels go beside them (``.labels.jsonl``)."""
    from telsec.fraud.simulate import simulate as generate

    rows, labels = generate(reports, seed, hostile)
    with out.open("wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")
    labels_path = out.with_suffix(".labels.jsonl")
    with labels_path.open("wb") as handle:
        for report_id, campaign in labels.items():
            handle.write(orjson.dumps({"report_id": report_id, "campaign": campaign}) + b"\n")
    err_console.print(
        f"{len(rows):,} reports in {escape(str(out))}, labels in {escape(str(labels_path))}"
    )


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="where to write the model (.npz)")],
    data: Annotated[Path, typer.Option(help="the folder of the two SMS sets")] = SHARED_SMS,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Train the classifier from the CC BY 4.0 SMS sets; print its held-out scores."""
    from telsec.fraud.classify import DataError
    from telsec.fraud.classify import train as fit

    try:
        model, report = fit(data, seed)
    except DataError as exc:
        fail(str(exc), 2)
        raise
    model.save(out)
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="the folder of the two SMS sets")] = SHARED_SMS,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """The classifier's scores on the held-out split (trained on the rest)."""
    from telsec.fraud.classify import DataError, shipped_model
    from telsec.fraud.classify import evaluate as score

    try:
        result = score(shipped_model(), data, seed)
    except DataError as exc:
        fail(str(exc), 2)
        raise
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
