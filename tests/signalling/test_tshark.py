"""The decoder against an outside judge: Wireshark's tshark, field by field, every frame.

For each frame, the values tshark extracts must equal the values telsec's
records carry.  Where Wireshark and telsec legitimately differ, the test says
so and why.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from telsec.signalling.decoder import DecodeStats, decode_file

from .conftest import SHARED_CAPTURES

ADDRESS_FIELDS = (
    "msisdn", "vlr_number", "msc_number", "sgsn_number", "hlr_number", "service_centre",
    "gmsc_address", "gsmscf_address", "network_node_number", "mlc_number",
)  # fmt: skip

#: tshark field -> how to read telsec's records of that frame into the same set.
SS7_FIELDS = {
    "m3ua.protocol_data_opc": lambda r: {str(r["opc"])},
    "m3ua.protocol_data_dpc": lambda r: {str(r["dpc"])},
    "sccp.calling.digits": lambda r: {r.get("calling_gt")},
    "sccp.called.digits": lambda r: {r.get("called_gt")},
    "sccp.calling.ssn": lambda r: {
        str(r["calling_ssn"]) if r.get("calling_ssn") is not None else None
    },
    "sccp.called.ssn": lambda r: {
        str(r["called_ssn"]) if r.get("called_ssn") is not None else None
    },
    "tcap.otid": lambda r: {r.get("otid")},
    "tcap.dtid": lambda r: {r.get("dtid")},
    "gsm_old.localValue": lambda r: {
        str(r["opcode"]) if r.get("protocol") == "map" and r.get("opcode") is not None else None
    },
    "camel.local": lambda r: {
        str(r["opcode"]) if r.get("protocol") == "cap" and r.get("opcode") is not None else None
    },
    "e212.imsi": lambda r: {r.get("imsi")},
    # Wireshark shows an AddressString as "E.164 number (MSISDN)" (e164.msisdn)
    # or as plain digits (gsm_map.address.digits) depending on the field: together
    # they are every address string of the message
    # (with the numeric sender inside an SMS-DELIVER's user data)
    "e164.msisdn+gsm_map.address.digits": lambda r: (
        {r.get(f) for f in ADDRESS_FIELDS}
        | ({r["sms_originator"]} if (r.get("sms_originator") or "").isdigit() else set())
    ),
    # the sender, numeric or alphanumeric
    "gsm_sms.tp-oa": lambda r: {r.get("sms_originator")},
}
DIAMETER_FIELDS = {
    "diameter.cmd.code": lambda r: {str(r["command_code"])},
    "diameter.Origin-Host": lambda r: {r.get("origin_host")},
    "diameter.Origin-Realm": lambda r: {r.get("origin_realm")},
    "diameter.Destination-Host": lambda r: {r.get("destination_host")},
    "diameter.Destination-Realm": lambda r: {r.get("destination_realm")},
    "diameter.User-Name": lambda r: {r.get("user_name")},
    "diameter.Session-Id": lambda r: {r.get("session_id")},
    "diameter.Result-Code": lambda r: {str(r["result_code"]) if r.get("result_code") else None},
    # on S6a Wireshark reads User-Name as an IMSI, as telsec does
    "e212.imsi": lambda r: {r.get("imsi")},
}


#: Where tshark shows more than the field holds.  A User-Name sent as an NAI
#: ("310260123456789@lte.operator.net", arkime's Diameter capture) appears whole
#: in tshark's e212.imsi; the IMSI is its user part (TS 23.003 19.3), which is
#: what telsec reports.
TSHARK_VALUE = {"e212.imsi": lambda v: v.partition("@")[0]}


def tshark_fields(tshark: str, capture: Path, fields: list[str]) -> dict[int, dict[str, set[str]]]:
    """tshark's values per frame; a name "a+b" is the union of fields a and b."""
    command = [tshark, "-n", "-r", str(capture), "-T", "fields", "-E", "occurrence=a",
               "-E", "aggregator=|", "-e", "frame.number"]  # fmt: skip
    columns = [part for name in fields for part in name.split("+")]
    for column in columns:
        command += ["-e", column]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    frames: dict[int, dict[str, set[str]]] = {}
    for line in out.splitlines():
        number, *values = line.split("\t")
        raw = {
            c: {TSHARK_VALUE.get(c, str)(v) for v in value.split("|") if v}
            for c, value in zip(columns, values)
        }
        frames[int(number)] = {
            name: set().union(*(raw.get(part, set()) for part in name.split("+")))
            for name in fields
        }
    return frames


