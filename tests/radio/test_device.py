"""Device logs (Rayhunter GSMTAP captures): decoded as Wireshark decodes them, and the
device-side heuristics on real traces and on crafted messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import polars as pl
import pytest

from telsec.radio.detect import RadioConfig, detect
from telsec.radio.device import DeviceLog, _connection_over, _nas, _State, read_gsmtap
from telsec.radio.schema import INVENTORY_SCHEMA, OBSERVATION_SCHEMA
from tests.radio.conftest import SHARED_RADIO

TRACES = sorted((SHARED_RADIO / "rayhunter-traces").glob("*.pcap"))
needs_traces = pytest.mark.skipif(not TRACES, reason="shared Rayhunter traces not present")


def _tshark(tshark: str, capture: Path) -> dict[int, dict[str, str]]:
    fields = [
        "frame.number",
        "gsmtap.type",
        "nas_eps.nas_msg_emm_type",
        "nas_eps.emm.id_type2",
        "lte-rrc.cellIdentity",
        "lte-rrc.trackingAreaCode",
        "lte-rrc.rrcConnectionRelease_element",
    ]
    command = [tshark, "-n", "-r", str(capture), "-T", "fields"]
    for name in fields:
        command += ["-e", name]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return {
        int(line.split("\t")[0]): dict(zip(fields[1:], line.split("\t")[1:], strict=True))
        for line in out.splitlines()
    }


@pytest.mark.parametrize("capture", TRACES, ids=[t.name for t in TRACES])
def test_rayhunter_traces_decode_as_wireshark_decodes_them(tshark: str, capture: Path) -> None:
    theirs = _tshark(tshark, capture)
    log = read_gsmtap(capture)
    assert log.error is None and log.frames == len(theirs)
    compared = 0
    for frame, values in theirs.items():
        mine = log.decoded.get(frame, {})
        if values["gsmtap.type"] == "18" and values["nas_eps.nas_msg_emm_type"]:
            # plain EMM in a GSMTAP NAS frame (RRC frames carry the same NAS again)
            assert mine.get("emm_type") == int(values["nas_eps.nas_msg_emm_type"], 16), frame
            if values["nas_eps.emm.id_type2"]:
                assert mine["identity_type"] == int(values["nas_eps.emm.id_type2"]), frame
            compared += 1
        if values["lte-rrc.cellIdentity"]:
            # Wireshark shows the 28-bit cell identity left-aligned in 32 bits
            assert mine["cell_identity"] << 4 == int(values["lte-rrc.cellIdentity"], 16), frame
            assert mine["tac"] == int(values["lte-rrc.trackingAreaCode"], 16), frame
            compared += 1
        if values["lte-rrc.rrcConnectionRelease_element"]:
            assert mine.get("release"), frame
            compared += 1
    assert compared >= 5


@needs_traces
def test_real_traces_raise_evidence_but_no_alert() -> None:
    """The owner's notes: an IMSI request at power-on or when roaming is refused is the
    known false positive.  telsec records it, with the reject cause, and does not alert
    on it alone."""
    events = [e for trace in TRACES for e in read_gsmtap(trace).events]
    assert {e.rule for e in events} == {"RADIO-DEVICE-IMSI-REQUEST"}
    in_the_air = [e for e in events if "1749222138" in e.source]
    assert "roaming not allowed in this tracking area" in in_the_air[0].detail
    empty = pl.DataFrame(schema=OBSERVATION_SCHEMA)
    found = detect(empty, pl.DataFrame(schema=INVENTORY_SCHEMA), RadioConfig(), events)
    assert found.alerts == [] and found.cells == 3


def _emm(kind: int, *rest: int) -> bytes:
    return bytes([0x07, kind, *rest])


def test_imsi_catcher_sequence_and_null_ciphering() -> None:
    state, log = _State("crafted", cell=("lte", 234, 15, 1150, 999)), DeviceLog()
    _nas(state, log, _emm(0x55, 0x01), 1.0, 1)  # identity request: IMSI
    _nas(state, log, _emm(0x44, 0x07), 1.2, 2)  # attach reject: EPS services not allowed
    _connection_over(state, log, 1.3)  # the connection ends: no authentication came
    _nas(state, log, _emm(0x5D, 0x00, 0x00), 5.0, 3)  # security mode: EEA0/EIA0
    rules = [e.rule for e in log.events]
    assert rules == ["RADIO-DEVICE-IMSI-REQUEST", "RADIO-DEVICE-NULL-CIPHER"]
    assert "EPS services not allowed" in log.events[0].detail
    found = detect(
        pl.DataFrame(schema=OBSERVATION_SCHEMA),
        pl.DataFrame(schema=INVENTORY_SCHEMA),
        RadioConfig(),
        log.events,
    )
    (alert,) = found.alerts
    assert alert["id"] == "lte:234-15:1150:999" and alert["score"] >= 0.6


def test_authentication_clears_an_imsi_request() -> None:
    state, log = _State("crafted"), DeviceLog()
    _nas(state, log, _emm(0x55, 0x01), 1.0, 1)
    _nas(state, log, _emm(0x52, 0x00), 1.1, 2)
    assert state.waiting == [] and log.events == []


@needs_traces
def test_a_damaged_capture_is_reported_not_raised(tmp_path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(TRACES[0].read_bytes()[:500])
    log = read_gsmtap(cut)
    assert log.error and "cut short" in log.error and log.frames > 0


FBS = SHARED_RADIO / "fbsdetector-traces"


@pytest.mark.skipif(not (FBS / "nas").exists(), reason="shared FBSDetector traces not present")
def test_fbsdetector_labelled_traces() -> None:
    """FBSDetector's NAS traces (USENIX Security 2025, CC0) label each message 1 when a
    fake base station sent it or drew it out.  A phone's Authentication Failure with a
    MAC failure is telsec's strongest sign there: measured 163 of 164 such events on
    labelled messages, in all 9 experiments."""
    import ast

    hits = misses = experiments = 0
    for trace in sorted((FBS / "nas").glob("exp*_nas.pcap")):
        text = (FBS / "labels-nas" / trace.name.replace(".pcap", "_label.txt")).read_text()
        labels = ast.literal_eval(text.split("=", 1)[1].strip())
        log = read_gsmtap(trace)
        assert log.frames == len(labels) and log.error is None
        events = [e for e in log.events if e.rule == "RADIO-DEVICE-AUTH-FAILURE"]
        good = sum(1 for e in events if labels[e.frame - 1] == 1)
        hits, misses = hits + good, misses + len(events) - good
        experiments += good > 0
    assert experiments == 9
    assert hits / (hits + misses) >= 0.95
