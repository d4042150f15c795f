"""``telsec fraud`` as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

TELSEC = [sys.executable, "-m", "telsec.cli.main", "fraud"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*TELSEC, *args], capture_output=True, env=env)


def test_simulate_ingest_campaigns_blocklist(tmp_path: Path, monkeypatch) -> None:
    import os

    env = {**os.environ, "TELSEC_DATA_DIR": str(tmp_path / "data")}
    reports = tmp_path / "reports.jsonl"
    done = run("simulate", "--out", str(reports), "--reports", "3000", "--hostile", env=env)
    assert done.returncode == 0, done.stderr
    parquet = tmp_path / "in.parquet"
    ingested = run("ingest", str(reports), "-f", "parquet", "--out", str(parquet), env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert b"rejected 1: no valid reported_at" in ingested.stderr
    campaigns = run("campaigns", str(parquet), "-f", "jsonl", env=env)
    assert campaigns.returncode == 0, campaigns.stderr
    found = [orjson.loads(line) for line in campaigns.stdout.splitlines()]
    assert len(found) >= 8 and all(c["category"] != "ham" for c in found)
    assert all("report_ids" not in c for c in found)
    # no reporter's number leaves in clear (unless it also sent a text)
    given = [orjson.loads(line) for line in reports.read_bytes().splitlines()]
    senders = {str(r.get("sender")) for r in given if isinstance(r, dict)}
    reporters = {r.get("reporter") for r in given if isinstance(r, dict)} - senders
    numbers = {n for n in reporters if isinstance(n, str) and n.startswith("+")}
    assert len(numbers) > 100 and not any(n.encode() in campaigns.stdout for n in numbers)
    listed = run("blocklist", str(reports), env=env)
    assert listed.returncode == 0 and b"domain,royalmail-redelivery.com" in listed.stdout
    assert b"url,https://bit.ly/" in listed.stdout and b"domain,bit.ly" not in listed.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run("campaigns", str(tmp_path / "none.csv"))
    assert missing.returncode == 2 and b"Traceback" not in missing.stderr
    odd = tmp_path / "odd.txt"
    odd.write_text("what is this\n")
    unknown = run("campaigns", str(odd))
    assert unknown.returncode == 2 and b"--input-format" in unknown.stderr
    none = run("simulate", "--out", str(tmp_path / "r.jsonl"), "--reports", "-1")
    assert none.returncode == 2 and not (tmp_path / "r.jsonl").exists()


def test_no_report_kept_fails_with_why(tmp_path: Path) -> None:
    """A report file every line of which is rejected: exit 1, with the reasons,
    and no empty table or blocklist on standard output."""
    rejected = tmp_path / "rejected.jsonl"
    rejected.write_text('[1]\n"text"\n{"body": "no time"}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for path, why in ((rejected, b"3 rows read, every one rejected"), (empty, b"no rows")):
        for command in ("campaigns", "blocklist"):
            done = run(command, str(path))
            assert done.returncode == 1, done.stderr
            assert done.stdout == b"" and b"no reports to work on" in done.stderr
            assert why in done.stderr and b"Traceback" not in done.stderr


def test_files_to_link_that_are_not_what_they_say_are_refused_or_trimmed(tmp_path: Path) -> None:
    """``--blasters`` and ``--signalling`` read files other commands wrote: one
    holding none of what it should is a usage error before any report is read;
    lines of another kind are left out, and counted."""
    reports = tmp_path / "r.jsonl"
    assert run("simulate", "--out", str(reports), "--reports", "200").returncode == 0
    odd = tmp_path / "odd.jsonl"
    odd.write_text('[1]\n"text"\nnull\n{"id": "x"}\n')
    for option in ("--blasters", "--signalling"):
        done = run("campaigns", str(reports), option, str(odd))
        assert done.returncode == 2 and b"none of its 4 lines is a" in done.stderr
        assert b"Traceback" not in done.stderr and b"reports" not in done.stderr
    mixed = tmp_path / "scan.jsonl"
    finding = '{"record": "finding", "rule": "SIG-CAT1"}'
    mixed.write_text(
        finding + '\n{"record": "source", "source": "40744123456", "verdict": "block"}\n'
    )
    done = run("campaigns", str(reports), "--signalling", str(mixed), "-f", "jsonl")
    assert done.returncode == 0, done.stderr
    assert b"1 line that is not a signalling source" in done.stderr
    # a line cut short (a file still being written) is left out like the others
    with mixed.open("a") as more:
        more.write('{"record": "source", "sour')
    done = run("campaigns", str(reports), "--signalling", str(mixed), "-f", "jsonl")
    assert done.returncode == 0, done.stderr
    assert b"2 lines that are not a signalling source" in done.stderr


def test_ingest_writes_every_report_once_in_each_format(tmp_path: Path) -> None:
    """JSON lines on standard output and CSV to a file, from a report file and
    an ingested Parquet file together: every report, in order, one header."""
    import os

    import polars as pl

    env = {**os.environ, "TELSEC_DATA_DIR": str(tmp_path / "data")}
    reports = tmp_path / "reports.jsonl"
    assert run("simulate", "--out", str(reports), "--reports", "700", env=env).returncode == 0
    parquet = tmp_path / "in.parquet"
    done = run("ingest", str(reports), "-f", "parquet", "--out", str(parquet), env=env)
    assert done.returncode == 0, done.stderr
    first = pl.read_parquet(parquet)
    assert first.height == 700 and first["category"].null_count() == 0
    lines = run("ingest", str(reports), str(parquet), env=env)
    assert lines.returncode == 0, lines.stderr
    rows = [orjson.loads(line) for line in lines.stdout.splitlines()]
    assert [r["report_id"] for r in rows] == first["report_id"].to_list() * 2
    assert b"1,400 reports:" in lines.stderr
    csv = tmp_path / "out.csv"
    done = run("ingest", str(parquet), str(reports), "-f", "csv", "--out", str(csv), env=env)
    assert done.returncode == 0, done.stderr
    table = pl.read_csv(csv, infer_schema=False)
    assert table.height == 1400 and table.columns == first.columns
    assert table["report_id"].to_list() == first["report_id"].to_list() * 2
    linked = first.filter(pl.col("urls").list.len() > 0).row(0, named=True)
    assert table.row(0, named=True)["report_id"] == first["report_id"][0]
    assert " ".join(linked["urls"]) in table["urls"].to_list()


def test_a_parquet_file_damaged_inside_is_a_one_line_error(tmp_path: Path) -> None:
    """Its footer reads, so it joins; one of its columns does not: exit 1, no
    traceback, and the temporary parts are gone."""
    import os

    import pyarrow.parquet as pq

    env = {**os.environ, "TELSEC_DATA_DIR": str(tmp_path / "data"), "TMPDIR": str(tmp_path)}
    reports = tmp_path / "reports.jsonl"
    assert run("simulate", "--out", str(reports), "--reports", "500", env=env).returncode == 0
    good = tmp_path / "good.parquet"
    assert run("ingest", str(reports), "-f", "parquet", "--out", str(good), env=env).returncode == 0
    group = pq.ParquetFile(good).metadata.row_group(0)
    columns = (group.column(i) for i in range(group.num_columns))
    column = next(c for c in columns if c.path_in_schema == "received_at")
    data = bytearray(good.read_bytes())
    for at in range(
        column.data_page_offset + 20, column.data_page_offset + column.total_compressed_size - 20
    ):
        data[at] ^= 0x5A
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(data))
    done = run("campaigns", str(bad), "-f", "jsonl", env=env)
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    assert b"error: cannot read the reports: parquet" in done.stderr
    assert not list(tmp_path.glob("telsec-fraud-*"))