def telsec_fields(capture: Path, fields: dict) -> dict[int, dict[str, set[str]]]:
    by_frame: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    stats = DecodeStats()
    for record in decode_file(capture, stats):
        if (record.get("protocol") == "diameter") != (fields is DIAMETER_FIELDS):
            continue
        for name, pick in fields.items():
            by_frame[record["frame"]][name] |= {v for v in pick(record) if v}
    assert not stats.file_errors
    return by_frame


def compare(
    tshark: str, capture: Path, fields: dict, subset: set[str] = frozenset(),
    skip: set[int] = frozenset(),
) -> int:  # fmt: skip
    """Assert agreement; fields in ``subset`` need only telsec's values to be among tshark's;
    frames in ``skip`` are not compared.

    Returns the number of frames compared.
    """
    theirs = tshark_fields(tshark, capture, list(fields))
    ours = telsec_fields(capture, fields)
    compared = 0
    for frame, values in theirs.items():
        if frame in skip:
            continue
        if not any(values.values()):
            assert frame not in ours, f"frame {frame}: telsec decoded what tshark did not"
            continue
        compared += 1
        mine = ours.get(frame, {})
        for name in fields:
            expected, got = values.get(name, set()), mine.get(name, set())
            if name in subset:
                assert got <= expected, f"frame {frame} {name}: telsec {got}, tshark {expected}"
            else:
                assert got == expected, f"frame {frame} {name}: telsec {got}, tshark {expected}"
    assert set(ours) <= set(theirs)
    return compared


def test_generated_capture_matches_tshark(tshark: str, generated_capture) -> None:
    """SS7 fields on the MAP frames, Diameter fields on the S6a frames."""
    pcap, _labels = generated_capture
    diameter = {
        frame
        for frame, values in tshark_fields(tshark, pcap, ["diameter.cmd.code"]).items()
        if values["diameter.cmd.code"]
    }
    assert 200 < len(diameter) < 1000
    assert compare(tshark, pcap, SS7_FIELDS, skip=diameter) == 3000 - len(diameter)
    everything = set(range(1, 3001))
    assert compare(tshark, pcap, DIAMETER_FIELDS, skip=everything - diameter) == len(diameter)


def test_shared_sigtran_capture_matches_tshark(tshark: str) -> None:
    """arkime's synthetic M3UA/M2UA capture: CAMEL InitialDP over M2UA and M3UA.

    Its TCAP messages are cut short (the lengths claim 4 more octets than
    there are); both decoders read what is there (transaction id, the CAP
    application context, the InitialDP invoke) and telsec marks the records
    "truncated".  Frame 66 completes an SCTP message fragmented over frames
    65 and 66: both report it on frame 66.
    """
    capture = SHARED_CAPTURES / "arkime-m3ua-synthetic.pcap"
    if not capture.exists():
        pytest.skip("shared captures not present")
    # M2UA frames carry no M3UA point codes: compare the SCCP/TCAP layers there
    fields = {k: v for k, v in SS7_FIELDS.items() if not k.startswith("m3ua.")}
    assert compare(tshark, capture, fields) == 15


def test_shared_diameter_capture_matches_tshark(tshark: str) -> None:
    capture = SHARED_CAPTURES / "arkime-diameter-synthetic.pcap"
    if not capture.exists():
        pytest.skip("shared captures not present")
    assert compare(tshark, capture, DIAMETER_FIELDS) == 8
