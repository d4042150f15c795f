"""Device logs: what a phone saw of the network, from GSMTAP LTE RRC/NAS captures.

EFF Rayhunter (and QCSuper, SCAT, ...) write the modem's signalling as GSMTAP
over UDP in a pcap.  This module reads them, keeps track of the serving cell
(from SIB1: PLMN, TAC, cell identity; EARFCN from GSMTAP) and applies the
known device-side heuristics of fake base stations:

* ``RADIO-DEVICE-IMSI-REQUEST``: the network asked for the IMSI (NAS Identity
  Request) and no authentication followed in that connection, as an IMSI
  catcher does (a real network that cannot resolve a GUTI authenticates next);
* ``RADIO-DEVICE-REDIRECT-2G``: an RRC Connection Release redirecting the phone
  to GERAN (2G), how blasters pull phones off LTE;
* ``RADIO-DEVICE-PRIORITY-2G``: SIB6/SIB7 give UTRA/GERAN a higher cell
  reselection priority than the serving LTE frequency (SIB3);
* ``RADIO-DEVICE-NULL-CIPHER``: EEA0 (no ciphering) selected by RRC or NAS
  Security Mode Command;
* ``RADIO-DEVICE-AUTH-FAILURE``: the phone answers an Authentication Request
  with a MAC failure: the network does not hold the subscriber's keys.

RRC is decoded with pycrate's 3GPP ASN.1 (device logs are small; this is not a
hot path).  NAS messages are read from GSMTAP NAS frames, or from captures whose
private link type carries raw NAS PDUs; ciphered ones cannot be read and are
counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telsec.packets.capture import CaptureError, open_capture
from telsec.packets.network import Skip, ip_packet, transport_segment

GSMTAP_PORT = 4729
GSMTAP_LTE_RRC, GSMTAP_LTE_NAS = 13, 18
#: GSMTAP LTE RRC sub-types (Wireshark's gsmtap.h) -> pycrate message name.
_RRC_CHANNELS = {
    0: "DL_CCCH_Message",
    1: "DL_DCCH_Message",
    2: "UL_CCCH_Message",
    3: "UL_DCCH_Message",
    4: "BCCH_BCH_Message",
    5: "BCCH_DL_SCH_Message",
    6: "PCCH_Message",
}
EMM_IDENTITY_REQUEST, EMM_AUTHENTICATION_REQUEST, EMM_SECURITY_MODE_COMMAND = 0x55, 0x52, 0x5D
EMM_ATTACH_REJECT, EMM_TAU_REJECT = 0x44, 0x4B
EMM_AUTHENTICATION_FAILURE = 0x5C
#: Authentication Failure causes that say the network could not prove itself
#: (TS 24.301 9.9.3.9): MAC failure, non-EPS authentication unacceptable.
#: Synch failure (21) is left out: real networks cause it when re-synchronising.
FORGED_AUTHENTICATION = {20: "MAC failure", 26: "non-EPS authentication unacceptable"}
#: Link types reserved for private use (DLT_USER0-15): captures that carry raw LTE
#: NAS PDUs, one per frame, as FBSDetector's published traces do.
USER_LINKTYPES = range(147, 163)
#: Seconds an IMSI request waits for authentication before it counts as unanswered.
AUTHENTICATION_WAIT_S = 30.0


@dataclass(frozen=True)
class DeviceEvent:
    time: float
    frame: int
    rule: str
    detail: str
    #: The serving cell: (rat, mcc, mnc, tac, eci), if a SIB1 was seen before.
    cell: tuple[str, int, int, int, int] | None
    source: str


@dataclass
class DeviceLog:
    events: list[DeviceEvent] = field(default_factory=list)
    frames: int = 0
    rrc: int = 0
    nas: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    #: IMSI requests too close to the end of the capture to judge.
    undecided: int = 0
    #: Per frame, what was read (for checking against Wireshark).
    decoded: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (time, cell) each time the serving cell changed (from SIB1).
    cells: list[tuple[float, tuple[str, int, int, int, int]]] = field(default_factory=list)


def _rrc_messages() -> dict[int, Any]:
    from pycrate_asn1dir import RRCLTE  # imported when needed: it takes a moment

    definitions = RRCLTE.EUTRA_RRC_Definitions
    return {sub: getattr(definitions, name) for sub, name in _RRC_CHANNELS.items()}


def _digits(values: list[int]) -> int:
    return int("".join(str(d) for d in values))


@dataclass
class _State:
    source: str
    cell: tuple[str, int, int, int, int] | None = None
    serving_priority: int | None = None
    #: (time, frame) of IMSI requests not yet followed by authentication
    waiting: list[tuple[float, int]] = field(default_factory=list)
    #: the EMM cause of an Attach/TAU Reject that followed them
    reject: int | None = None


def _unwrap(message: Any) -> tuple[str | None, Any]:
    """(message name, contents) of a decoded RRC message value."""
    body = message.get("message") if isinstance(message, dict) else None
    if not isinstance(body, tuple) or body[0] != "c1":
        return None, None
    name, inner = body[1]
    return str(name), inner


def _extension(inner: Any) -> Any:
    """The r8 (or later) body inside ``criticalExtensions``."""
    critical = inner.get("criticalExtensions") if isinstance(inner, dict) else None
    while isinstance(critical, tuple):
        if isinstance(critical[1], dict):
            return critical[1]
        critical = critical[1]
    return inner


def _rrc(
    state: _State, log: DeviceLog, sub: int, name: str, inner: Any, time: float, frame: int
) -> None:
    def event(rule: str, detail: str) -> None:
        log.events.append(DeviceEvent(time, frame, rule, detail, state.cell, state.source))

    if name == "systemInformationBlockType1":
        access = inner.get("cellAccessRelatedInfo", {})
        plmns = access.get("plmn-IdentityList") or []
        if plmns:
            plmn = plmns[0]["plmn-Identity"]
            mcc = _digits(plmn.get("mcc") or [0, 0, 1])
            mnc = _digits(plmn["mnc"])
            tac = access["trackingAreaCode"][0]
            eci = access["cellIdentity"][0]
            if state.cell != ("lte", mcc, mnc, tac, eci):
                state.cell = ("lte", mcc, mnc, tac, eci)
                log.cells.append((time, state.cell))
            log.decoded[frame] = {"cell_identity": eci, "tac": tac}
        return
    body = _extension(inner)
    if name == "systemInformation" and isinstance(body, dict):
        for sib_name, sib in body.get("sib-TypeAndInfo", []):
            if sib_name == "sib3":
                info = sib.get("cellReselectionServingFreqInfo", {})
                state.serving_priority = info.get("cellReselectionPriority")
            elif sib_name in ("sib6", "sib7") and state.serving_priority is not None:
                key = "carrierFreqListUTRA-FDD" if sib_name == "sib6" else "carrierFreqsInfoList"
                for carrier in sib.get(key) or []:
                    common = carrier.get("commonInfo", carrier)
                    priority = common.get("cellReselectionPriority")
                    if priority is not None and priority > state.serving_priority:
                        rat = "UTRA" if sib_name == "sib6" else "GERAN"
                        event(
                            "RADIO-DEVICE-PRIORITY-2G",
                            f"{sib_name.upper()} gives {rat} "
                            f"priority {priority} over the serving LTE {state.serving_priority}",
                        )
                        break
    elif name == "rrcConnectionRelease" and isinstance(body, dict):
        redirect = body.get("redirectedCarrierInfo")
        log.decoded[frame] = {"release": True}
        if isinstance(redirect, tuple) and redirect[0] == "geran":
            event("RADIO-DEVICE-REDIRECT-2G", "RRC Connection Release redirects to GERAN (2G)")
        _connection_over(state, log, time)
    elif name == "securityModeCommand" and isinstance(body, dict):
        config = body.get("securityConfigSMC", {}).get("securityAlgorithmConfig", {})
        if config.get("cipheringAlgorithm") == "eea0":
            event("RADIO-DEVICE-NULL-CIPHER", "RRC Security Mode Command selects EEA0")


#: EMM causes (TS 24.301 annex A) worth naming in an explanation.
EMM_CAUSES = {
    3: "illegal UE",
    6: "illegal ME",
    7: "EPS services not allowed",
    8: "EPS and non-EPS services not allowed",
    11: "PLMN not allowed",
    12: "tracking area not allowed",
    13: "roaming not allowed in this tracking area",
    15: "no suitable cells in tracking area",
}


def _connection_over(state: _State, log: DeviceLog, time: float) -> None:
    detail = "IMSI requested and no authentication followed"
    if state.reject is not None:
        cause = EMM_CAUSES.get(state.reject, "")
        detail += f"; rejected with EMM cause {state.reject}" + (f" ({cause})" if cause else "")
    for asked, frame in state.waiting:
        log.events.append(
            DeviceEvent(asked, frame, "RADIO-DEVICE-IMSI-REQUEST", detail, state.cell, state.source)
        )
    state.waiting.clear()
    state.reject = None


def _nas(state: _State, log: DeviceLog, body: bytes, time: float, frame: int) -> None:
    if len(body) < 2:
        log.skipped["truncated NAS message"] += 1
        return
    header, discriminator = body[0] >> 4, body[0] & 0x0F
    if header in (1, 3) and len(body) >= 8:  # integrity protected only: plain inside
        body = body[6:]
        header, discriminator = body[0] >> 4, body[0] & 0x0F
    if header != 0:
        log.skipped["ciphered NAS message"] += 1
        return
    if discriminator != 7:  # ESM and others: nothing for us
        return
    kind = body[1]
    log.decoded[frame] = {"emm_type": kind}
    if kind == EMM_IDENTITY_REQUEST and len(body) >= 3:
        identity = body[2] & 0x07
        log.decoded[frame]["identity_type"] = identity
        if identity == 1:
            state.waiting.append((time, frame))
    elif kind in (EMM_ATTACH_REJECT, EMM_TAU_REJECT) and len(body) >= 3 and state.waiting:
        state.reject = body[2]
    elif kind == EMM_AUTHENTICATION_FAILURE and len(body) >= 3 and body[2] in FORGED_AUTHENTICATION:
        log.events.append(
            DeviceEvent(
                time,
                frame,
                "RADIO-DEVICE-AUTH-FAILURE",
                f"the phone could not authenticate the network "
                f"({FORGED_AUTHENTICATION[body[2]]}, EMM cause {body[2]})",
                state.cell,
                state.source,
            )
        )
    elif kind in (EMM_AUTHENTICATION_REQUEST, EMM_SECURITY_MODE_COMMAND):
        state.waiting.clear()
        state.reject = None
        if kind == EMM_SECURITY_MODE_COMMAND and len(body) >= 3 and (body[2] >> 4) & 0x07 == 0:
            log.events.append(
                DeviceEvent(
                    time,
                    frame,
                    "RADIO-DEVICE-NULL-CIPHER",
                    "NAS Security Mode Command selects EEA0",
                    state.cell,
                    state.source,
                )
            )


def _gsmtap(packet: Any) -> bytes:
    """The GSMTAP header and body a packet carries over UDP; :class:`Skip` if none."""
    proto, _src, _dst, segment = transport_segment(ip_packet(packet.linktype, packet.data))
    if (
        proto != 17
        or len(segment) < 8 + 16
        or GSMTAP_PORT
        not in (
            int.from_bytes(segment[0:2], "big"),
            int.from_bytes(segment[2:4], "big"),
        )
    ):
        raise Skip("not GSMTAP over UDP")
    return segment[8:]


def is_device_capture(path: Path, probe: int = 200) -> bool:
    """Whether a pcap/pcapng file is a device log: among its first ``probe`` packets,
    one is GSMTAP over UDP or a raw NAS PDU (private link type).  Signalling
    captures (SCTP, TCP) are not."""
    try:
        for index, packet in enumerate(open_capture(path)):
            if index >= probe:
                break
            if packet.linktype in USER_LINKTYPES:
                return True
            try:
                _gsmtap(packet)
            except Skip:
                continue
            return True
    except (CaptureError, OSError):
        return False
    return False


def read_gsmtap(path: Path) -> DeviceLog:
    """Events of one GSMTAP capture; frames it cannot read are counted, not fatal."""
    log = DeviceLog()
    messages = _rrc_messages()
    state = _State(path.stem)
    try:
        for packet in open_capture(path):
            log.frames += 1
            if packet.error:
                log.skipped[packet.error] += 1
                continue
            if packet.linktype in USER_LINKTYPES:  # raw NAS-EPS PDUs (FBSDetector's traces)
                log.nas += 1
                _nas(state, log, packet.data, packet.time, packet.frame)
                continue
            try:
                gsmtap = _gsmtap(packet)
            except Skip as skip:
                log.skipped[skip.reason] += 1
                continue
            length, kind, sub = gsmtap[1] * 4, gsmtap[2], gsmtap[12]
            body = gsmtap[length:]
            if state.waiting and packet.time - state.waiting[0][0] > AUTHENTICATION_WAIT_S:
                _connection_over(state, log, packet.time)
            if kind == GSMTAP_LTE_NAS:
                log.nas += 1
                _nas(state, log, body, packet.time, packet.frame)
            elif kind == GSMTAP_LTE_RRC and sub in messages:
                log.rrc += 1
                try:
                    message = messages[sub]
                    message.from_uper(body)
                    name, inner = _unwrap(message.get_val())
                except Exception:  # pycrate raises many kinds on bad PER
                    log.skipped["undecodable LTE RRC"] += 1
                    continue
                if name:
                    _rrc(state, log, sub, name, inner, packet.time, packet.frame)
            else:
                log.skipped["GSMTAP of another kind (GSM, UMTS, ...)"] += 1
    except CaptureError as exc:
        log.error = f"{path}: {exc}"
    except OSError as exc:
        log.error = f"{path}: {exc.strerror or exc}"
    # an IMSI request just before the capture ends: whether authentication followed is unknown
    log.undecided = len(state.waiting)
    log.events.sort(key=lambda e: (e.time, e.frame))
    return log
