"""Ingest and classification on worker processes, into parts on disk, give what
one process gives; nothing is lost between the parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from telsec.fraud import pipeline, records
from telsec.fraud import store as store_module
from telsec.fraud.campaigns import find_campaigns, summarise
from telsec.fraud.classify import classify_reports
from telsec.fraud.pipeline import Ingester, stored_campaigns
from telsec.fraud.records import Ingest, read_reports
from telsec.fraud.simulate import simulate
from telsec.fraud.store import ReportStore, SpillError, StoreError
from telsec.privacy import Pseudonymiser

KEY = b"test-key-0123456789"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for any input, in chunks of 97 lines."""
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 0)
    monkeypatch.setattr(pipeline, "CHUNK", 97)


def _ingested(path: Path, workers: int, seen: list[int] | None = None) -> tuple[Any, Ingest]:
    ingest = Ingest(Pseudonymiser(KEY))
    with ReportStore() as store, Ingester(ingest, store, workers) as ingester:
        kept = ingester.add(path, progress=seen.append if seen is not None else None)
        frame = store.scan().collect()
        assert kept == frame.height == store.rows
        assert len(store.parts) > 1
        directory = store.directory
    assert not directory.exists()  # the parts go with the store
    return frame, ingest


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
    seen: list[int] = []
    expected, serial = _ingested(path, 1)
    got, parallel = _ingested(path, 2, seen)
    assert_frame_equal(got, expected)
    # every report, in input order, each classified as the whole file would be
    whole = classify_reports(read_reports(path, Ingest(Pseudonymiser(KEY))))
    assert_frame_equal(got.drop("brand", "sector"), whole.drop("brand", "sector"))
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
    expected, serial = _ingested(path, 1)
    got, parallel = _ingested(path, 2)
    assert_frame_equal(got, expected)
    assert parallel.counts.rejected == serial.counts.rejected
    assert "a body\nover two lines" in got["body"].to_list()


def test_remembered_scores_are_the_scores(tmp_path: Path) -> None:
    rows, _ = simulate(800, seed=6)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    reports = read_reports(path, Ingest(Pseudonymiser(KEY)))
    scores: dict[str, tuple[str, float, str | None]] = {}
    first = classify_reports(reports.head(400), scores=scores)
    assert len(scores) == reports.head(400)["template"].n_unique()
    second = classify_reports(reports.tail(400), scores=scores)
    assert_frame_equal(pl.concat([first, second]), classify_reports(reports))


def test_an_ingested_file_joins_as_it_is_and_a_bare_one_is_classified(tmp_path: Path) -> None:
    rows, _ = simulate(300, seed=7)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    reports = read_reports(path, Ingest(Pseudonymiser(KEY)))
    classified = classify_reports(reports)
    reports.write_parquet(tmp_path / "bare.parquet")
    classified.write_parquet(tmp_path / "ingested.parquet")
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "other.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    with ReportStore() as store, Ingester(Ingest(Pseudonymiser(KEY)), store, 1) as ingester:
        assert ingester.add_ingested(tmp_path / "ingested.parquet") == 300
        assert ingester.add_ingested(tmp_path / "bare.parquet") == 300
        for name in ("other.parquet", "junk.parquet"):
            with pytest.raises(StoreError, match="not a telsec reports file"):
                ingester.add_ingested(tmp_path / name)
        both = store.scan().collect()
    assert_frame_equal(both, pl.concat([classified, classified]), check_column_order=False)
    assert (tmp_path / "ingested.parquet").exists()  # the user's file is not the store's


def test_campaigns_written_into_the_parts_leave_the_users_files_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The campaigns are written into the store's parts (in its own directory),
    a slice of ``REWRITE_ROWS`` reports at a time (a large file is not held
    whole): a file the user gave is read, never rewritten or deleted, and the
    summaries are those of the reports in memory."""
    monkeypatch.setattr(store_module, "REWRITE_ROWS", 400)
    rows, _ = simulate(1500, seed=3)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    classified = classify_reports(read_reports(path, Ingest(Pseudonymiser(KEY))))
    given = tmp_path / "ingested.parquet"
    classified.write_parquet(given)
    before = given.read_bytes()
    with ReportStore() as store, Ingester(Ingest(Pseudonymiser(KEY)), store, 1) as ingester:
        ingester.add_ingested(given)
        reports = stored_campaigns(store)
        assert len(store.parts) == 4  # 1,500 reports
        assert all(part.parent == store.directory for part in store.parts)
        in_order = reports.select("report_id").collect()["report_id"]
        assert in_order.to_list() == classified["report_id"].to_list()
        on_disk = summarise(reports)
    assert given.read_bytes() == before
    assert on_disk == summarise(find_campaigns(classified))


def test_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    """The first part's file is /dev/full (a real device: every write gets
    ENOSPC): the ingest stops with what failed and what to do."""
    rows, _ = simulate(200, seed=9)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    with ReportStore() as store, Ingester(Ingest(Pseudonymiser(KEY)), store, 1) as ingester:
        (store.directory / "part-000001.parquet").symlink_to("/dev/full")
        with pytest.raises(SpillError, match="No space left on device; set TMPDIR"):
            ingester.add(path)
        directory = store.directory
    assert not directory.exists()
