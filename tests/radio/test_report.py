"""Radio alerts as STIX: valid for telsec and for stix2, and accepted by a real hub."""

from __future__ import annotations

import subprocess
import sys

import orjson
import stix2

from telsec.radio.report import stix_bundle
from telsec.stix.ids import organisation_identity_id
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate
from tests.conftest import build_coalition
from tests.interop.hub import cli_env, start_hub

TELSEC = [sys.executable, "-m", "telsec.cli.main", "radio"]

ALERT = {
    "id": "gsm:234-15:53778:31039",
    "rat": "gsm",
    "mcc": 234,
    "mnc": 15,
    "area": 53778,
    "cell": 31039,
    "score": 0.887,
    "first_seen": 1763019884.0,
    "last_seen": 1763021600.0,
    "observations": 30,
    "sources": 6,
    "in_inventory": False,
    "evidence": [
        {
            "rule": "RADIO-GSM-OFF",
            "weight": 0.45,
            "title": "GSM cell of a network that has switched 2G off",
            "detail": "Albion Mobile has switched 2G off",
        },
        {
            "rule": "RADIO-NULL-CIPHER",
            "weight": 0.3,
            "title": "GSM without ciphering (A5/0)",
            "detail": "12 observations with ciphering off",
        },
    ],
    "track": [
        {
            "start": 1763019600.0,
            "end": 1763019900.0,
            "lat": 51.50457,
            "lon": -0.139,
            "radius_m": 88.0,
            "observations": 14,
            "method": "multilateration",
            "exponent": 3.1,
        },
        {
            "start": 1763019900.0,
            "end": 1763020200.0,
            "lat": 51.5051,
            "lon": -0.1381,
            "radius_m": 120.5,
            "observations": 9,
            "method": "centroid",
            "exponent": None,
        },
    ],
}


def test_bundle_is_valid_and_locates_each_window() -> None:
    bundle = stix_bundle([ALERT], Tlp.AMBER, producer="Thames Telecom", scanned="t.jsonl")
    for obj in bundle["objects"]:
        validate(obj)
    stix2.parse(bundle, allow_custom=True)
    by_type: dict[str, list] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    (cell,) = by_type["cell-identity"]
    assert (cell["rat"], cell["mcc"], cell["mnc"], cell["lac"], cell["cid"]) == (
        "gsm",
        "234",
        "15",
        53778,
        31039,
    )
    (indicator,) = by_type["indicator"]
    assert "cell-identity:lac = 53778" in indicator["pattern"]
    assert indicator["created_by_ref"] == organisation_identity_id("Thames Telecom")
    places = {p["id"]: p for p in by_type["location"]}
    assert len(by_type["sighting"]) == 2
    for sighting in by_type["sighting"]:
        (where,) = sighting["where_sighted_refs"]
        assert places[where]["precision"] >= 1
    targets = {r["target_ref"] for r in by_type["relationship"]}
    assert targets and all(t.startswith("attack-pattern--") for t in targets)


def test_scan_publishes_to_a_hub(sqlite_database, tmp_path) -> None:
    folder = tmp_path / "city"
    done = subprocess.run(
        [
            *TELSEC,
            "simulate",
            "--out",
            str(folder),
            "--scenario",
            "stationary-blaster",
            "--observers",
            "8",
            "--seed",
            "2",
        ],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    coalition = build_coalition(sqlite_database)
    hub = start_hub(sqlite_database, tmp_path / "hub.log")
    try:
        env = cli_env(sqlite_database, TELSEC_TOKEN=coalition.token("Ofcom"), TELSEC_URL=hub.url)
        scan = subprocess.run(
            [
                *TELSEC,
                "scan",
                str(folder / "observations.jsonl"),
                "--cells",
                str(folder / "cells.csv"),
                "--config",
                str(folder / "operator.toml"),
                "-f",
                "jsonl",
                "--publish",
                "shared",
                "--tlp",
                "green",
                "--bundle",
                str(tmp_path / "b.json"),
            ],
            capture_output=True,
            env=env,
        )
        assert scan.returncode == 0, scan.stderr
        alerts = [orjson.loads(line) for line in scan.stdout.splitlines()]
        objects = orjson.loads((tmp_path / "b.json").read_bytes())["objects"]
        assert alerts and f"{len(objects)} stored, 0 rejected".encode() in scan.stderr
    finally:
        hub.stop()
