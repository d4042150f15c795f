"""EFF Rayhunter's NDJSON analysis reports, read as device events.

Rayhunter analyses its modem's signalling on the device and writes, beside each
recording, a report: one JSON object per line.  The first line is the report's
metadata (``analyzers``: name, description, version, in the order of each row's
``events``; ``rayhunter``; ``report_version``); every other line is a row:

* version 2: ``{"packet_timestamp", "skipped_message_reason", "events": [null |
  {"event_type": "Informational"|"Low"|"Medium"|"High", "message"}]}``, one per
  packet;
* version 1 and earlier: ``{"timestamp", "skipped_message_reasons": [...],
  "analysis": [{"timestamp", "events": [...]}]}``, where an event's type may be
  ``{"type": "QualitativeWarning", "severity": "High"}`` or
  ``{"type": "Informational"}``.

Warnings (Low, Medium, High) become :class:`~telsec.radio.device.DeviceEvent`
under the telsec rule that matches the analyzer (by its name); warnings of an
analyzer telsec has no rule for are kept under ``RADIO-DEVICE-RAYHUNTER``.
Informational events are counted, not scored.  A report does not say which cell
served the phone: when the recording's GSMTAP capture is at hand, each event
takes the serving cell of that moment from it (:func:`attach_cells`); events
left without a cell are reported, not turned into alerts, since an alert is
about a transmitter.
"""

from __future__ import annotations

import bisect
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from telsec.radio.device import DeviceEvent, DeviceLog

#: Analyzer name (lower case) keyword -> telsec rule; the first match wins.
ANALYZER_RULES: tuple[tuple[str, str], ...] = (
    ("null cipher", "RADIO-DEVICE-NULL-CIPHER"),
    ("2g downgrade", "RADIO-DEVICE-REDIRECT-2G"),
    ("redirect", "RADIO-DEVICE-REDIRECT-2G"),
    ("sib 6", "RADIO-DEVICE-PRIORITY-2G"),
    ("sib6", "RADIO-DEVICE-PRIORITY-2G"),
    ("incomplete sib", "RADIO-DEVICE-INCOMPLETE-SIB"),
    ("imsi", "RADIO-DEVICE-IMSI-REQUEST"),
    ("identity", "RADIO-DEVICE-IMSI-REQUEST"),
)
OTHER_RULE = "RADIO-DEVICE-RAYHUNTER"
SEVERITIES = ("Informational", "Low", "Medium", "High")
#: Lines longer than this are not a report row (a report row is well under 10 kB).
MAX_LINE = 1 << 20
_PACKET = re.compile(r"\(packet (\d+)\)")


def rule_of(analyzer: str) -> str:
    """The telsec rule for a Rayhunter analyzer's name."""
    name = analyzer.lower()
    for keyword, rule in ANALYZER_RULES:
        if keyword in name:
            return rule
    return OTHER_RULE


def is_report(first_line: str) -> bool:
    """Whether a file's first line (or its first few kB) opens a Rayhunter report's
    metadata: an object whose first key is ``analyzers`` (Rayhunter writes it first)."""
    return re.match(r'\{\s*"analyzers"\s*:\s*\[', first_line.lstrip("\ufeff")) is not None


def _severity(event_type: Any) -> str | None:
    if isinstance(event_type, str):
        return event_type if event_type in SEVERITIES else None
    if isinstance(event_type, dict):
        if event_type.get("type") == "Informational":
            return "Informational"
        if event_type.get("type") == "QualitativeWarning":
            severity = event_type.get("severity")
            return severity if severity in SEVERITIES[1:] else None
    return None


