"""``telsec signalling`` end to end, as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from telsec.signalling.findings import RULES, Finding, finding_line

TELSEC = [sys.executable, "-m", "telsec.cli.main"]


def run(*args: str, **kw):
    return subprocess.run([*TELSEC, *args], capture_output=True, **kw)


def test_generate_decode_scan_evaluate(tmp_path) -> None:
    pcap, labels, policy = tmp_path / "a.pcap", tmp_path / "a.jsonl", tmp_path / "p.toml"
    done = run(
        "signalling",
        "generate",
        "--out",
        str(pcap),
        "--labels",
        str(labels),
        "--messages",
        "2000",
        "--policy-out",
        str(policy),
    )
    assert done.returncode == 0, done.stderr
    decoded = run("signalling", "decode", str(pcap))
    assert decoded.returncode == 0
    records = [orjson.loads(line) for line in decoded.stdout.splitlines()]
    assert len(records) == 2000 and records[0]["frame"] == 1
    assert {
        "frame",
        "time",
        "opc",
        "dpc",
        "calling_gt",
        "called_gt",
        "tcap",
        "otid",
        "component",
        "invoke_id",
        "opcode",
        "operation",
    } <= set(records[0])
    parquet = tmp_path / "a.parquet"
    assert (
        run("signalling", "decode", str(pcap), "-f", "parquet", "-o", str(parquet)).returncode == 0
    )
    assert pq.read_table(parquet).num_rows == 2000
    scan = run("signalling", "scan", str(pcap), "--policy", str(policy), "-f", "jsonl")
    assert scan.returncode == 0
    lines = [orjson.loads(line) for line in scan.stdout.splitlines()]
    assert {line["record"] for line in lines} == {"finding", "source"}
    assert all(line["rule"].startswith("SIG-") for line in lines if line["record"] == "finding")
    sources = [line for line in lines if line["record"] == "source"]
    assert {s["verdict"] for s in sources} <= {"block", "investigate", "watch", "ok"}
    evaluated = run(
        "signalling",
        "evaluate",
        str(pcap),
        "--labels",
        str(labels),
        "--policy",
        str(policy),
        "-f",
        "json",
    )
    rows = orjson.loads(evaluated.stdout)
    assert rows[-1]["scenario"] == "all" and rows[-1]["recall"] >= 0.98


def test_usage_errors_exit_2_without_a_traceback(tmp_path) -> None:
    missing = run("signalling", "decode", str(tmp_path / "nope.pcap"))
    assert missing.returncode == 2 and b"Traceback" not in missing.stderr
    bad_policy = tmp_path / "p.toml"
    bad_policy.write_text("[home")
    pcap = tmp_path / "x.pcap"
    pcap.write_bytes(b"")
    scan = run("signalling", "scan", str(pcap), "--policy", str(bad_policy))
    assert scan.returncode == 2 and b"not valid TOML" in scan.stderr
    bad_policy.write_bytes(b"\xd2\xd9\xbf\x82 binary, not a policy")
    for command in ("scan", "blocklist"):
        binary = run("signalling", command, str(pcap), "--policy", str(bad_policy))
        assert binary.returncode == 2 and b"not UTF-8 text" in binary.stderr, binary.stderr
        assert b"Traceback" not in binary.stderr and b"bug in telsec" not in binary.stderr


def test_nothing_to_read_fails_before_any_output(tmp_path) -> None:
    """Files none of which is a capture: exit 1 with why, and no empty tables;
    one damaged file among good ones is reported, and the good one is read."""
    junk, empty = tmp_path / "notes.txt", tmp_path / "empty.pcap"
    junk.write_text("not a capture\n")
    empty.write_bytes(b"")
    policy = tmp_path / "p.toml"
    policy.write_text('[home]\nname = "Home"\nplmn = ["234-15"]\ngt_prefixes = ["44"]\n')
    for command in (["decode"], ["scan", "--policy", str(policy)]):
        done = run("signalling", *command, str(junk), str(empty))
        assert done.returncode == 1, done.stderr
        assert done.stdout == b""
        assert b"no capture to read" in done.stderr and b"not a pcap or pcapng file" in done.stderr
        assert b"empty or truncated file" in done.stderr and b"Traceback" not in done.stderr
    good = tmp_path / "a.pcap"
    made = run("signalling", "generate", "--out", str(good), "--labels", str(tmp_path / "l.jsonl"),
               "--messages", "50")  # fmt: skip
    assert made.returncode == 0, made.stderr
    mixed = run("signalling", "decode", str(junk), str(good))
    assert mixed.returncode == 0 and len(mixed.stdout.splitlines()) == 50
    assert b"damaged" in mixed.stderr and b"notes.txt" in mixed.stderr


def test_labels_that_are_not_labels_are_a_usage_error_before_the_scan(tmp_path) -> None:
    pcap, labels = tmp_path / "a.pcap", tmp_path / "l.jsonl"
    made = run("signalling", "generate", "--out", str(pcap), "--labels", str(labels),
               "--messages", "50", "--policy-out", str(tmp_path / "p.toml"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    odd = tmp_path / "odd.jsonl"
    odd.write_text('[1]\n{"frame": "x"}\n')
    common = ["--policy", str(tmp_path / "p.toml"), "-f", "json"]
    done = run("signalling", "evaluate", str(pcap), "--labels", str(odd), *common)
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    assert b"no label in it (1 not a JSON object; 1 no frame number" in done.stderr
    assert b"frames" not in done.stderr  # refused before the capture was read
    with labels.open("a") as more:
        more.write('{"frame": "x"}\n')
    done = run("signalling", "evaluate", str(pcap), "--labels", str(labels), *common)
    assert done.returncode == 0 and b"lines left out: 1 no frame number" in done.stderr
    assert orjson.loads(done.stdout)[-1]["scenario"] == "all"


@given(
    st.builds(
        Finding,
        rule=st.sampled_from(sorted(RULES)),
        severity=st.sampled_from(["low", "medium", "high", "critical"]),
        category=st.one_of(st.none(), st.text(max_size=10)),
        frames=st.lists(st.integers(min_value=1, max_value=2**40), min_size=1, max_size=5),
        time=st.floats(allow_nan=False, allow_infinity=False),
        calling_gt=st.one_of(st.none(), st.text(max_size=15)),
        called_gt=st.one_of(st.none(), st.text(max_size=15)),
        operation=st.one_of(st.none(), st.text(max_size=20)),
        subscriber=st.one_of(st.none(), st.text(max_size=25)),
        detail=st.text(max_size=60),
        techniques=st.lists(st.text(max_size=12), max_size=4).map(tuple),
        origin_realm=st.one_of(st.none(), st.text(max_size=30)),
    )
)
def test_a_findings_json_line_is_its_record(item: Finding) -> None:
    """The JSON line, built field by field for speed, says what ``as_dict`` says."""
    assert finding_line(item) == orjson.dumps({"record": "finding", **item.as_dict()}) + b"\n"
