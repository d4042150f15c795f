"""Rayhunter NDJSON analysis reports: both report versions, hostile lines, serving
cells taken from the recording's capture, and the warnings carried into alerts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telsec.radio.detect import RULES
from telsec.radio.device import DeviceEvent, DeviceLog, read_gsmtap
from telsec.radio.rayhunter import (
    OTHER_RULE,
    attach_cells,
    combine,
    read_report,
    recording_of,
    rule_of,
)
from telsec.radio.readers import detect_format
from tests.radio.conftest import SHARED_RADIO

#: The analyzers of Rayhunter 0.4+ (lib/src/analysis/*.rs), in report order.
ANALYZERS = [
    ("Identity (IMSI or IMEI) requested in suspicious manner", "RADIO-DEVICE-IMSI-REQUEST"),
    ("Connection Release/Redirected Carrier 2G Downgrade", "RADIO-DEVICE-REDIRECT-2G"),
    ("LTE SIB 6/7 Downgrade", "RADIO-DEVICE-PRIORITY-2G"),
    ("Cipher Mode Command with null cipher", "RADIO-DEVICE-NULL-CIPHER"),
    ("NAS Null Cipher Requested", "RADIO-DEVICE-NULL-CIPHER"),
    ("Incomplete SIB", "RADIO-DEVICE-INCOMPLETE-SIB"),
    ("Diagnostic Analyzer", OTHER_RULE),
]
GOODSIM = SHARED_RADIO / "rayhunter-traces" / "1749222138-goodsim.pcap"


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _metadata() -> str:
    return json.dumps(
        {
            "analyzers": [
                {"name": name, "description": "x" * 3000, "version": 2} for name, _ in ANALYZERS
            ],
            "rayhunter": {"rayhunter_version": "0.6.1", "system_os": "Linux", "arch": "armv7l"},
            "report_version": 2,
        }
    )


def _row(seconds: float, position: int, severity: str, message: str) -> str:
    events: list[object] = [None] * len(ANALYZERS)
    events[position] = {"event_type": severity, "message": message}
    return json.dumps(
        {"packet_timestamp": _stamp(seconds), "skipped_message_reason": None, "events": events}
    )


def _scan(report: Path, cells: Path) -> subprocess.CompletedProcess[bytes]:
    command = ["radio", "scan", str(report), "--cells", str(cells), "-f", "jsonl"]
    return subprocess.run([sys.executable, "-m", "telsec.cli.main", *command], capture_output=True)


def test_analyzer_names_map_to_telsec_rules() -> None:
    for name, rule in ANALYZERS:
        assert rule_of(name) == rule, name
        assert rule in RULES
    assert rule_of("IMSI Requested") == "RADIO-DEVICE-IMSI-REQUEST"  # before 0.3


def test_version_2_report(tmp_path: Path) -> None:
    report = tmp_path / "1749222138.ndjson"
    lines = [
        _metadata(),
        _row(1749222200.5, 1, "High", "Detected 2G downgrade (packet 17)"),
        _row(1749222201.0, 0, "Informational", "Identity request happened without auth"),
        json.dumps({"packet_timestamp": None, "skipped_message_reason": "bad QMDL", "events": []}),
        _row(1749222300.0, 6, "Low", "something diagnostic"),
    ]
    report.write_text("\n".join(lines) + "\n")
    assert detect_format(report) == "rayhunter"
    log = read_report(report)
    assert log.error is None and log.frames == 4
    assert [(e.rule, e.frame, e.cell, e.source) for e in log.events] == [
        ("RADIO-DEVICE-REDIRECT-2G", 17, None, "1749222138"),
        (OTHER_RULE, 5, None, "1749222138"),
    ]
    assert log.events[0].time == pytest.approx(1749222200.5)
    assert "High" in log.events[0].detail and "2G Downgrade" in log.events[0].detail
    assert log.skipped["informational event (not scored)"] == 1
    assert log.skipped["packet Rayhunter could not analyse"] == 1


def test_version_1_report_with_the_old_event_types(tmp_path: Path) -> None:
    report = tmp_path / "old.ndjson"
    head = {"analyzers": [{"name": "LTE SIB 6/7 Downgrade", "description": ""},
                          {"name": "IMSI Provided", "description": ""}]}  # fmt: skip
    row = {
        "timestamp": _stamp(1700000000),
        "skipped_message_reasons": [],
        "analysis": [
            {
                "timestamp": _stamp(1700000001),
                "events": [
                    {
                        "event_type": {"type": "QualitativeWarning", "severity": "Medium"},
                        "message": "LTE cell advertised a 3G or 2G cell for priority",
                    },
                    {"event_type": {"type": "Informational"}, "message": "fine"},
                ],
            }
        ],
    }
    report.write_text(json.dumps(head) + "\n" + json.dumps(row) + "\n")
    (event,) = read_report(report).events
    assert event.rule == "RADIO-DEVICE-PRIORITY-2G" and "Medium" in event.detail
    assert event.time == pytest.approx(1700000001)


def test_hostile_lines_are_counted_and_the_good_rows_survive(tmp_path: Path) -> None:
    report = tmp_path / "bad.ndjson"
    good = _row(1749222200, 3, "High", "null cipher (packet 9)")
    report.write_bytes(
        b"\n".join(
            [
                _metadata().encode(),
                b"\xff\xfe not json",
                b"[1, 2, 3]",
                b'{"packet_timestamp": "yesterday", "events": '
                b'[{"event_type": "High", "message": "x"}]}',
                b'{"packet_timestamp": null, "events": "nope"}',
                b'{"events": [{"event_type": "Severe", "message": "x"}, {"event_type": "High"}]}',
                b'{"neither": 1}',
                b'{"events": [' + b" " * (2 << 20) + b"]}",
                good.encode(),
                good.encode()[:40],
            ]
        )
    )
    log = read_report(report)
    assert [e.frame for e in log.events] == [9]
    assert log.skipped == {
        "line that is not JSON": 2,
        "line that is not a JSON object": 1,
        "warning without a valid time": 1,
        "events that are not a list": 1,
        "event of an unknown type": 1,
        "event without a message": 1,
        "a row with neither events nor analysis": 1,
        "line longer than 1 MiB": 1,
    }


def test_a_file_that_is_not_a_report_says_so(tmp_path: Path) -> None:
    report = tmp_path / "x.ndjson"
    report.write_text('{"time": 1}\n')
    log = read_report(report)
    assert log.error and "metadata" in log.error and not log.events
    assert detect_format(report) == "jsonl"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=12))
def test_any_bytes_after_the_metadata_never_crash(tmp_path_factory, lines: list[bytes]) -> None:
    report = tmp_path_factory.mktemp("fuzz") / "r.ndjson"
    report.write_bytes(b"\n".join([_metadata().encode(), *lines]))
    log = read_report(report)
    assert log.error is None
    assert all(isinstance(e, DeviceEvent) for e in log.events)


def test_events_take_the_serving_cell_of_their_moment() -> None:
    cell_a, cell_b = ("lte", 1, 1, 1, 10), ("lte", 1, 1, 1, 20)
    report = DeviceLog(
        events=[
            DeviceEvent(5.0, 1, "RADIO-DEVICE-REDIRECT-2G", "", None, "r"),
            DeviceEvent(15.0, 2, "RADIO-DEVICE-REDIRECT-2G", "", None, "r"),
            DeviceEvent(25.0, 3, "RADIO-DEVICE-REDIRECT-2G", "", None, "r"),
        ]
    )
    assert attach_cells(report, [(10.0, cell_a), (20.0, cell_b)]) == 2
    assert [e.cell for e in report.events] == [None, cell_a, cell_b]
    ours = [DeviceEvent(15.2, 7, "RADIO-DEVICE-REDIRECT-2G", "ours", cell_a, "r")]
    merged, agreed = combine(ours, report)
    assert agreed == 1 and len(merged) == 3 and merged[0].detail == "ours"


@pytest.mark.skipif(not GOODSIM.is_file(), reason="shared Rayhunter traces not present")
def test_scan_carries_a_report_into_alerts_on_the_recordings_cells(tmp_path: Path) -> None:
    """A real Rayhunter recording with a report beside it (the report is written here:
    the shared traces come without one): its warnings land on the cell that served
    the phone at that moment, read from the recording's own capture."""
    shutil.copy(GOODSIM, tmp_path / GOODSIM.name)
    capture = read_gsmtap(GOODSIM)
    moment, cell = capture.cells[len(capture.cells) // 2]
    report = tmp_path / (GOODSIM.stem + ".ndjson")
    report.write_text(
        "\n".join(
            [
                _metadata(),
                _row(moment + 1, 1, "High", "Detected 2G downgrade (packet 40)"),
                _row(moment + 2, 4, "High", "NAS null cipher requested (packet 41)"),
            ]
        )
        + "\n"
    )
    assert recording_of(report) == tmp_path / GOODSIM.name
    cells = tmp_path / "cells.csv"
    cells.write_text("rat,mcc,mnc,area,cell,lat,lon\n")
    done = _scan(report, cells)
    assert done.returncode == 0, done.stderr
    assert b"2 events placed" in done.stderr
    alerts = [orjson.loads(line) for line in done.stdout.splitlines()]
    (alert,) = [a for a in alerts if (a["rat"], a["mcc"], a["mnc"], a["area"], a["cell"]) == cell]
    rules = {e["rule"] for e in alert["evidence"]}
    assert {"RADIO-DEVICE-REDIRECT-2G", "RADIO-DEVICE-NULL-CIPHER"} <= rules
    assert any("Rayhunter High" in e["detail"] for e in alert["evidence"])


def test_scan_lists_warnings_it_cannot_place(tmp_path: Path) -> None:
    report = tmp_path / "alone.ndjson"
    report.write_text(_metadata() + "\n" + _row(1749222200, 1, "High", "2G (packet 3)") + "\n")
    cells = tmp_path / "cells.csv"
    cells.write_text("rat,mcc,mnc,area,cell,lat,lon\n")
    done = _scan(report, cells)
    assert done.returncode == 0, done.stderr
    assert b"1 warnings without a serving cell" in done.stderr
    assert b"RADIO-DEVICE-REDIRECT-2G" in done.stderr and done.stdout == b""
