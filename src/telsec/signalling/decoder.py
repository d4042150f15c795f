"""The signalling decoder: captured frames in, one record per TCAP component
(or per Diameter message) out.

Records are plain dicts with the keys of :data:`FIELDS` (absent keys are
empty), so that they go straight to JSON lines, CSV or Parquet.  Frames that
carry nothing decodable are counted per reason in :class:`DecodeStats`; a bad
frame never stops the stream.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telsec.packets.capture import CaptureError, Packet, open_capture
from telsec.packets.network import Skip
from telsec.signalling import map as gsm_map
from telsec.signalling.diameter import messages as diameter_messages
from telsec.signalling.map import CAP_OPERATIONS
from telsec.signalling.mtp import SI_SCCP, m2pa, m2ua, m3ua
from telsec.signalling.sccp import MESSAGE_NAMES, PartyAddress, sccp
from telsec.signalling.tcap import TcapMessage, tcap
from telsec.signalling.transport import (
    PPID_DIAMETER,
    PPID_DIAMETER_DTLS,
    PPID_M2PA,
    PPID_M2UA,
    PPID_M3UA,
    Payload,
    SctpReassembly,
    payloads,
)

Record = dict[str, Any]

#: Column order of every output format.
FIELDS: tuple[str, ...] = (
    "frame", "time", "protocol", "src_ip", "dst_ip",
    "opc", "dpc", "sccp", "return_cause",
    "calling_gt", "calling_ssn", "calling_pc", "calling_gti", "calling_tt", "calling_np",
    "calling_nai",
    "called_gt", "called_ssn", "called_pc", "called_gti", "called_tt", "called_np", "called_nai",
    "tcap", "otid", "dtid", "application_context", "dialogue", "abort_cause",
    "component", "invoke_id", "linked_id", "opcode", "operation", "error_code", "problem",
    "imsi", "msisdn", "vlr_number", "msc_number", "sgsn_number", "hlr_number",
    "service_centre", "gmsc_address", "gsmscf_address", "network_node_number", "mlc_number",
    "cell_global_id", "geographical_info", "sms_originator",
    "command", "command_code", "is_request", "application_id", "hop_by_hop", "end_to_end",
    "origin_host", "origin_realm", "destination_host", "destination_realm", "visited_plmn",
    "user_name", "result_code", "session_id",
)  # fmt: skip


@dataclass
class DecodeStats:
    """What the decoder saw: frames, records, and each reason for skipping."""

    frames: int = 0
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: A damaged capture file (decoding stopped at that point of that file).
    file_errors: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def merge(self, other: DecodeStats) -> None:
        self.frames += other.frames
        self.records += other.records
        self.skipped.update(other.skipped)
        self.file_errors.extend(other.file_errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "records": self.records,
            "skipped": dict(self.skipped.most_common()),
            "file_errors": self.file_errors,
        }


def _party(record: Record, prefix: str, addr: PartyAddress) -> None:
    record[prefix + "_gt"] = addr.digits
    record[prefix + "_ssn"] = addr.ssn
    record[prefix + "_pc"] = addr.point_code
    record[prefix + "_gti"] = addr.gt_indicator
    record[prefix + "_tt"] = addr.translation_type
    record[prefix + "_np"] = addr.numbering_plan
    record[prefix + "_nai"] = addr.nature_of_address


def _tcap_records(base: Record, message: TcapMessage, data: bytes) -> list[Record]:
    base["tcap"] = message.kind
    base["otid"] = message.otid
    base["dtid"] = message.dtid
    base["application_context"] = message.application_context
    base["dialogue"] = message.dialogue
    base["abort_cause"] = message.abort_cause
    if message.truncated:
        base["problem"] = "truncated"
    user = gsm_map.classify(message.application_context, (base["calling_ssn"], base["called_ssn"]))
    base["protocol"] = user
    if not message.components:
        return [base]
    out = []
    for comp in message.components:
        record = dict(base)
        record["component"] = comp.kind
        record["invoke_id"] = comp.invoke_id
        record["linked_id"] = comp.linked_id
        record["opcode"] = comp.opcode
        record["error_code"] = comp.error_code
        record["problem"] = comp.problem or base.get("problem")
        if user == "map" and comp.opcode is not None:
            record["operation"] = gsm_map.operation_name(comp.opcode)
            if comp.parameter is not None:
                kind = "arg" if comp.kind == "invoke" else "res"
                try:
                    record.update(gsm_map.parameters(comp.opcode, kind, data, *comp.parameter))
                except Skip:
                    record["problem"] = record["problem"] or "malformed MAP parameter"
        elif user == "cap" and comp.opcode is not None:
            record["operation"] = CAP_OPERATIONS.get(comp.opcode, f"cap-{comp.opcode}")
        elif comp.global_opcode is not None:
            record["operation"] = comp.global_opcode
        out.append(record)
    return out


def _ss7(base: Record, mtp3: tuple[int, int, int, int, bytes]) -> list[Record]:
    opc, dpc, si, _ni, payload = mtp3
    if si != SI_SCCP:
        raise Skip("MTP3 user is not SCCP (ISUP, management, ...)")
    base["opc"] = opc
    base["dpc"] = dpc
    message = sccp(payload)
    base["sccp"] = MESSAGE_NAMES[message.message_type]
    base["return_cause"] = message.return_cause
    _party(base, "calling", message.calling)
    _party(base, "called", message.called)
    return _tcap_records(base, tcap(message.data), message.data)


def _payload_records(frame: int, time: float, payload: Payload) -> list[Record]:
    base: Record = {"frame": frame, "time": time, "src_ip": payload.src, "dst_ip": payload.dst}
    ppid = payload.ppid
    if ppid == PPID_M3UA:
        return _ss7(base, m3ua(payload.data))
    if ppid == PPID_M2PA:
        return _ss7(base, m2pa(payload.data))
    if ppid == PPID_M2UA:
        return _ss7(base, m2ua(payload.data))
    if ppid in (PPID_DIAMETER, PPID_DIAMETER_DTLS):
        out = []
        for message in diameter_messages(payload.data):
            record = dict(base)
            record.update(
                protocol="diameter",
                command=message.command,
                command_code=message.command_code,
                is_request=message.is_request,
                application_id=message.application_id,
                hop_by_hop=message.hop_by_hop,
                end_to_end=message.end_to_end,
            )
            record.update(message.avps)
            out.append(record)
        return out
    raise Skip(f"SCTP payload protocol {ppid} is not signalling we decode")


def decode_packet(
    packet: Packet, stats: DecodeStats, reassembly: SctpReassembly | None = None
) -> list[Record]:
    """The records of one frame; a frame with nothing decodable adds a reason to ``stats``."""
    stats.frames += 1
    if packet.error:
        stats.skip(packet.error)
        return []
    try:
        found = payloads(packet.linktype, packet.data, reassembly)
    except Skip as skip:
        stats.skip(skip.reason)
        return []
    out: list[Record] = []
    for payload in found:
        try:
            out.extend(_payload_records(packet.frame, packet.time, payload))
        except Skip as skip:
            stats.skip(skip.reason)
        except (IndexError, ValueError, UnicodeDecodeError) as exc:  # a bound we missed
            stats.skip(f"malformed ({exc.__class__.__name__})")
    stats.records += len(out)
    return out


def decode_packets(packets: Iterable[Packet], stats: DecodeStats) -> Iterator[Record]:
    reassembly = SctpReassembly()
    for packet in packets:
        yield from decode_packet(packet, stats, reassembly)


def decode_file(path: str | Path, stats: DecodeStats) -> Iterator[Record]:
    """Records of one capture file, streamed; a damaged file is noted in ``stats``."""
    try:
        yield from decode_packets(open_capture(path), stats)
    except CaptureError as exc:
        stats.file_errors.append(f"{path}: {exc}")
    except OSError as exc:
        stats.file_errors.append(f"{path}: {exc.strerror or exc}")
