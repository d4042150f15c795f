"""TAXII 2.1 ingest and paging benchmark: telsec (SQLite, PostgreSQL) next to OASIS medallion.

For every target and corpus size the server is started fresh, the corpus is
POSTed in pre-serialised envelopes by ``--concurrency`` client connections, and
then paged through with filters.  A markdown table goes to stdout, progress to
stderr, and the full results to ``bench/results/<timestamp>.json``.

    .venv/bin/python bench/bench_taxii.py                       # the full run
    .venv/bin/python bench/bench_taxii.py --sizes 10000 --targets medallion

See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import math
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from measure import free_port
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from objects import Corpus, build_corpus

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
MEDALLION_VENV = BENCH_DIR / ".venv-medallion"
MEDALLION_REQUIREMENTS = BENCH_DIR / "requirements-medallion.txt"

TAXII_MEDIA = "application/taxii+json;version=2.1"
READ_HEADERS = {"Accept": TAXII_MEDIA}
POST_HEADERS = {"Accept": TAXII_MEDIA, "Content-Type": TAXII_MEDIA}
API_ROOT = "bench"
ALL_TARGETS = ("telsec-sqlite", "telsec-postgres", "medallion")
MEDALLION_USER = ("bench", "bench-password")

console = Console(stderr=True)


class BenchError(RuntimeError):
    """A target could not be benchmarked (the run records why and goes on)."""


class PageTimeout(BenchError):
    """A page request outlived ``--page-timeout``; the server is left busy."""


# ---------------------------------------------------------------------------
# small helpers


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100) or ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def utc_stamp(moment: datetime) -> str:
    """A TAXII timestamp with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def find_key(data: Any, key: str) -> Any:
    """The first value stored under ``key`` anywhere in a decoded JSON document."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        for value in data.values():
            found = find_key(value, key)
            if found is not None:
                return found
    elif isinstance(data, list):
        for value in data:
            found = find_key(value, key)
            if found is not None:
                return found
    return None


def parse_json_output(text: str) -> Any:
    """Decode a command's JSON output, tolerating log lines around it."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end < start:
            raise
        return orjson.loads(text[start : end + 1])


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def fmt_num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def fmt_p99(value: float | None, timed_out: bool, timeout_s: float) -> str:
    """A p99 cell; a page that outlived --page-timeout makes it "> timeout"."""
    if timed_out:
        return f"> {timeout_s * 1000:,.0f} (timeout)"
    return fmt_num(value, 1)


# ---------------------------------------------------------------------------
# servers


@dataclass
class Server:
    """A running TAXII server with one writable collection."""

    target: str
    base_url: str
    collection_id: str
    headers: dict[str, str]
    auth: tuple[str, str] | None
    process: subprocess.Popen[bytes]
    log_path: Path
    #: brings the database to rest after an ingest (a checkpoint); None: nothing to do
    settle: Callable[[], None] | None = None

    @property
    def api_root_url(self) -> str:
        return f"{self.base_url}/{API_ROOT}/"

    @property
    def objects_url(self) -> str:
        return f"{self.api_root_url}collections/{self.collection_id}/objects/"

    def status_url(self, status_id: str) -> str:
        return f"{self.api_root_url}status/{status_id}/"

    def client(self, timeout: float) -> httpx.Client:
        return httpx.Client(
            headers=self.headers,
            auth=self.auth,
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    def cpu_seconds(self) -> list[float]:
        """CPU time (user + system) of each process of the server: the one started
        and its children (uvicorn's workers), from /proc; empty where there is none."""
        clock = os.sysconf("SC_CLK_TCK")
        pids = [self.process.pid]
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids += [int(p) for p in children.read_text().split()]
        except OSError:
            return []
        out = []
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out.append((int(fields[11]) + int(fields[12])) / clock)  # utime, stime
        return out

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise BenchError(
                f"{self.target} exited with code {code}; log tail:\n{log_tail(self.log_path)}"
            )


def spawn(cmd: list[str], env: dict[str, str] | None, log_path: Path) -> subprocess.Popen[bytes]:
    """Start a server in its own process group, its output going to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`spawn` (its whole process group)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def wait_ready(server: Server, timeout: float) -> None:
    """Wait until the discovery endpoint answers 200, or fail with the log tail."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with server.client(5.0) as client:
        while time.monotonic() < deadline:
            server.check_alive()
            try:
                response = client.get(f"{server.base_url}/taxii2/", headers=READ_HEADERS)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.1)
    raise BenchError(
        f"{server.target} discovery did not answer 200 within {timeout:.0f} s ({last}); "
        f"log tail:\n{log_tail(server.log_path)}"
    )


