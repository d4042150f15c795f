"""Ingest and scoring on worker processes give what one process gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from telsec.fraud import pipeline, records
from telsec.fraud.classify import score_templates
from telsec.fraud.records import Ingest, read_reports
from telsec.fraud.simulate import simulate
from telsec.privacy import Pseudonymiser

KEY = b"test-key-0123456789"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for any input, in chunks of 97 lines."""
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 0)
    monkeypatch.setattr(pipeline, "CHUNK", 97)


def test_parallel_jsonl_is_serial_jsonl(
    tmp_path: Path, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, _ = simulate(1500, seed=3, hostile=True)
    lines = [orjson.dumps(r) for r in rows]
    lines.insert(5, b'{"reporter": "+447700900123", "body": "caf\xe9 \xa31", "reported_at": 1}')
    lines.insert(700, b"[1, 2]")
    lines.insert(900, b'{"body": "' + b"x" * 5000 + b'", "reported_at": 1790812800}')
    monkeypatch.setattr(records, "MAX_LINE", 4000)  # the main process cuts lines
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    serial, parallel = Ingest(Pseudonymiser(KEY)), Ingest(Pseudonymiser(KEY))
    expected = read_reports(path, serial)
    seen: list[int] = []
    got = pipeline.read_reports_parallel(path, parallel, workers=2, progress=seen.append)
    assert_frame_equal(got, expected)
    assert (parallel.counts.read, parallel.counts.rejected, parallel.counts.notes) == (
        serial.counts.read,
        serial.counts.rejected,
        serial.counts.notes,
    )
    # mine, and the simulator's 10 MB message (over this test's limit)
    assert parallel.counts.rejected["line over 32 MiB"] == 2
    assert parallel.counts.notes["lines not in UTF-8, read as Windows-1252"] == 1
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size


def test_parallel_csv_is_serial_csv(tmp_path: Path, small_chunks: None) -> None:
    rows, _ = simulate(600, seed=5)
    frame = pl.DataFrame(rows).select("reporter", "reported_at", "body", "sender")
    path = tmp_path / "r.csv"
    frame.write_csv(path)
    with path.open("ab") as out:
        out.write(b'+447700900001,1790812800,"a body\nover two lines",HMRC\n')
        out.write(b'"unclosed,1790812800\n')
    serial, parallel = Ingest(Pseudonymiser(KEY)), Ingest(Pseudonymiser(KEY))
    expected = read_reports(path, serial)
    got = pipeline.read_reports_parallel(path, parallel, workers=2)
    assert_frame_equal(got, expected)
    assert parallel.counts.rejected == serial.counts.rejected
    assert "a body\nover two lines" in got["body"].to_list()


def test_parallel_scores_are_serial_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "PARALLEL_TEMPLATES", 0)
    templates = [f"your parcel {i} is held pay <amount> at <url>" for i in range(50)] + [
        "votre colis est en attente veuillez confirmer <url>",
        "running late see you at the station",
    ]
    labels, confidence, languages = pipeline.score_parallel(templates, workers=2)
    expected = score_templates(templates)
    assert labels == expected[0] and languages == expected[2]
    assert np.allclose(confidence, expected[1])
    assert languages[-2] == "fr" and labels[-1] == "ham"
