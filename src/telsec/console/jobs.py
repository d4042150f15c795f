"""Uploads: a file dropped in the console, analysed in the background, reviewed,
then published.

The kind of file is recognised from its content: a pcap/pcapng capture goes to
the signalling screen (with the node's policy, or one uploaded beside it),
unless it is a phone's device log (GSMTAP, raw NAS), which goes to the radio
detector's device heuristics like a Rayhunter report does (with the report's
own capture beside it to place its warnings on cells), cell observations to
the radio detector (with a cell inventory), customer
spam reports to the fraud campaign finder, and STIX (bundle, envelope, array
or JSON Lines) is published as it is.  Each analyser is the one the CLI uses;
this module only runs it on a worker thread, reports progress, and keeps the
result until the user publishes it with the collection and TLP they choose.
Jobs live in memory, belong to the user who uploaded, and their files are
deleted as soon as the analysis ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from telsec.radio.device import is_device_capture, read_gsmtap
from telsec.radio.rayhunter import is_report
from telsec.stix.timestamps import format_timestamp
from telsec.stix.tlp import Tlp, tlp_of

KINDS = {
    "capture": "signalling capture (pcap/pcapng)",
    "observations": "radio cell observations",
    "device": "radio device log (GSMTAP capture or Rayhunter report)",
    "reports": "customer spam reports",
    "stix": "STIX objects",
}
#: largest upload accepted
MAX_BYTES = 200 * 1024 * 1024
#: how long a finished job is kept for review
KEEP_SECONDS = 6 * 3600
#: how often a running analysis saves its progress, and after how long without a
#: save a job counts as interrupted
HEARTBEAT_SECONDS = 0.5
STALE_SECONDS = 30.0
#: review rows kept per job
MAX_ROWS = 5000
#: the build placeholder for the TLP chosen at publication (analysers never pick RED)
_PLACEHOLDER = Tlp.RED
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{16}")

_PCAP_MAGIC = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


class UploadError(ValueError):
    """The upload cannot be analysed; the message says why, for the user."""


def detect_kind(head: bytes, filename: str) -> str:
    """What an uploaded file is, from its first bytes (and its name for CSV)."""
    if head[:4] in _PCAP_MAGIC or head[:4] == _PCAPNG_MAGIC:
        return "capture"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:4096].decode("utf-8", "replace")
    lowered = text.lower()
    if is_report(text):
        return "device"
    if text.startswith(("{", "[")):
        if '"spec_version"' in text or '"type": "bundle"' in text or '"type":"bundle"' in text:
            return "stix"
        if any(k in lowered for k in ('"mcc"', '"rsrp"', '"cellid"', '"cell_id"', '"rssi"')):
            return "observations"
        if any(k in lowered for k in ('"text"', '"message"', '"body"', '"sms"')):
            return "reports"
        return "stix"
    first = lowered.splitlines()[0] if lowered else ""
    if any(k in first for k in ("mcc", "rsrp", "cid", "lac", "tac", "mnc")):
        return "observations"
    if any(k in first for k in ("text", "message", "body", "sms")):
        return "reports"
    raise UploadError(
        f"{filename}: not a capture, observations, spam reports or STIX file that telsec recognises"
    )


@dataclass
class Job:
    id: str
    owner: str  # user name
    org: str
    filename: str
    kind: str
    size: int
    state: str = "queued"  # queued | running | done | failed | published
    progress: float = 0.0
    message: str = ""
    started: float = field(default_factory=time.time)
    #: when the worker running the analysis last saved it (a heartbeat)
    updated: float = field(default_factory=time.time)
    #: rows for the review table, and their columns
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: what was skipped: reason -> count
    skipped: dict[str, int] = field(default_factory=dict)
    #: builds the STIX objects to publish for a producer; objects left unmarked take
    #: the TLP chosen at publication (set by the analyser; never saved)
    build: Callable[[str], list[dict[str, Any]]] | None = None
    published: dict[str, Any] | None = None

    #: how many review rows the analysis made (the first MAX_ROWS are kept)
    row_count: int = 0

    def status(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "progress": round(self.progress, 3),
            "message": self.message,
            "kind": self.kind,
            "rows": self.row_count,
        }

    def record(self) -> dict[str, Any]:
        """What job.json holds (the rows are saved beside it)."""
        return {k: v for k, v in vars(self).items() if k not in ("rows", "build")}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Job:
        return cls(**{k: v for k, v in record.items() if k in _JOB_FIELDS})


_JOB_FIELDS = {f.name for f in fields(Job)} - {"rows", "build"}


@dataclass
class Settings:
    """Node-wide inputs the analysers need when the user does not upload their own."""

    signalling_policy: Path | None = None
    cell_inventory: Path | None = None
    data_dir: Path = Path("data")


def mark(objects: list[dict[str, Any]], level: Tlp) -> list[dict[str, Any]]:
    """The objects to publish (changed in place): those without a TLP marking take
    ``level``; the others (an uploader's own markings, the vocabulary) keep theirs."""
    for obj in objects:
        if isinstance(obj, dict) and tlp_of(obj) is None and "id" in obj:
            obj["object_marking_refs"] = [*(obj.get("object_marking_refs") or []), level.marking_id]
    return objects


def unmarked(objects: list[dict[str, Any]], placeholder: Tlp) -> list[dict[str, Any]]:
    """An analyser's objects built at ``placeholder`` with that marking taken off, so
    that they take the level chosen at publication (the vocabulary keeps CLEAR)."""
    for obj in objects:
        refs = [r for r in obj.get("object_marking_refs") or [] if r != placeholder.marking_id]
        if refs:
            obj["object_marking_refs"] = refs
        else:
            obj.pop("object_marking_refs", None)
    return objects


class AlreadyPublishing(RuntimeError):
    """Another request is publishing (or has published) this job."""


class Jobs:
    """The node's upload jobs, run two at a time per worker process.

    A job lives in a folder of ``<data_dir>/uploads`` (``job.json``, the review rows,
    and the STIX objects ready to publish), so that every worker process of the node
    sees every job and a restart forgets nothing: the process that runs an analysis
    saves its progress twice a second, and a job whose saves stop for
    :data:`STALE_SECONDS` is reported as interrupted.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.data_dir) / "uploads"
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="telsec-upload")

    # ------------------------------------------------------------- storage

    def _folder(self, job_id: str) -> Path | None:
        if not _JOB_ID.fullmatch(job_id):
            return None
        return self.root / job_id

    def _save(self, job: Job, *, rows: bool = False) -> None:
        folder = self.root / job.id
        job.updated = time.time()
        if rows:
            _write_atomic(folder / "rows.json", orjson.dumps(job.rows[:MAX_ROWS]))
            job.row_count = len(job.rows)
        _write_atomic(folder / "job.json", orjson.dumps(job.record()))

    def _load(self, job_id: str, *, with_rows: bool) -> Job | None:
        folder = self._folder(job_id)
        if folder is None:
            return None
        try:
            job = Job.from_record(orjson.loads((folder / "job.json").read_bytes()))
        except (OSError, orjson.JSONDecodeError, TypeError):
            return None
        if job.state in ("queued", "running") and time.time() - job.updated > STALE_SECONDS:
            job.state = "failed"
            job.message = "the analysis was interrupted (the server restarted); upload it again"
        if with_rows and job.state in ("done", "published"):
            try:
                job.rows = orjson.loads((folder / "rows.json").read_bytes())
            except (OSError, orjson.JSONDecodeError):
                job.rows = []
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        job = self._load(job_id, with_rows=True)
        return job if job is not None and job.owner == owner else None

    def mine(self, owner: str) -> list[Job]:
        self._expire()
        found = []
        for folder in self.root.glob("*/job.json") if self.root.is_dir() else []:
            job = self._load(folder.parent.name, with_rows=False)
            if job is not None and job.owner == owner:
                found.append(job)
        return sorted(found, key=lambda j: j.started, reverse=True)

    def submit(
        self,
        owner: str,
        org: str,
        filename: str,
        path: Path,
        helper: Path | None,
    ) -> Job:
        """Queue ``path`` (a temporary file this module now owns) for analysis."""
        self._expire()
        with path.open("rb") as handle:
            head = handle.read(8192)
        try:
            kind = detect_kind(head, filename)
        except UploadError:
            shutil.rmtree(path.parent, ignore_errors=True)
            raise
        if kind == "capture" and is_device_capture(path):
            kind = "device"
        job = Job(
            id=secrets.token_urlsafe(12),
            owner=owner,
            org=org,
            filename=filename,
            kind=kind,
            size=path.stat().st_size,
        )
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.root / job.id).mkdir(mode=0o700)
        self._save(job)
        self._pool.submit(self._run, job, path, helper)
        return job

    def objects(self, job: Job) -> list[dict[str, Any]]:
        """The job's STIX objects as the analysis left them (unmarked ones take the
        TLP chosen at publication: see :func:`mark`)."""
        return list(orjson.loads((self.root / job.id / "objects.json").read_bytes()))

    def publish(self, job: Job, publish: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> None:
        """Publish once: ``publish`` gets the objects and says what became of them.
        Raises :class:`AlreadyPublishing` if another request got there first."""
        lock = self.root / job.id / "publish.lock"
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            raise AlreadyPublishing(job.id) from None
        try:
            job.published = publish(self.objects(job))
        except BaseException:
            lock.unlink(missing_ok=True)
            raise
        job.state = "published"
        self._save(job)

    def _expire(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for record in self.root.glob("*/job.json") if self.root.is_dir() else []:
            try:
                if record.stat().st_mtime < cutoff:
                    shutil.rmtree(record.parent, ignore_errors=True)
            except OSError:
                continue

    # ------------------------------------------------------------- running

    def _run(self, job: Job, path: Path, helper: Path | None) -> None:
        job.state = "running"
        stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._beat, args=(job, stop), name="telsec-upload-heartbeat", daemon=True
        )
        heartbeat.start()
        try:
            analyse = {
                "capture": self._capture,
                "observations": self._observations,
                "device": self._device,
                "reports": self._reports,
                "stix": self._stix,
            }[job.kind]
            analyse(job, path, helper)
            objects = job.build(job.org) if job.build is not None else []
            _write_atomic(self.root / job.id / "objects.json", orjson.dumps(objects))
            job.progress = 1.0
            job.state = "done"
        except UploadError as exc:
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # an analyser's own error, said to the user without a trace
            job.state = "failed"
            job.message = f"{job.filename}: could not be analysed ({type(exc).__name__}: {exc})"[
                :500
            ]
        finally:
            stop.set()
            heartbeat.join()
            shutil.rmtree(path.parent, ignore_errors=True)
            try:
                self._save(job, rows=job.state == "done")
            except OSError:
                pass  # the data directory went away: nothing left to tell

    def _beat(self, job: Job, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                self._save(job)

    # -------------------------------------------------------- analysers

    def _capture(self, job: Job, path: Path, helper: Path | None) -> None:
        from telsec.privacy import Pseudonymiser, pseudonym_key
        from telsec.signalling.pipeline import Scan
        from telsec.signalling.policy import PolicyError, load_policy
        from telsec.signalling.report import stix_bundle, summarise

        source = helper or self.settings.signalling_policy
        if source is None:
            raise UploadError(
                "a capture needs the home network's policy: upload it beside the capture, or "
                "set TELSEC_SIGNALLING_POLICY on the node"
            )
        try:
            policy = load_policy(source)
        except PolicyError as exc:
            raise UploadError(f"policy: {exc}") from None
        scan = Scan(policy, Pseudonymiser(pseudonym_key(self.settings.data_dir)))
        size = max(job.size, 1)
        scan.on_progress = lambda done: setattr(job, "progress", min(done / size, 0.99))
        scan.run([path])  # the per-source counts, no findings kept
        summaries = summarise(scan.activity, scan.tally, policy)
        job.message = (
            f"{scan.stats.frames:,} frames, {scan.tally.total:,} findings, "
            f"{sum(1 for s in summaries if s.verdict == 'block')} Global Titles to block"
        )
        if scan.stats.file_errors and not scan.stats.frames:
            raise UploadError(f"{job.filename}: no frames could be read from the capture")
        job.columns = ["source", "verdict", "severity", "country", "messages", "rules"]
        job.rows = [
            {
                "source": s.source,
                "verdict": s.verdict,
                "severity": s.severity or "",
                "country": s.country or "",
                "messages": s.messages,
                "rules": ", ".join(sorted(s.rules)),
            }
            for s in summaries
            if s.findings
        ]
        job.build = _analyser_build(stix_bundle, summaries, job.filename)

    def _observations(self, job: Job, path: Path, helper: Path | None) -> None:
        from telsec.radio.detect import detect, load_config
        from telsec.radio.readers import ReaderError, read_inventory, read_observations

        cells = helper or self.settings.cell_inventory
        if cells is None:
            raise UploadError(
                "observations need the reference cell inventory: upload it beside them, or "
                "set TELSEC_CELL_INVENTORY on the node"
            )
        try:
            inventory, _ = read_inventory(cells)
            job.progress = 0.2
            observations, counts = read_observations(path)
        except ReaderError as exc:
            raise UploadError(str(exc)) from None
        job.skipped = dict(counts.rejected)
        job.progress = 0.5
        found = detect(observations, inventory, load_config(None))
        job.message = (
            f"{found.observations:,} observations of {found.cells:,} cells: "
            f"{len(found.alerts)} suspected fake base stations"
        )
        job.columns = ["cell", "score", "observations", "evidence"]
        job.rows = [
            {
                "cell": alert["id"],
                "score": alert["score"],
                "observations": alert["observations"],
                "evidence": ", ".join(e["rule"] for e in alert["evidence"]),
            }
            for alert in found.alerts
        ]
        job.build = _radio_build(found.alerts, job.filename)

    def _device(self, job: Job, path: Path, helper: Path | None) -> None:
        """A GSMTAP capture (helper: a cell inventory, optional) or a Rayhunter report
        (helper: the recording's GSMTAP capture, to place its warnings on cells)."""
        import polars as pl

        from telsec.radio.detect import detect, load_config
        from telsec.radio.rayhunter import attach_cells, combine, read_report
        from telsec.radio.readers import ReaderError, read_inventory
        from telsec.radio.schema import INVENTORY_SCHEMA, OBSERVATION_SCHEMA

        with path.open("rb") as handle:
            report = handle.read(4) not in (*_PCAP_MAGIC, _PCAPNG_MAGIC)
        cells: Path | None = self.settings.cell_inventory
        if report:
            log = read_report(path)
            events = log.events
            what = f"Rayhunter report, {log.frames:,} rows"
            if helper is not None and is_device_capture(helper):
                capture = read_gsmtap(helper)
                attach_cells(log, capture.cells)
                events, _agreed = combine(capture.events, log)
                what += f", serving cells from its capture ({capture.frames:,} frames)"
        else:
            log = read_gsmtap(path)
            events = log.events
            what = f"{log.frames:,} frames ({log.rrc:,} RRC, {log.nas:,} NAS)"
            cells = helper or cells
        if log.error and not log.frames:
            raise UploadError(log.error)
        job.skipped = dict(log.skipped)
        job.progress = 0.6
        inventory = pl.DataFrame(schema=INVENTORY_SCHEMA)
        if cells is not None:
            try:
                inventory, _ = read_inventory(cells)
            except ReaderError as exc:
                raise UploadError(f"cell inventory: {exc}") from None
        found = detect(
            pl.DataFrame(schema=OBSERVATION_SCHEMA), inventory, load_config(None), events
        )
        homeless = sum(1 for e in events if e.cell is None)
        job.message = (
            f"{what}: {len(events)} device events"
            + (f" ({homeless} without a serving cell, not in alerts)" if homeless else "")
            + f", {len(found.alerts)} suspected fake base stations"
        )
        alert_of = {alert["id"]: alert for alert in found.alerts}
        job.columns = ["time", "rule", "cell", "alert score", "detail"]
        job.rows = []
        for event in events:
            cell = _cell_key(event.cell)
            alert = alert_of.get(cell) if cell else None
            job.rows.append(
                {
                    "time": format_timestamp(round(event.time * 1e6)),
                    "rule": event.rule,
                    "cell": cell,
                    "alert score": alert["score"] if alert else "",
                    "detail": event.detail,
                }
            )
        job.build = _radio_build(found.alerts, job.filename)

    def _reports(self, job: Job, path: Path, helper: Path | None) -> None:
        from telsec.fraud.campaigns import find_campaigns, summarise
        from telsec.fraud.classify import classify_reports
        from telsec.fraud.records import Ingest, ReaderError, read_reports
        from telsec.fraud.report import stix_bundle
        from telsec.privacy import Pseudonymiser, pseudonym_key

        ingest = Ingest(Pseudonymiser(pseudonym_key(self.settings.data_dir)), None)
        try:
            reports = read_reports(path, ingest)
        except ReaderError as exc:
            raise UploadError(str(exc)) from None
        job.skipped = dict(ingest.counts.rejected)
        if reports.height == 0:
            raise UploadError(f"{job.filename}: no usable reports")
        job.progress = 0.4
        reports = classify_reports(reports)
        job.progress = 0.7
        campaigns = [c for c in summarise(find_campaigns(reports)) if c["category"] != "ham"]
        job.message = f"{reports.height:,} reports: {len(campaigns)} campaigns"
        job.columns = ["campaign", "category", "reports", "senders", "domains, IPs"]
        job.rows = [
            {
                "campaign": c["name"],
                "category": c["category"],
                "reports": c["reports"],
                "senders": ", ".join(c["senders"][:3]),
                "domains, IPs": ", ".join((c["domains"] + c["ip_addresses"])[:3]),
            }
            for c in campaigns
        ]
        job.build = _analyser_build(stix_bundle, campaigns, job.filename)

    def _stix(self, job: Job, path: Path, helper: Path | None) -> None:
        from telsec.exchange.client import read_stix_file

        data = read_stix_file(path)
        for problem in data.bad_records:
            reason = problem.split(":", 1)[-1].strip()[:120]
            job.skipped[reason] = job.skipped.get(reason, 0) + 1
        if not data.objects:
            raise UploadError(f"{job.filename}: no STIX objects")
        objects = [o for o in data.objects if o.get("type") != "bundle"]
        job.message = f"{len(objects):,} STIX objects"
        job.columns = ["type", "id", "name", "tlp"]
        job.rows = [
            {
                "type": str(o.get("type", "")),
                "id": str(o.get("id", "")),
                "name": str(o.get("name") or o.get("value") or o.get("digits") or ""),
                "tlp": level.display if (level := tlp_of(o)) is not None else "(unmarked)",
            }
            for o in objects[:2000]
        ]

        job.build = lambda _producer: objects  # their own markings; the rest take the chosen one


def _analyser_build(
    stix_bundle: Callable[..., dict[str, Any]], findings: Any, filename: str
) -> Callable[[str], list[dict[str, Any]]]:
    """An analyser's STIX for a producer, left unmarked for the TLP chosen at publication."""
    return lambda producer: unmarked(
        stix_bundle(findings, _PLACEHOLDER, producer=producer, scanned=filename)["objects"],
        _PLACEHOLDER,
    )


def _radio_build(
    alerts: list[dict[str, Any]], filename: str
) -> Callable[[str], list[dict[str, Any]]]:
    from telsec.radio.report import stix_bundle

    return _analyser_build(stix_bundle, alerts, filename)


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _cell_key(cell: tuple[str, int, int, int, int] | None) -> str:
    """A device event's serving cell, named as the detector names its alert."""
    from telsec.radio.detect import alert_id

    return "" if cell is None else alert_id(*cell)


def spool(data_dir: Path | None = None) -> Path:
    """A private temporary folder for one upload."""
    return Path(tempfile.mkdtemp(prefix="telsec-upload-", dir=data_dir))
