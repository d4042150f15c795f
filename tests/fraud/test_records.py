"""Report files: bad rows counted or flagged, good rows around them kept."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telsec.fraud.records import Ingest, read_reports
from telsec.fraud.simulate import simulate
from telsec.privacy import Pseudonymiser


def _ingest() -> Ingest:
    return Ingest(Pseudonymiser(b"test-key-0123456789"))


def test_hostile_reports_are_flagged_or_counted(tmp_path: Path) -> None:
    rows, _ = simulate(50, seed=2, hostile=True)
    path = tmp_path / "r.jsonl"
    lines = [orjson.dumps(r) for r in rows]
    lines.insert(10, b"{not json")
    lines.insert(20, b"[1, 2]")
    lines.insert(30, "caf\xe9 is ok".encode("cp1252"))
    path.write_bytes(b"\n".join(lines) + b"\n")
    ingest = _ingest()
    reports = read_reports(path, ingest)
    assert ingest.counts.rejected == {
        "line that is not JSON": 2,  # the broken object and the Windows-1252 line
        "line that is not a JSON object": 1,
        "no valid reported_at or received_at": 1,
    }
    assert reports.height == 50 + 4
    flags = reports["flags"].explode().drop_nulls().to_list()
    assert {"empty-body", "binary", "truncated", "bad-sender"} <= set(flags)
    assert reports["body"].str.len_chars().max() <= 4096
    # no reporter number survives ingest
    assert not reports["reporter"].str.starts_with("+").any()


def test_csv_with_other_column_names_and_encodings(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"msisdn,network,reported,message,from,latitude,longitude\n"
        b'+447400123456,Albion Mobile,2026-10-02T10:00:00Z,"Pay \xa31.99 at https://x-fee.com/a",RoyalMail,51.5,-0.12\n'
        b"+447400123457,Albion Mobile,2026-10-02T11:00:00Z,hello,+447911123456,200,0\n"
        b'+447400123458,Albion Mobile,2026-10-02T12:00:00,"no zone",x,,\n'
    )
    ingest = _ingest()
    reports = read_reports(path, ingest)
    assert (
        reports.height == 2 and ingest.counts.notes["lines not in UTF-8, read as Windows-1252"] == 1
    )
    first, second = reports.iter_rows(named=True)
    assert first["body"].startswith("Pay £1.99") and first["domains"] == ["x-fee.com"]
    assert (first["lat"], first["lon"]) == (51.5, -0.12)
    assert second["lat"] is None and second["sender"] == "+447911123456"


GOOD = [
    {"reporter": "+447700900001", "reported_at": 1790812800 + i, "body": f"Pay at https://x{i}.com",
     "sender": "+447911123456"}
    for i in range(3)
]  # fmt: skip
junk_line = st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" "))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(junk_line, max_size=6), st.integers(0, 3))
def test_junk_jsonl_lines_lose_no_good_report(junk: list[bytes], where: int) -> None:
    lines = [orjson.dumps(r) for r in GOOD]
    lines[where:where] = junk
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        ingest = _ingest()
        got = read_reports(path, ingest, "jsonl")
    bodies = got["body"].to_list()
    assert all(r["body"] in bodies for r in GOOD)
    assert ingest.counts.kept == got.height


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(junk_line, max_size=6), st.integers(1, 4))
def test_junk_csv_lines_are_read_or_counted(junk: list[bytes], where: int) -> None:
    lines = [b"reporter,reported_at,body,sender"] + [
        f'{r["reporter"]},{r["reported_at"]},"{r["body"]}",{r["sender"]}'.encode() for r in GOOD
    ]
    lines[where:where] = [j.replace(b'"', b"") for j in junk]  # a stray quote eats lines
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.csv"
        path.write_bytes(b"\n".join(lines) + b"\n")
        ingest = _ingest()
        got = read_reports(path, ingest, "csv")
    bodies = got["body"].to_list()
    assert all(r["body"] in bodies for r in GOOD)
    assert ingest.counts.kept == got.height
