"""``telsec radio`` as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import orjson

TELSEC = [sys.executable, "-m", "telsec.cli.main", "radio"]


def run(*args: str):
    return subprocess.run([*TELSEC, *args], capture_output=True)


def test_simulate_scan_evaluate(tmp_path) -> None:
    folder = tmp_path / "city"
    done = run("simulate", "--out", str(folder), "--scenario", "stationary-blaster",
               "--observers", "8", "--seed", "2")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {p.name for p in folder.iterdir()} == {
        "cells.csv",
        "observations.jsonl",
        "labels.jsonl",
        "truth.json",
        "operator.toml",
    }
    common = [str(folder / "observations.jsonl"), "--cells", str(folder / "cells.csv"),
              "--config", str(folder / "operator.toml")]  # fmt: skip
    jsonl = run("scan", *common, "-f", "jsonl")
    assert jsonl.returncode == 0, jsonl.stderr
    alerts = [orjson.loads(line) for line in jsonl.stdout.splitlines()]
    assert alerts and all(a["evidence"] and a["score"] >= 0.5 for a in alerts)
    geo = run("scan", *common, "-f", "geojson")
    collection = orjson.loads(geo.stdout)
    assert collection["type"] == "FeatureCollection"
    assert {f["geometry"]["type"] for f in collection["features"]} <= {"Point", "LineString"}
    table = run("scan", *common)
    assert table.returncode == 0 and b"suspected fake base stations" in table.stdout
    evaluated = run("evaluate", str(folder), "-f", "json")
    assert evaluated.returncode == 0, evaluated.stderr
    (row,) = orjson.loads(evaluated.stdout)
    assert row["scenario"] == "stationary-blaster" and row["precision"] == 1.0
    # a format it does not write is a usage error before any reading
    unknown = run("evaluate", str(folder), "-f", "xml")
    assert unknown.returncode == 2 and b"observations" not in unknown.stderr


def test_usage_errors_exit_2_without_a_traceback(tmp_path) -> None:
    missing = run("scan", str(tmp_path / "none.jsonl"), "--cells", str(tmp_path / "c.csv"))
    assert missing.returncode == 2 and b"Traceback" not in missing.stderr
    odd = tmp_path / "odd.txt"
    odd.write_text("what is this\n")
    cells = tmp_path / "cells.csv"
    cells.write_text("radio,mcc,net,area,cell,unit,lon,lat,range\n")
    unknown = run("scan", str(odd), "--cells", str(cells))
    assert unknown.returncode == 2 and b"--input-format" in unknown.stderr
    bad_config = tmp_path / "op.toml"
    bad_config.write_text("[[networks]]\nname = 1\n")
    config = run("scan", str(odd), "--cells", str(cells), "--config", str(bad_config))
    assert config.returncode == 2 and b"Traceback" not in config.stderr
    bad_config.write_bytes(b"\xd2\xd9\xbf\x82 binary, not a configuration")
    binary = run("scan", str(odd), "--cells", str(cells), "--config", str(bad_config))
    assert binary.returncode == 2 and b"not UTF-8 text" in binary.stderr, binary.stderr
    assert b"bug in telsec" not in binary.stderr


def test_nothing_to_scan_or_to_judge_by_fails_with_why(tmp_path) -> None:
    """Observations every row of which is rejected, or an inventory every row of
    which is (which would silently turn off the rules that use it): exit 1, with
    why, and no empty table on standard output."""
    folder = tmp_path / "city"
    done = run("simulate", "--out", str(folder), "--scenario", "stationary-blaster",
               "--observers", "4", "--seed", "3")  # fmt: skip
    assert done.returncode == 0, done.stderr
    observations, cells = folder / "observations.jsonl", folder / "cells.csv"
    rejected = tmp_path / "rejected.jsonl"
    rejected.write_text('[1]\n"text"\nnull\n{"rat": "wimax"}\n')
    empty_inventory = tmp_path / "cells.csv"
    empty_inventory.write_text(cells.read_text().splitlines()[0] + "\nLTE,999,1,2,3,4,200,200\n")
    for files, inventory, why in (
        ([rejected], cells, b"no observation to scan (4 rows read, every one rejected)"),
        (
            [observations],
            empty_inventory,
            b"no usable cell in the inventory (1 row read and rejected)",
        ),
    ):
        scan = run("scan", *map(str, files), "--cells", str(inventory))
        assert scan.returncode == 1, scan.stderr
        assert scan.stdout == b"" and why in scan.stderr and b"Traceback" not in scan.stderr
    assert (
        b"record is not a JSON object" in run("scan", str(rejected), "--cells", str(cells)).stderr
    )
    # a header alone is no inventory on purpose (device logs): said, and scanned
    empty_inventory.write_text(cells.read_text().splitlines()[0] + "\n")
    scan = run("scan", str(observations), "--cells", str(empty_inventory), "-f", "jsonl")
    assert scan.returncode == 0 and b"an empty inventory: the rules that compare" in scan.stderr


def test_ground_truth_that_is_not_is_a_usage_error(tmp_path) -> None:
    folder = tmp_path / "city"
    done = run("simulate", "--out", str(folder), "--scenario", "stationary-blaster",
               "--observers", "4", "--seed", "3")  # fmt: skip
    assert done.returncode == 0, done.stderr
    truth = orjson.loads((folder / "truth.json").read_bytes())
    truth["blasters"][0]["track"][0][1] = 200.0  # latitude
    for text, why in (
        (b"[1]", b"Input should be an object"),
        (b'{"blasters": "x"}', b"scenario: Field required (2 problems)"),
        (orjson.dumps(truth), b"blasters.0.track.0.1: Input should be less than or equal to 90"),
    ):
        (folder / "truth.json").write_bytes(text)
        evaluated = run("evaluate", str(folder))
        assert evaluated.returncode == 2 and why in evaluated.stderr, evaluated.stderr
        assert b"Traceback" not in evaluated.stderr and b"observations" not in evaluated.stderr