def run_command(cmd: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(
            f"{what} failed ({' '.join(cmd)}), exit {result.returncode}:\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result.stdout


def telsec_executable(explicit: str | None) -> str:
    if explicit:
        return explicit
    beside = Path(sys.executable).with_name("telsec")
    if beside.exists():
        return str(beside)
    found = shutil.which("telsec")
    if found:
        return found
    raise BenchError("the telsec console script was not found (use --telsec-bin)")


def postgres_urls(admin_url: str, database: str) -> tuple[str, str]:
    """(psycopg URL of the admin database, SQLAlchemy URL of the bench database)."""
    parts = urlsplit(admin_url)
    scheme = parts.scheme.split("+", 1)[0]
    admin = urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    bench = urlunsplit((f"{scheme}+psycopg", parts.netloc, f"/{database}", parts.query, ""))
    return admin, bench


def recreate_database(admin_url: str, database: str, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def checkpoint_postgres(admin_url: str, database: str) -> None:
    """Finish PostgreSQL's write-back of the ingest (``CHECKPOINT``, as superuser)."""
    import psycopg

    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{database}"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def checkpoint_sqlite(database: Path) -> None:
    """Copy the ingest's WAL into the database file (what housekeeping does in steps)."""
    with contextlib.closing(sqlite3.connect(database, timeout=60)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def telsec_server(args: argparse.Namespace, workdir: Path, backend: str) -> Iterator[Server]:
    """Set up a fresh telsec (db upgrade, org, collection, token) and serve it."""
    telsec = telsec_executable(args.telsec_bin)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELSEC_")}
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env["TELSEC_DATA_DIR"] = str(data_dir)
    admin_url = ""
    if backend == "postgres":
        admin_url, database_url = postgres_urls(args.pg_admin_url, args.pg_database)
        recreate_database(admin_url, args.pg_database)
        env["TELSEC_DATABASE_URL"] = database_url
    process: subprocess.Popen[bytes] | None = None
    try:
        run_command([telsec, "db", "upgrade"], env, "telsec db upgrade")
        run_command([telsec, "admin", "org", "add", API_ROOT], env, "telsec admin org add")
        out = run_command(
            [
                telsec,
                "admin",
                "collection",
                "add",
                "--root",
                API_ROOT,
                "--title",
                "Bench",
                "--read",
                API_ROOT,
                "--write",
                API_ROOT,
                "--default-tlp",
                "green",
                "--format",
                "json",
            ],
            env,
            "telsec admin collection add",
        )
        collection_id = find_key(parse_json_output(out), "id")
        out = run_command(
            [
                telsec,
                "admin",
                "token",
                "issue",
                "--org",
                API_ROOT,
                "--role",
                "contributor",
                "--format",
                "json",
            ],
            env,
            "telsec admin token issue",
        )
        token = find_key(parse_json_output(out), "token")
        if not isinstance(collection_id, str) or not isinstance(token, str):
            raise BenchError(f"telsec admin output had no collection id or token: {out[:500]}")
        port = free_port()
        log_path = workdir / "server.log"
        process = spawn(
            [
                telsec,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.telsec_workers),
            ],
            env,
            log_path,
        )
        server = Server(
            target=f"telsec-{backend}",
            base_url=f"http://127.0.0.1:{port}",
            collection_id=collection_id,
            headers={"Authorization": f"Bearer {token}"},
            auth=None,
            process=process,
            log_path=log_path,
            settle=(
                functools.partial(checkpoint_postgres, admin_url, args.pg_database)
                if backend == "postgres"
                else functools.partial(checkpoint_sqlite, data_dir / "telsec.db")
            ),
        )
        wait_ready(server, args.startup_timeout)
        yield server
    finally:
        if process is not None:
            stop(process)
        if backend == "postgres" and not args.keep_workdir:
            try:
                recreate_database(admin_url, args.pg_database, drop_only=True)
            except Exception as exc:  # keep the results even if the drop fails
                console.print(f"[yellow]could not drop database {args.pg_database}: {exc}")


def ensure_medallion(python: str) -> Path:
    """bench/.venv-medallion with the pinned medallion; returns its console script."""
    script = MEDALLION_VENV / "bin" / "medallion"
    stamp = MEDALLION_VENV / ".requirements.sha256"
    digest = hashlib.sha256(MEDALLION_REQUIREMENTS.read_bytes()).hexdigest()
    if script.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return script
    console.print(f"[bold]setting up {MEDALLION_VENV} from {MEDALLION_REQUIREMENTS.name}")
    if not (MEDALLION_VENV / "bin" / "python").exists():
        subprocess.run([python, "-m", "venv", str(MEDALLION_VENV)], check=True)
    subprocess.run(
        [
            str(MEDALLION_VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(MEDALLION_REQUIREMENTS),
        ],
        check=True,
    )
    if not script.exists():
        raise BenchError(f"pip did not install the medallion console script in {MEDALLION_VENV}")
    stamp.write_text(digest + "\n")
    return script


def medallion_version() -> str | None:
    python = MEDALLION_VENV / "bin" / "python"
    if not python.exists():
        return None
    result = subprocess.run(
        [str(python), "-c", "import medallion; print(medallion.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or None


@contextlib.contextmanager
def medallion_server(args: argparse.Namespace, workdir: Path) -> Iterator[Server]:
    """medallion with its memory backend: one API root and one empty collection."""
    script = ensure_medallion(args.python)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    collection_id = str(uuid.uuid4())
    data = {
        "/discovery": {
            "title": "medallion (bench)",
            "description": "medallion memory backend for bench/bench_taxii.py",
            "default": f"{base_url}/{API_ROOT}/",
            "api_roots": [f"{base_url}/{API_ROOT}/"],
        },
        API_ROOT: {
            "information": {
                "title": "Bench",
                "description": "benchmark API root",
                "versions": [TAXII_MEDIA],
                "max_content_length": 256 * 1024 * 1024,
            },
            "status": [],
            "collections": [
                {
                    "id": collection_id,
                    "title": "Bench",
                    "description": "benchmark collection",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(workdir / "medallion-data.json"),
            # paging sessions ("next") must outlive a slow first page
            "session_timeout": 24 * 3600,
        },
        "users": {MEDALLION_USER[0]: MEDALLION_USER[1]},
        "taxii": {"max_page_size": args.limit},
    }
    (workdir / "medallion-data.json").write_bytes(orjson.dumps(data))
    config_path = workdir / "medallion-config.json"
    config_path.write_bytes(orjson.dumps(config))
    log_path = workdir / "server.log"
    process = spawn(
        [
            str(script),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "WARN",
            str(config_path),
        ],
        None,
        log_path,
    )
    try:
        server = Server(
            target="medallion",
            base_url=base_url,
            collection_id=collection_id,
            headers={},
            auth=MEDALLION_USER,
            process=process,
            log_path=log_path,
        )
        wait_ready(server, args.startup_timeout)
        yield server
    finally:
        stop(process)


def start_target(
    target: str, args: argparse.Namespace, workdir: Path
) -> contextlib.AbstractContextManager[Server]:
    if target == "telsec-sqlite":
        return telsec_server(args, workdir, "sqlite")
    if target == "telsec-postgres":
        return telsec_server(args, workdir, "postgres")
    if target == "medallion":
        return medallion_server(args, workdir)
    raise BenchError(f"unknown target {target!r}")


# ---------------------------------------------------------------------------
# ingest


@dataclass
class IngestResult:
    objects: int
    envelopes: int
    bytes: int
    seconds: float
    objects_per_s: float
    megabytes_per_s: float
    success_count: int
    failure_count: int
    pending_statuses: int
    post_p50_ms: float | None
    post_p99_ms: float | None
    concurrency: int
    #: CPU seconds each server process spent during the ingest (main process first)
    server_cpu_s: list[float] = field(default_factory=list)
    #: the benchmark's own CPU time while posting (it shares the machine's cores)
    client_cpu_s: float = 0.0


def run_ingest(
    server: Server, corpus: Corpus, args: argparse.Namespace, progress: Progress
) -> tuple[IngestResult, list[datetime | None]]:
    """POST every envelope; the clock stops when every status is complete.

    Also returns, per envelope, the wall-clock moment its POST was answered (a
    fallback for the added_after midpoint if the server sends no date headers).
    """
    envelopes = corpus.envelopes
    total = len(envelopes)
    lock = threading.Lock()
    next_index = 0
    stop_event = threading.Event()
    errors: list[str] = []
    pending: list[str] = []
    latencies: list[float] = []
    answered: list[datetime | None] = [None] * total
    counts = {"success": 0, "failure": 0}
    task = progress.add_task(f"{server.target} ingest", total=corpus.count)

    def tally(status: dict[str, Any]) -> None:
        with lock:
            counts["success"] += int(status.get("success_count", 0))
            counts["failure"] += int(status.get("failure_count", 0))

    def fail(message: str) -> None:
        with lock:
            errors.append(message)
            if len(errors) >= 3:
                stop_event.set()

    def worker() -> None:
        nonlocal next_index
        with server.client(args.post_timeout) as client:
            while not stop_event.is_set():
                with lock:
                    index = next_index
                    next_index += 1
                if index >= total:
                    return
                envelope = envelopes[index]
                started = time.perf_counter()
                try:
                    response = client.post(
                        server.objects_url, content=envelope.body, headers=POST_HEADERS
                    )
                    elapsed = time.perf_counter() - started
                    answered[index] = datetime.now(UTC)
                    if response.status_code not in (200, 201, 202):
                        fail(f"envelope {index}: HTTP {response.status_code} {response.text[:300]}")
                        continue
                    status = orjson.loads(response.content)
                    with lock:
                        latencies.append(elapsed * 1000)
                        if status.get("status") != "complete":
                            pending.append(str(status["id"]))
                    if status.get("status") == "complete":
                        tally(status)
                except Exception as exc:  # any failure fails the run, reported below
                    fail(f"envelope {index}: {exc!r}")
                    continue
                progress.advance(task, envelope.count)

    threads = [
        threading.Thread(target=worker, name=f"ingest-{i}", daemon=True)
        for i in range(args.concurrency)
    ]
    cpu_before = server.cpu_seconds()
    client_cpu_before = time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    polled = len(pending)
    if pending and not errors:
        deadline = time.monotonic() + args.post_timeout
        with server.client(args.post_timeout) as client:
            delay = 0.01
            while pending:
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"{len(pending)} statuses still pending {args.post_timeout:.0f} s "
                        "after the last POST"
                    )
                still: list[str] = []
                for status_id in pending:
                    response = client.get(server.status_url(status_id), headers=READ_HEADERS)
                    if response.status_code != 200:
                        raise BenchError(f"status {status_id}: HTTP {response.status_code}")
                    status = orjson.loads(response.content)
                    if status.get("status") == "complete":
                        tally(status)
                    else:
                        still.append(status_id)
                pending = still
                if pending:
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
    seconds = time.perf_counter() - started
    cpu_after = server.cpu_seconds()
    client_cpu = time.process_time() - client_cpu_before
    progress.remove_task(task)
    if errors:
        raise BenchError(f"{server.target} ingest failed: " + " | ".join(errors))
    result = IngestResult(
        objects=corpus.count,
        envelopes=total,
        bytes=corpus.nbytes,
        seconds=seconds,
        objects_per_s=corpus.count / seconds,
        megabytes_per_s=corpus.nbytes / seconds / 1e6,
        success_count=counts["success"],
        failure_count=counts["failure"],
        pending_statuses=polled,
        post_p50_ms=percentile(latencies, 50),
        post_p99_ms=percentile(latencies, 99),
        concurrency=args.concurrency,
        server_cpu_s=[round(b - a, 2) for a, b in zip(cpu_before, cpu_after, strict=False)],
        client_cpu_s=round(client_cpu, 2),
    )
    console.print(
        f"{server.target}: server CPU seconds per process {result.server_cpu_s}, "
        f"benchmark client {result.client_cpu_s}"
    )
    return result, answered


# ---------------------------------------------------------------------------
# paging


@dataclass
class PagingResult:
    name: str
    params: dict[str, str]
    pages: int = 0
    objects: int = 0
    seconds: float = 0.0
    objects_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    exhausted: bool = False
    expected_objects: int | None = None
    continuation: str = "next"
    error: str | None = None
    timed_out: bool = False
    latencies_ms: list[float] = field(default_factory=list)

    def finish(self) -> None:
        self.p50_ms = percentile(self.latencies_ms, 50)
        self.p99_ms = percentile(self.latencies_ms, 99)
        self.max_ms = max(self.latencies_ms) if self.latencies_ms else None
        if self.seconds > 0:
            self.objects_per_s = self.objects / self.seconds


def page_through(
    server: Server,
    client: httpx.Client,
    name: str,
    filters: dict[str, str],
    max_pages: int | None,
    limit: int,
    timeout: float,
    on_page: Callable[[int], None] | None = None,
) -> PagingResult:
    """Follow ``next`` (or, lacking it, X-TAXII-Date-Added-Last as added_after).

    Latency is the wall time of one GET, from sending the request to having the
    whole body; decoding the JSON happens outside it.
    """
    result = PagingResult(name=name, params=dict(filters))
    params = {**filters, "limit": str(limit)}
    started = time.perf_counter()
    try:
        while max_pages is None or result.pages < max_pages:
            sent = time.perf_counter()
            try:
                response = client.get(
                    server.objects_url, params=params, headers=READ_HEADERS, timeout=timeout
                )
            except httpx.TimeoutException as exc:
                raise PageTimeout(
                    f"page {result.pages + 1} of '{name}' took more than {timeout:.0f} s"
                ) from exc
            except httpx.HTTPError as exc:
                raise BenchError(f"page {result.pages + 1} of '{name}': {exc!r}") from exc
            elapsed_ms = (time.perf_counter() - sent) * 1000
            if response.status_code != 200:
                raise BenchError(
                    f"page {result.pages + 1} of '{name}': HTTP {response.status_code} "
                    f"{response.text[:300]}"
                )
            body = orjson.loads(response.content) if response.content else {}
            count = len(body.get("objects", []))
            result.pages += 1
            result.objects += count
            result.latencies_ms.append(elapsed_ms)
            if on_page is not None:
                on_page(count)
            if not body.get("more"):
                result.exhausted = True
                break
            next_token = body.get("next")
            if next_token:
                params = {**filters, "limit": str(limit), "next": str(next_token)}
                continue
            last_added = response.headers.get("X-TAXII-Date-Added-Last")
            if not last_added:
                result.error = "more=true without next or X-TAXII-Date-Added-Last"
                break
            result.continuation = "added_after"
            params = {**filters, "limit": str(limit), "added_after": last_added}
    except BenchError as exc:
        result.error = str(exc)
        result.timed_out = isinstance(exc, PageTimeout)
    finally:
        result.seconds = time.perf_counter() - started
        result.finish()
    return result


def find_midpoint(
    server: Server,
    corpus: Corpus,
    answered: list[datetime | None],
    timeout: float,
) -> tuple[str, str]:
    """added_after value splitting the stored objects in two, and where it came from.

    Preferred: the server's own date_added of the first object of the middle
    envelope (X-TAXII-Date-Added-First of a match[id] GET).  Fallback: the
    client's clock when the envelope before it was acknowledged.
    """
    middle = len(corpus.envelopes) // 2
    with server.client(timeout) as client:
        try:
            response = client.get(
                server.objects_url,
                params={"match[id]": corpus.envelopes[middle].first_id, "limit": "1"},
                headers=READ_HEADERS,
            )
        except httpx.TimeoutException as exc:
            raise PageTimeout(f"midpoint lookup took more than {timeout:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise BenchError(f"midpoint lookup: {exc!r}") from exc
        header = response.headers.get("X-TAXII-Date-Added-First")
        if response.status_code == 200 and header:
            # strictly after the object before it: step back one microsecond
            moment = datetime.fromisoformat(header.replace("Z", "+00:00"))
            before = moment - timedelta(microseconds=1)
            return utc_stamp(before), "server date_added of the middle envelope"
    moment = answered[max(middle - 1, 0)] or datetime.now(UTC)
    return utc_stamp(moment), "client clock at the middle envelope (server sent no date header)"


# ---------------------------------------------------------------------------
# one target at one size


@dataclass
class RunResult:
    target: str
    size: int
    stored: int
    capped: bool = False
    ingest: IngestResult | None = None
    midpoint: str | None = None
    midpoint_source: str | None = None
    filters: list[PagingResult] = field(default_factory=list)
    full_pass: PagingResult | None = None
    page_p50_ms: float | None = None
    page_p99_ms: float | None = None
    filtered_p50_ms: float | None = None
    filtered_p99_ms: float | None = None
    timed_out: bool = False
    filtered_timed_out: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    reused_from: int | None = None

    def summarise(self) -> None:
        every = [ms for f in self.filters for ms in f.latencies_ms]
        filtered = [ms for f in self.filters if f.params for ms in f.latencies_ms]
        self.page_p50_ms = percentile(every, 50)
        self.page_p99_ms = percentile(every, 99)
        self.filtered_p50_ms = percentile(filtered, 50)
        self.filtered_p99_ms = percentile(filtered, 99)
        pages = [*self.filters, *([self.full_pass] if self.full_pass else [])]
        self.timed_out = any(f.timed_out for f in pages)
        self.filtered_timed_out = any(f.timed_out for f in self.filters if f.params)


def benchmark_one(
    target: str, size: int, stored: int, corpus: Corpus, args: argparse.Namespace
) -> RunResult:
    run = RunResult(target=target, size=size, stored=stored, capped=stored != size)
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{target}-{stored}-"))
    console.rule(f"[bold]{target}[/] — {stored:,} objects")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    try:
        with start_target(target, args, workdir) as server, progress:
            ingest, answered = run_ingest(server, corpus, args, progress)
            run.ingest = ingest
            console.print(
                f"  ingest: {ingest.objects:,} objects in {ingest.seconds:,.1f} s = "
                f"[bold]{ingest.objects_per_s:,.0f} objects/s[/] "
                f"({ingest.success_count:,} ok, {ingest.failure_count:,} failed)"
            )
            if ingest.success_count != ingest.objects:
                run.notes.append(
                    f"{ingest.objects - ingest.success_count:,} objects not reported as stored"
                )
            if args.settle and server.settle is not None:
                started = time.perf_counter()
                server.settle()
                waited = time.perf_counter() - started
                console.print(f"  settled: the database checkpointed the ingest in {waited:.1f} s")
                run.notes.append(f"checkpoint before paging: {waited:.1f} s")
            run_paging(server, corpus, answered, run, args, progress)
    except (BenchError, httpx.HTTPError, OSError, subprocess.SubprocessError) as exc:
        run.error = str(exc) or repr(exc)
        console.print(f"[red]  {target} at {stored:,}:[/] {escape(str(exc))}")
    finally:
        if args.keep_workdir:
            console.print(f"  work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    run.summarise()
    return run


def advancer(progress: Progress, task: TaskID, per_object: bool) -> Callable[[int], None]:
    """A page callback advancing ``task`` by one page or by the objects read."""

    def advance(count: int) -> None:
        progress.advance(task, count if per_object else 1)

    return advance


def run_paging(
    server: Server,
    corpus: Corpus,
    answered: list[datetime | None],
    run: RunResult,
    args: argparse.Namespace,
    progress: Progress,
) -> None:
    types = corpus.type_counts()
    try:
        midpoint, source = find_midpoint(server, corpus, answered, args.page_timeout)
        run.midpoint, run.midpoint_source = midpoint, source
        half = sum(e.count for e in corpus.envelopes[len(corpus.envelopes) // 2 :])
        half_rel = sum(
            e.types.get("relationship", 0) for e in corpus.envelopes[len(corpus.envelopes) // 2 :]
        )
        plan: list[tuple[str, dict[str, str], int]] = [
            ("no filter", {}, corpus.count),
            ("match[type]=indicator", {"match[type]": "indicator"}, types["indicator"]),
            ("added_after=midpoint", {"added_after": midpoint}, half),
            (
                "match[type]=relationship&added_after=midpoint",
                {"match[type]": "relationship", "added_after": midpoint},
                half_rel,
            ),
        ]
        with server.client(args.page_timeout) as client:
            for name, filters, expected in plan:
                task = progress.add_task(escape(f"{server.target} pages: {name}"), total=args.pages)
                result = page_through(
                    server,
                    client,
                    name,
                    filters,
                    args.pages,
                    args.limit,
                    args.page_timeout,
                    on_page=advancer(progress, task, per_object=False),
                )
                progress.remove_task(task)
                result.expected_objects = expected
                run.filters.append(result)
                console.print(
                    escape(
                        f"  {name}: {result.pages} pages, p50 {fmt_num(result.p50_ms, 1)} ms, "
                        f"p99 {fmt_num(result.p99_ms, 1)} ms"
                        + (f" ({result.error})" if result.error else "")
                    )
                )
                if result.timed_out:
                    raise PageTimeout(result.error or "page timed out")
            if args.full_pass:
                task = progress.add_task(f"{server.target} full pass", total=corpus.count)
                full = page_through(
                    server,
                    client,
                    "full pass (no filter)",
                    {},
                    None,
                    args.limit,
                    args.page_timeout,
                    on_page=advancer(progress, task, per_object=True),
                )
                progress.remove_task(task)
                full.expected_objects = corpus.count
                run.full_pass = full
                if full.timed_out:
                    raise PageTimeout(full.error or "page timed out")
                if full.objects != corpus.count:
                    run.notes.append(
                        f"full pass returned {full.objects:,} of {corpus.count:,} objects"
                    )
                console.print(
                    f"  full pass: {full.objects:,} objects in {full.pages} pages, "
                    f"{full.seconds:,.1f} s = [bold]{fmt_num(full.objects_per_s)} objects/s"
                )
    except PageTimeout as exc:
        run.notes.append(f"paging stopped: {exc}")
        console.print(f"[yellow]  paging stopped:[/] {escape(str(exc))}")


# ---------------------------------------------------------------------------
# report


def markdown_report(runs: list[RunResult], args: argparse.Namespace) -> str:
    lines = [
        f"## TAXII ingest / paging benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"envelopes of {args.batch} objects, {args.concurrency} client connections, "
        f"pages of limit={args.limit}, up to {args.pages} pages per filter.",
        "",
        "| target | objects | ingest objects/s | ingest s | page p50 ms | page p99 ms "
        "| filtered p99 ms | full pass objects/s | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        notes = list(run.notes)
        if run.capped:
            notes.insert(0, f"CAPPED at --medallion-max: {run.stored:,} objects, not {run.size:,}")
        if run.reused_from is not None:
            notes.insert(1, "same run as the row above (capped size already measured)")
        if run.error:
            notes.append(f"ERROR: {run.error.splitlines()[0][:200]}")
        ingest = run.ingest
        full = run.full_pass
        size = f"{run.stored:,}" + (f" (asked {run.size:,})" if run.capped else "")
        lines.append(
            "| "
            + " | ".join(
                [
                    run.target,
                    size,
                    fmt_num(ingest.objects_per_s if ingest else None),
                    fmt_num(ingest.seconds if ingest else None, 1),
                    fmt_num(run.page_p50_ms, 1),
                    fmt_p99(run.page_p99_ms, run.timed_out, args.page_timeout),
                    fmt_p99(run.filtered_p99_ms, run.filtered_timed_out, args.page_timeout),
                    fmt_num(full.objects_per_s if full and not full.timed_out else None),
                    "; ".join(notes).replace("|", "/"),
                ]
            )
            + " |"
        )
    lines += [
        "",
        "### Page latency per filter",
        "",
        "| target | objects | filter | pages | objects read | p50 ms | p99 ms | max ms |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        if run.reused_from is not None:
            continue
        for f in [*run.filters, *([run.full_pass] if run.full_pass else [])]:
            lines.append(
                f"| {run.target} | {run.stored:,} | {f.name} | {f.pages} | {f.objects:,} | "
                f"{fmt_num(f.p50_ms, 1)} | {fmt_p99(f.p99_ms, f.timed_out, args.page_timeout)} | "
                f"{fmt_p99(f.max_ms, f.timed_out, args.page_timeout)} |"
            )
    lines += ["", "### Targets (from the issue)", ""]
    lines += target_checks(runs)
    return "\n".join(lines) + "\n"


def target_checks(runs: list[RunResult]) -> list[str]:
    def verdict(ok: bool) -> str:
        return "**PASS**" if ok else "**FAIL**"

    out: list[str] = []
    measured = [r for r in runs if r.ingest is not None and r.reused_from is None]
    sqlite = [r for r in measured if r.target == "telsec-sqlite"]
    for r in sqlite:
        rate = r.ingest.objects_per_s if r.ingest else 0.0
        out.append(
            f"- SQLite ingest >= 20,000 objects/s at {r.stored:,}: "
            f"{rate:,.0f} objects/s {verdict(rate >= 20000)}"
        )
    if not sqlite:
        out.append("- SQLite ingest >= 20,000 objects/s: not measured")
    big = [r for r in measured if r.target.startswith("telsec") and r.stored >= 1_000_000]
    for r in big:
        p99 = r.filtered_p99_ms
        out.append(
            f"- {r.target}: filtered 1000-object page p99 <= 50 ms with {r.stored:,} stored: "
            + (f"{p99:,.1f} ms {verdict(p99 <= 50)}" if p99 is not None else "not measured")
        )
    if not big:
        out.append("- filtered page p99 <= 50 ms with 1M stored: not measured (no telsec 1M run)")
    medallion = [r for r in measured if r.target == "medallion"]
    for r in sqlite:
        same = [m for m in medallion if m.stored == r.stored]
        ref = same[0] if same else (max(medallion, key=lambda m: m.stored) if medallion else None)
        if ref is None or ref.ingest is None or r.ingest is None:
            out.append(f"- >= 20x medallion's ingest rate at {r.stored:,}: no medallion run")
            continue
        ratio = r.ingest.objects_per_s / ref.ingest.objects_per_s
        caveat = (
            ""
            if ref.stored == r.stored
            else f" (medallion measured at {ref.stored:,} only; its rate falls as it grows)"
        )
        out.append(
            f"- telsec-sqlite at {r.stored:,} vs medallion at {ref.stored:,}: "
            f"{ratio:,.1f}x medallion's ingest rate {verdict(ratio >= 20)}{caveat}"
        )
    return out


# ---------------------------------------------------------------------------
# main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="TAXII 2.1 ingest and paging benchmark: telsec vs OASIS medallion.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--targets",
        default=",".join(ALL_TARGETS),
        help=f"comma-separated, from {', '.join(ALL_TARGETS)}",
    )
    parser.add_argument(
        "--sizes", default="100000,1000000", help="comma-separated corpus sizes (objects)"
    )
    parser.add_argument(
        "--medallion-max",
        type=int,
        default=100_000,
        help="largest corpus given to medallion (in-memory and slow); bigger sizes are capped",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="client connections for POST")
    parser.add_argument("--batch", type=int, default=1000, help="objects per POSTed envelope")
    parser.add_argument("--limit", type=int, default=1000, help="limit= of each page")
    parser.add_argument("--pages", type=int, default=20, help="pages read per filter")
    parser.add_argument(
        "--full-pass",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also page through every stored object without a filter",
    )
    parser.add_argument(
        "--settle",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="checkpoint the database after the ingest, so that pages are timed on a "
        "database at rest rather than during the ingest's write-back",
    )
    parser.add_argument("--seed", type=int, default=20251123, help="corpus generator seed")
    parser.add_argument(
        "--post-timeout", type=float, default=900.0, help="seconds allowed for one POST"
    )
    parser.add_argument(
        "--page-timeout",
        type=float,
        default=600.0,
        help="seconds allowed for one page GET; past it paging of that run stops",
    )
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    parser.add_argument("--telsec-bin", default=None, help="telsec console script")
    parser.add_argument(
        "--telsec-workers", type=int, default=2, help="telsec serve --workers (one per core)"
    )
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL database used to create and drop the bench database",
    )
    parser.add_argument("--pg-database", default="telsec_bench")
    parser.add_argument(
        "--python", default="python3", help="interpreter that creates bench/.venv-medallion"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep server data, logs and the PostgreSQL database",
    )
    args = parser.parse_args(argv)
    args.target_list = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in args.target_list if t not in ALL_TARGETS]
    if unknown:
        parser.error(f"unknown targets: {', '.join(unknown)}")
    args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    for size in [*args.size_list, args.medallion_max]:
        if size <= 0 or size % args.batch:
            parser.error(f"size {size} is not a positive multiple of --batch {args.batch}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan: list[tuple[str, int, int]] = []
    for size in args.size_list:
        for target in args.target_list:
            stored = min(size, args.medallion_max) if target == "medallion" else size
            if stored != size:
                console.print(
                    f"[bold yellow]medallion is CAPPED at {stored:,} objects for the "
                    f"{size:,} size (--medallion-max {args.medallion_max:,})"
                )
            plan.append((target, size, stored))

    if "medallion" in args.target_list:
        ensure_medallion(args.python)

    largest = max(stored for _, _, stored in plan)
    with Progress(
        TextColumn("generating corpus"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("corpus", total=largest)
        started = time.perf_counter()
        corpus = build_corpus(
            largest, args.batch, args.seed, progress=lambda n: progress.advance(task, n)
        )
    console.print(
        f"corpus: {corpus.count:,} objects, {corpus.nbytes / 1e6:,.1f} MB "
        f"({corpus.nbytes / corpus.count:,.0f} B/object) in "
        f"{time.perf_counter() - started:,.1f} s"
    )

    runs: list[RunResult] = []
    done: dict[tuple[str, int], RunResult] = {}
    for target, size, stored in plan:
        previous = done.get((target, stored))
        if previous is not None:
            copy = RunResult(**{**previous.__dict__, "size": size, "capped": True})
            copy.reused_from = stored
            runs.append(copy)
            continue
        run = benchmark_one(target, size, stored, corpus.prefix(stored), args)
        done[(target, stored)] = run
        runs.append(run)

    report = markdown_report(runs, args)
    print(report)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = args.results_dir / f"{stamp}.json"
    document = {
        "started": stamp,
        "argv": sys.argv[1:],
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {"medallion": medallion_version(), "httpx": httpx.__version__},
        "corpus": {
            "objects": corpus.count,
            "bytes": corpus.nbytes,
            "avg_object_bytes": corpus.nbytes / corpus.count,
            "types": dict(corpus.type_counts()),
            "seed": args.seed,
        },
        "runs": [asdict(run) for run in runs],
        "report_markdown": report,
    }
    out_path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(f"results written to {out_path}")
    return 1 if any(run.error for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
