"""Writing results: tables for people, JSON / JSON Lines for machines."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Any, TextIO, TypeVar

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from telsec.config import usable_cores
from telsec.stix.timestamps import readable

#: Messages on standard error, one line each whatever their length (logs are grepped).
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> None:
    """A one-line error on standard error, then exit (1: failed, 2: usage)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


#: Worker processes per core beyond which more only cost memory (and a typo,
#: ``--workers 10000``, would fork until the machine stops).
WORKERS_PER_CORE = 4


def worker_processes(requested: int | None) -> int:
    """How many processes ``--workers`` runs: one per core this process may use
    for None or 0; at most :data:`WORKERS_PER_CORE` per core, with a note if lowered."""
    cores = usable_cores()
    if not requested:
        return cores
    if requested > WORKERS_PER_CORE * cores:
        err_console.print(
            f"[yellow]note:[/] {requested:,} workers on {cores} cores: running "
            f"{WORKERS_PER_CORE * cores} ({WORKERS_PER_CORE} per core); more would only cost memory"
        )
        return WORKERS_PER_CORE * cores
    return requested


def none_kept(read: int) -> str:
    """Why nothing was kept from ``read`` rows, for an error message."""
    if not read:
        return "no rows in the input"
    return "1 row read and rejected" if read == 1 else f"{read:,} rows read, every one rejected"


class ListFormat(StrEnum):
    """Lists for other systems (firewalls, blocklists)."""

    csv = "csv"
    jsonl = "jsonl"


def write_list(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: ListFormat, out: Path | None
) -> None:
    """``rows`` as CSV (with a header) or JSON lines, to ``out`` or standard output."""
    with out.open("w", encoding="utf-8", newline="") if out else nullcontext(sys.stdout) as handle:
        if fmt == ListFormat.csv:
            writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            for row in rows:
                handle.write(orjson.dumps(row).decode() + "\n")


def utc_time(seconds: float) -> str:
    """Epoch seconds as people read them in a table (UTC)."""
    return readable(round(seconds * 1_000_000))


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


def emit(
    rows: Sequence[dict[str, Any]],
    *,
    columns: Sequence[str] | None = None,
    fmt: OutputFormat = OutputFormat.table,
    out: Path | None = None,
    title: str | None = None,
) -> None:
    """Write ``rows`` to ``out`` (standard output when None) in ``fmt``."""
    handle: TextIO
    if out is None:
        _write(rows, columns, fmt, sys.stdout, title)
        return
    with out.open("w", encoding="utf-8") as handle:
        _write(rows, columns, fmt, handle, title)


def _write(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] | None,
    fmt: OutputFormat,
    handle: TextIO,
    title: str | None,
) -> None:
    if fmt == OutputFormat.json:
        handle.write(orjson.dumps(list(rows), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == OutputFormat.jsonl:
        for row in rows:
            handle.write(orjson.dumps(row).decode() + "\n")
    else:
        write_table(rows, columns, handle, title)


def write_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] | None,
    handle: TextIO,
    title: str | None = None,
) -> None:
    """A table for people (rich), 200 columns wide when not on a terminal."""
    cols = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=escape(title) if title else None, show_lines=False)
    for col in cols:
        table.add_column(escape(col))
    for row in rows:
        table.add_row(*(escape(_cell(row.get(col))) for col in cols))
    Console(file=handle, width=200 if not handle.isatty() else None).print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


F = TypeVar("F", bound=Callable[..., Any])


def handled(func: F) -> F:
    """Turn the errors people can act on into a one-line message and exit 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from telsec.exchange.client import ClientError
        from telsec.federation.peers import FederationError
        from telsec.members.service import MembersError
        from telsec.storage.db import DatabaseUnavailable

        try:
            return func(*args, **kwargs)
        except (
            MembersError,
            FederationError,
            ClientError,
            DatabaseUnavailable,
            OSError,
        ) as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def when(us: int | None) -> str:
    """A time in microseconds since the epoch, for tables (UTC, to the second)."""
    return readable(us)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[float, float], None]]:
    """A progress bar on standard error, gone when done; yields ``advance(done, total)``."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=1.0)
        yield lambda done, total: bar.update(task, completed=done / max(total, 1e-9))
