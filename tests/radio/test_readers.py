"""Every input format read into one schema; bad rows counted, good rows kept."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telsec.radio.readers import ReaderError, detect_format, read_inventory, read_observations
from telsec.radio.store import ObservationStore

OPENCELLID = (
    "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal\n"
    """GSM,234,10,120,3905,0,-0.1435,51.5299,1500,12,1,1600000000,1700000000,0
LTE,234,15,1150,257,17,-0.2118,51.4577,2500,50,1,1600000000,1760000000,0
LTE,999,15,1150,258,17,-0.2118,51.4577,2500,50,1,1600000000,1760000000,0
LTE,234,15,1150,259,17,-0.2118,251.4577,2500,50,1,1600000000,1760000000,0
LTE,234,15,1150,257,17,-0.2118,51.4577,2500,50,1,1600000000,1760000000,0
"""
)
TOWER_COLLECTOR = (
    "mcc,mnc,lac,cell_id,psc,asu,dbm,ta,lat,lon,accuracy,speed,bearing,altitude,measured_at,"
    "net_type,neighboring,device\r\n"
    '234,15,1150,257,17,40,-85,,51.4577,-0.2118,5,0,0,30,"2025-11-13T10:00:00.000Z",LTE,false,'
    '"Pixel 8"\r\n'
    '234,15,1150,513,72,30,-95,,51.4577,-0.2118,5,0,0,30,"2025-11-13T10:00:00.000Z",LTE,true,'
    '"Pixel 8"\r\n'
    '234,15,1150,,,30,-97,,51.4577,-0.2118,5,0,0,30,"2025-11-13T10:00:00.000Z",LTE,true,'
    '"Pixel 8"\r\n'
    '234,10,120,3905,,20,+40,,51.4577,-0.2118,5,0,0,30,"2025-11-13T10:00:05.000Z",GSM,false,'
    '"Pixel 8"\r\n'
)
WIGLE = (
    "WigleWifi-1.6,appRelease=2.70,model=Pixel 8,release=14,device=shiba,display=x,board=x,"
    "brand=google,star=Sol,body=3,subBody=0\n"
    "MAC,SSID,AuthMode,FirstSeen,Channel,Frequency,RSSI,CurrentLatitude,CurrentLongitude,"
    "AltitudeMeters,AccuracyMeters,RCOIs,MfgrId,Type\n"
    "23415_1150_257,Albion,LTE;gb,2025-11-13 10:00:00,1300,0,-88,51.4577,-0.2118,30,5,,,LTE\n"
    "aa:bb:cc:dd:ee:ff,cafe,[WPA2],2025-11-13 10:00:00,6,2437,-70,51.4577,-0.2118,30,5,,,WIFI\n"
    "23410_120_3905,Thames,GSM;gb,2025-11-13 10:00:01,57,0,-71,51.4578,-0.2119,30,5,,,GSM\n"
    "garbage,Thames,GSM;gb,2025-11-13 10:00:01,57,0,-71,51.4578,-0.2119,30,5,,,GSM\n"
)
CELLINFO = [
    {
        "time": 1763028000,
        "lat": 51.4577,
        "lon": -0.2118,
        "source": "phone-1",
        "cells": [
            {
                "type": "CellInfoLte",
                "registered": True,
                "cellIdentity": {
                    "mcc": 234,
                    "mnc": 15,
                    "ci": 257,
                    "tac": 1150,
                    "pci": 17,
                    "earfcn": 1300,
                },
                "cellSignalStrength": {"rsrp": -90, "rsrq": -10},
            },
            {
                "type": "CellInfoGsm",
                "registered": False,
                "cellIdentity": {
                    "mcc": 234,
                    "mnc": 10,
                    "cid": 3905,
                    "lac": 120,
                    "arfcn": 57,
                    "bsic": 63,
                },
                "cellSignalStrength": {"dbm": -75},
            },
            {
                "type": "CellInfoCdma",
                "registered": False,
                "cellIdentity": {},
                "cellSignalStrength": {},
            },
        ],
    },
    {"time": 1763028005, "lat": 51.4577, "lon": -0.2118, "cells": "not a list"},
]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_opencellid_inventory(tmp_path) -> None:
    path = _write(tmp_path, "cells.csv", OPENCELLID)
    assert detect_format(path) == "opencellid"
    cells, counts = read_inventory(path)
    assert cells.height == 2
    assert dict(counts.rejected) == {
        "MCC missing or not a country's (200-799, or 001 test)": 1,
        "impossible coordinates": 1,
        "duplicate cell": 1,
    }
    assert cells.filter(pl.col("cell") == 3905)["range_m"].item() == 1500


def test_operator_cells_csv_with_aliases(tmp_path) -> None:
    path = _write(
        tmp_path,
        "plan.csv",
        "radio,mcc,mnc,tac,eci,latitude,longitude\nLTE,234,15,1150,257,51.45,-0.21\n",
    )
    assert detect_format(path) == "cells-csv"
    cells, _ = read_inventory(path)
    assert cells.select("rat", "area", "cell", "range_m").row(0) == ("lte", 1150, 257, 2000.0)


def test_tower_collector_export(tmp_path) -> None:
    path = _write(tmp_path, "tc.csv", TOWER_COLLECTOR)
    assert detect_format(path) == "towercollector"
    obs, counts = read_observations(path)
    assert obs.height == 2
    serving = obs.filter(pl.col("cell") == 257).row(0, named=True)
    assert serving["neighbours"] == 2 and serving["signal"] == -85 and serving["rat"] == "lte"
    assert serving["time"] == pytest.approx(1763028000.0)
    assert counts.rejected["neighbour row without a cell identity"] == 1
    assert counts.rejected["signal strength impossible for the RAT"] == 1


def test_wigle_cell_rows(tmp_path) -> None:
    path = _write(tmp_path, "wigle.csv", WIGLE)
    assert detect_format(path) == "wigle"
    obs, counts = read_observations(path)
    assert sorted(obs["rat"].to_list()) == ["gsm", "lte"]
    gsm = obs.filter(pl.col("rat") == "gsm").row(0, named=True)
    assert (gsm["mcc"], gsm["mnc"], gsm["area"], gsm["cell"], gsm["channel"]) == (
        234,
        10,
        120,
        3905,
        57,
    )
    assert counts.rejected["WiGLE cell row without an MCCMNC_LAC_CID identity"] == 1


def test_android_cellinfo(tmp_path) -> None:
    path = _write(tmp_path, "cells.json", json.dumps(CELLINFO))
    assert detect_format(path) == "cellinfo"
    obs, counts = read_observations(path)
    lte = obs.filter(pl.col("rat") == "lte").row(0, named=True)
    assert (lte["area"], lte["cell"], lte["pci"], lte["channel"], lte["signal"]) == (
        1150,
        257,
        17,
        1300,
        -90,
    )
    assert lte["neighbours"] == 2  # the registered cell, and the two others it reports
    assert obs.filter(pl.col("rat") == "gsm")["neighbours"].item() is None
    assert counts.rejected["CellInfo of an unknown type"] == 1
    assert counts.rejected["CellInfo record without a list of cells"] == 1


def test_jsonl_bad_values_reject_their_row_only(tmp_path) -> None:
    good = {
        "time": 1763028000,
        "lat": 51.5,
        "lon": -0.1,
        "source": "ue-1",
        "kind": "ue-report",
        "rat": "lte",
        "mcc": 234,
        "mnc": 15,
        "area": 1150,
        "cell": 257,
        "signal": -90,
    }
    lines = [
        good,
        {**good, "lat": "north"},
        {**good, "signal": 40},
        {**good, "mcc": 999},
        {**good, "rat": "wimax"},
        good,
    ]
    path = _write(tmp_path, "obs.jsonl", "\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    obs, counts = read_observations(path)
    assert obs.height == 1  # the duplicate of the good row is counted, not kept twice
    assert counts.rejected["duplicate row"] == 1
    assert counts.rejected["not JSON"] == 1
    assert sum(counts.rejected.values()) == counts.read - 1


def test_jsonl_lines_that_are_not_objects_say_so(tmp_path) -> None:
    """JSON that is not an object (a list, a string, null) is rejected as such,
    not as an observation of no radio technology; blank and indented lines are
    read as any other."""
    good = _observation(1)
    text = "\n".join(
        ["[1]", '"text"', "null", json.dumps(good), "", "  " + json.dumps(_observation(2))]
    )
    obs, counts = read_observations(_write(tmp_path, "obs.jsonl", text + "\n"))
    assert obs.height == 2
    assert counts.rejected == {"record is not a JSON object": 3}
    assert counts.read == 5


def test_unknown_format_is_a_clear_error(tmp_path) -> None:
    path = _write(tmp_path, "x.txt", "hello\n")
    with pytest.raises(ReaderError, match="input-format"):
        read_observations(path)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.text(max_size=40), max_size=12),
    st.sampled_from(["towercollector", "wigle", "cellinfo", "jsonl"]),
)
def test_junk_never_raises(tmp_path_factory, lines: list[str], kind: str) -> None:
    header = {
        "towercollector": TOWER_COLLECTOR.splitlines()[0],
        "wigle": WIGLE.splitlines()[0] + "\n" + WIGLE.splitlines()[1],
        "cellinfo": "",
        "jsonl": "",
    }[kind]
    path = tmp_path_factory.mktemp("junk") / "junk"
    path.write_text(header + "\n" + "\n".join(lines))
    try:
        obs, counts = read_observations(path, kind)
    except ReaderError:
        return
    assert obs.height <= counts.read or counts.read == 0


def _observation(n: int) -> dict[str, object]:
    return {
        "time": 1763028000 + n,
        "lat": 51.5 + n * 1e-5,
        "lon": -0.1,
        "source": f"ue-{n % 7}",
        "kind": "ue-report",
        "rat": "lte",
        "mcc": 234,
        "mnc": 15,
        "area": 1150,
        "cell": 257 + n % 11,
        "signal": -90.0,
    }


def test_large_files_are_read_in_chunks_with_the_same_result(tmp_path, monkeypatch) -> None:
    """JSON lines and Parquet are read a block at a time; blocks cut anywhere (here
    every few hundred bytes), bad lines and repeats across blocks count as in one."""
    from telsec.radio import readers

    records = [_observation(n) for n in range(400)]
    records += [records[5], records[399], {**records[7], "lat": 200.0}]  # repeats, a bad row
    text = "\n".join(json.dumps(r) for r in records[:200]) + "\nnot json\n"
    text += "\n".join(json.dumps(r) for r in records[200:])  # no final newline
    jsonl = _write(tmp_path, "obs.jsonl", text)
    parquet = tmp_path / "obs.parquet"
    pl.DataFrame(records).write_parquet(parquet)

    whole = {kind: read_observations(path) for kind, path in [("j", jsonl), ("p", parquet)]}
    monkeypatch.setattr(readers, "CLEAN_CHUNK_ROWS", 37)
    for block in (700, 50):  # a few lines per block; less than a line
        monkeypatch.setattr(readers, "_JSONL_BLOCK", block)
        for kind, path in [("j", jsonl), ("p", parquet)]:
            obs, counts = read_observations(path)
            assert obs.height == 400
            assert obs.equals(whole[kind][0])
            assert counts.read == whole[kind][1].read
            assert counts.rejected == whole[kind][1].rejected
            assert counts.rejected["duplicate row"] == 2
            assert counts.rejected["impossible coordinates"] == 1
            # into a store that spills to disk every 50 rows: the same rows, counted alike
            with ObservationStore(memory_rows=50) as store:
                shares: list[float] = []
                into = readers.read_observations_into(store, path, progress=shares.append)
                assert len(shares) > 2 and shares == sorted(shares) and shares[-1] == 1.0
                assert store.spilled and store.frame().equals(obs)
            assert (into.read, into.rejected) == (counts.read, counts.rejected)
    assert whole["j"][1].rejected["not JSON"] == 1
    # without the line that is not JSON, every block is parsed natively
    clean = _write(tmp_path, "clean.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    obs, counts = read_observations(clean)
    assert obs.equals(whole["p"][0])
    assert counts.rejected == whole["p"][1].rejected


def test_a_damaged_parquet_file_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "obs.parquet"
    pl.DataFrame([_observation(n) for n in range(1000)]).write_parquet(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    with pytest.raises(ReaderError, match="not a readable Parquet file"):
        read_observations(path)


def test_damaged_parquet_files_are_read_or_refused_never_a_crash(tmp_path) -> None:
    """Bytes flipped anywhere in a file of six row groups: each read either keeps
    what it can or refuses the file with a ReaderError (Polars' own reader
    panicked on some of these, with a Rust backtrace on the terminal)."""
    import random

    base = tmp_path / "base.parquet"
    pl.DataFrame([_observation(n) for n in range(3000)]).write_parquet(base, row_group_size=500)
    raw = base.read_bytes()
    rng = random.Random(1)
    outcomes = {"read": 0, "refused": 0}
    for k in range(150):
        damaged = bytearray(raw)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        path = tmp_path / f"damaged-{k}.parquet"
        path.write_bytes(bytes(damaged))
        try:
            read_observations(path)
            outcomes["read"] += 1
        except ReaderError:
            outcomes["refused"] += 1
    assert outcomes["read"] and outcomes["refused"], outcomes


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", None]),
            st.sampled_from([1, 2, None]),
            st.sampled_from([-80.5, -95.0, None]),
        ),
        max_size=40,
    )
)
def test_duplicates_dropped_exactly_as_polars_unique(rows) -> None:
    from telsec.radio.schema import OBSERVATION_SCHEMA, Rejections, check_observations, conform
    from telsec.radio.store import clean_observations

    base = {"time": 1000.0, "lat": 51.5, "lon": -0.1, "rat": "lte", "mcc": 234, "mnc": 20}
    frame = conform(
        pl.DataFrame(
            [{**base, "source": s, "cell": 7, "area": a, "signal": f} for s, a, f in rows],
            schema_overrides={"source": pl.String, "area": pl.Int64, "signal": pl.Float64},
        )
        if rows
        else pl.DataFrame(),
        OBSERVATION_SCHEMA,
    )
    counts = Rejections()
    kept = clean_observations(frame, counts, chunk_rows=7)
    checked = check_observations(frame, Rejections())  # the rows that pass the row checks
    expected = checked.unique(maintain_order=True)
    assert kept.equals(expected)
    assert counts.rejected["duplicate row"] == checked.height - expected.height