def _time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _packets(row: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(timestamp, events) of each analysed packet in a row, either version."""
    if "events" in row:
        return [(row.get("packet_timestamp"), row["events"])]
    analysis = row.get("analysis")
    if isinstance(analysis, list):
        return [
            (entry.get("timestamp"), entry.get("events"))
            for entry in analysis
            if isinstance(entry, dict)
        ]
    raise ValueError("a row with neither events nor analysis")


def read_report(path: Path) -> DeviceLog:
    """Events of one Rayhunter report; lines it cannot read are counted, not fatal."""
    log = DeviceLog()
    source = path.stem
    analyzers: list[str] = []
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if len(raw) > MAX_LINE:
                    log.skipped["line longer than 1 MiB"] += 1
                    continue
                text = raw.strip()
                if not text:
                    continue
                try:
                    row = json.loads(text)
                except ValueError:
                    log.skipped["line that is not JSON"] += 1
                    continue
                if not isinstance(row, dict):
                    log.skipped["line that is not a JSON object"] += 1
                    continue
                if number == 1 and isinstance(row.get("analyzers"), list):
                    analyzers = [
                        str(a.get("name", "")) if isinstance(a, dict) else ""
                        for a in row["analyzers"]
                    ]
                    continue
                if not analyzers:
                    log.error = f"{path}: the first line is not a Rayhunter report's metadata"
                    break
                _row(log, row, number, analyzers, source)
    except OSError as exc:
        log.error = f"{path}: {exc.strerror or exc}"
    log.events.sort(key=lambda e: (e.time, e.frame))
    return log


def _row(log: DeviceLog, row: dict[str, Any], line: int, analyzers: list[str], source: str) -> None:
    log.frames += 1
    if row.get("skipped_message_reason") or row.get("skipped_message_reasons"):
        log.skipped["packet Rayhunter could not analyse"] += 1
    try:
        packets = _packets(row)
    except ValueError as exc:
        log.skipped[str(exc)] += 1
        return
    for stamp, events in packets:
        if events is None:
            continue
        if not isinstance(events, list):
            log.skipped["events that are not a list"] += 1
            continue
        time = _time(stamp)
        for position, event in enumerate(events):
            if event is None:
                continue
            if not isinstance(event, dict) or not isinstance(event.get("message"), str):
                log.skipped["event without a message"] += 1
                continue
            severity = _severity(event.get("event_type"))
            if severity is None:
                log.skipped["event of an unknown type"] += 1
                continue
            if severity == "Informational":
                log.skipped["informational event (not scored)"] += 1
                continue
            if time is None:
                log.skipped["warning without a valid time"] += 1
                continue
            analyzer = analyzers[position] if position < len(analyzers) else f"#{position + 1}"
            found = _PACKET.search(event["message"])
            log.events.append(
                DeviceEvent(
                    time,
                    int(found.group(1)) if found else line,
                    rule_of(analyzer),
                    f"Rayhunter {severity}: {analyzer}: {event['message'][:200]}",
                    None,
                    source,
                )
            )


Cell = tuple[str, int, int, int, int]


def attach_cells(log: DeviceLog, timeline: list[tuple[float, Cell]]) -> int:
    """Give each event without a cell the serving cell at its time (the last one
    announced at or before it); returns how many events found one."""
    if not timeline:
        return 0
    times = [t for t, _ in timeline]
    found = 0
    for i, event in enumerate(log.events):
        if event.cell is not None:
            continue
        at = bisect.bisect_right(times, event.time + 1e-6) - 1
        if at >= 0:
            log.events[i] = DeviceEvent(
                event.time, event.frame, event.rule, event.detail, timeline[at][1], event.source
            )
            found += 1
    return found


def recording_of(report: Path) -> Path | None:
    """The GSMTAP capture of the same recording, if it sits beside the report."""
    for suffix in (".pcap", ".pcapng"):
        candidate = report.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def combine(ours: list[DeviceEvent], report: DeviceLog) -> tuple[list[DeviceEvent], int]:
    """Our events with the report's added, except those that say what one of ours
    already says (same device, rule and second): returns them and how many of the
    report's events corroborated ours."""
    seen = {(e.source, e.rule, round(e.time)) for e in ours}
    added = [e for e in report.events if (e.source, e.rule, round(e.time)) not in seen]
    return [*ours, *added], len(report.events) - len(added)
