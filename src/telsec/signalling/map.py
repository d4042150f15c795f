"""GSM MAP (3GPP TS 29.002): operations, application contexts, and the
parameters that matter for security.

The parameter decoder does not decode whole MAP messages: it follows, for
each operation, the few paths (by BER tag) that lead to subscriber
identities (IMSI, MSISDN), node addresses (VLR, MSC, SGSN, HLR, GMSC, gsmSCF,
service centre) and location (cell global identity or location area).
"""

from __future__ import annotations

from collections.abc import Callable

from telsec.signalling.ber import children
from telsec.signalling.sccp import tbcd_digits

#: MAP local operation codes (3GPP TS 29.002 section 17.5).
OPERATIONS: dict[int, str] = {
    2: "updateLocation",
    3: "cancelLocation",
    4: "provideRoamingNumber",
    5: "noteSubscriberDataModified",
    6: "resumeCallHandling",
    7: "insertSubscriberData",
    8: "deleteSubscriberData",
    9: "sendParameters",
    10: "registerSS",
    11: "eraseSS",
    12: "activateSS",
    13: "deactivateSS",
    14: "interrogateSS",
    15: "authenticationFailureReport",
    16: "notifySS",
    17: "registerPassword",
    18: "getPassword",
    19: "processUnstructuredSS-Data",
    20: "releaseResources",
    21: "mt-ForwardSM-VGCS",
    22: "sendRoutingInfo",
    23: "updateGprsLocation",
    24: "sendRoutingInfoForGprs",
    25: "failureReport",
    26: "noteMsPresentForGprs",
    28: "performHandover",
    29: "sendEndSignal",
    30: "performSubsequentHandover",
    31: "provideSIWFSNumber",
    32: "sIWFSSignallingModify",
    33: "processAccessSignalling",
    34: "forwardAccessSignalling",
    35: "noteInternalHandover",
    37: "reset",
    38: "forwardCheckSS-Indication",
    39: "prepareGroupCall",
    40: "sendGroupCallEndSignal",
    41: "processGroupCallSignalling",
    42: "forwardGroupCallSignalling",
    43: "checkIMEI",
    44: "mt-forwardSM",
    45: "sendRoutingInfoForSM",
    46: "mo-forwardSM",
    47: "reportSM-DeliveryStatus",
    48: "noteSubscriberPresent",
    49: "alertServiceCentreWithoutResult",
    50: "activateTraceMode",
    51: "deactivateTraceMode",
    52: "traceSubscriberActivity",
    53: "updateVcsgLocation",
    54: "beginSubscriberActivity",
    55: "sendIdentification",
    56: "sendAuthenticationInfo",
    57: "restoreData",
    58: "sendIMSI",
    59: "processUnstructuredSS-Request",
    60: "unstructuredSS-Request",
    61: "unstructuredSS-Notify",
    62: "anyTimeSubscriptionInterrogation",
    63: "informServiceCentre",
    64: "alertServiceCentre",
    65: "anyTimeModification",
    66: "readyForSM",
    67: "purgeMS",
    68: "prepareHandover",
    69: "prepareSubsequentHandover",
    70: "provideSubscriberInfo",
    71: "anyTimeInterrogation",
    72: "ss-InvocationNotification",
    73: "setReportingState",
    74: "statusReport",
    75: "remoteUserFree",
    76: "registerCC-Entry",
    77: "eraseCC-Entry",
    78: "secureTransportClass1",
    79: "secureTransportClass2",
    80: "secureTransportClass3",
    81: "secureTransportClass4",
    83: "provideSubscriberLocation",
    84: "sendGroupCallInfo",
    85: "sendRoutingInfoForLCS",
    86: "subscriberLocationReport",
    87: "ist-Alert",
    88: "ist-Command",
    89: "noteMM-Event",
    109: "lcs-PeriodicLocationCancellation",
    110: "lcs-LocationUpdate",
    111: "lcs-PeriodicLocationRequest",
    112: "lcs-AreaEventCancellation",
    113: "lcs-AreaEventReport",
    114: "lcs-AreaEventRequest",
    115: "lcs-MOLR",
    116: "lcs-LocationNotification",
    117: "callDeflection",
    118: "userUserService",
    119: "accessRegisterCCEntry",
    120: "forwardCUG-Info",
    121: "splitMPTY",
    122: "retrieveMPTY",
    123: "holdMPTY",
    124: "buildMPTY",
    125: "forwardChargeAdvice",
    126: "explicitCT",
}
OPCODES: dict[str, int] = {name: code for code, name in OPERATIONS.items()}

#: CAMEL (CAP, 3GPP TS 29.078) operations, to label CAP dialogues, not to decode them.
CAP_OPERATIONS: dict[int, str] = {
    0: "initialDP",
    16: "assistRequestInstructions",
    17: "establishTemporaryConnection",
    18: "disconnectForwardConnection",
    19: "connectToResource",
    20: "connect",
    22: "releaseCall",
    23: "requestReportBCSMEvent",
    24: "eventReportBCSM",
    31: "continue",
    33: "resetTimer",
    34: "furnishChargingInformation",
    35: "applyCharging",
    36: "applyChargingReport",
    41: "callGap",
    44: "callInformationReport",
    45: "callInformationRequest",
    46: "sendChargingInformation",
    47: "playAnnouncement",
    48: "promptAndCollectUserInformation",
    49: "specializedResourceReport",
    53: "cancel",
    55: "activityTest",
    60: "initialDPSMS",
    61: "furnishChargingInformationSMS",
    62: "connectSMS",
    63: "requestReportSMSEvent",
    64: "eventReportSMS",
    65: "continueSMS",
    66: "releaseSMS",
    67: "resetTimerSMS",
}

#: MAP application contexts: 0.4.0.0.1.0.<context>.<version> (TS 29.002 17.3.3).
MAP_AC_PREFIX = "0.4.0.0.1.0."
#: CAMEL (CAP) contexts: v1/v2 under MAP's arc (50, 51, 52), v3/v4 under 21-23.
_CAP_LEGACY = {"50", "51", "52"}
_CAP_ARCS = ("0.4.0.0.1.21.", "0.4.0.0.1.22.", "0.4.0.0.1.23.")
#: Core INAP: ETSI (0.4.0.1.1.*) and ITU-T Q.1218 (0.0.17.1218.*) / Q.1228.
_INAP_PREFIXES = ("0.4.0.1.1.", "0.0.17.1218.", "0.0.17.1228.", "0.0.17.1248.")

#: Subsystem numbers (ITU-T Q.713 annex B, 3GPP TS 23.003).
SSN_NAMES = {
    6: "HLR",
    7: "VLR",
    8: "MSC",
    9: "EIR",
    10: "AuC",
    12: "INAP",
    142: "RANAP",
    143: "RNSAP",
    145: "GMLC",
    146: "CAP",
    147: "gsmSCF",
    148: "SIWF",
    149: "SGSN",
    150: "GGSN",
}
_MAP_SSNS = {6, 7, 8, 9, 10, 145, 149, 150}
_CAP_SSNS = {146}


def classify(application_context: str | None, ssns: tuple[int | None, int | None]) -> str:
    """The TCAP user: "map", "cap", "inap" or "unknown".

    The application context name decides; without one (a Continue or End
    whose dialogue was opened earlier), the subsystem numbers do.
    """
    if application_context:
        if application_context.startswith(MAP_AC_PREFIX):
            arc = application_context[len(MAP_AC_PREFIX) :].split(".", 1)[0]
            return "cap" if arc in _CAP_LEGACY else "map"
        if application_context.startswith(_CAP_ARCS):
            return "cap"
        if application_context.startswith(_INAP_PREFIXES):
            return "inap"
        return "unknown"
    if any(ssn in _CAP_SSNS for ssn in ssns):
        return "cap"
    if ssns[0] == 12 or ssns[1] == 12:
        return "inap"
    if any(ssn in _MAP_SSNS for ssn in ssns):
        return "map"
    return "unknown"


# --- parameter values ------------------------------------------------------------


def address_string(raw: bytes) -> str | None:
    """ISDN-AddressString / AddressString: a nature/plan octet, then TBCD digits."""
    if len(raw) < 2:
        return None
    return tbcd_digits(raw[1:])


def imsi(raw: bytes) -> str | None:
    return tbcd_digits(raw) if raw else None


def cell_global_id(raw: bytes) -> str | None:
    """CellGlobalIdOrServiceAreaIdFixedLength (7 octets) or LAIFixedLength (5):
    ``MCC-MNC-LAC[-CI]`` in decimal."""
    if len(raw) not in (5, 7):
        return None
    mcc = f"{raw[0] & 0x0F}{raw[0] >> 4}{raw[1] & 0x0F}"
    mnc_third = raw[1] >> 4
    mnc = f"{raw[2] & 0x0F}{raw[2] >> 4}" + ("" if mnc_third == 0x0F else str(mnc_third))
    lac = int.from_bytes(raw[3:5], "big")
    if len(raw) == 5:
        return f"{mcc}-{mnc}-{lac}"
    return f"{mcc}-{mnc}-{lac}-{int.from_bytes(raw[5:7], 'big')}"


def _unpack7(raw: bytes, count: int) -> str:
    """GSM 7-bit default alphabet, packed (TS 23.038); non-ASCII letters as "?"."""
    out: list[str] = []
    carry = bits = 0
    for byte in raw:
        carry |= byte << bits
        bits += 8
        while bits >= 7 and len(out) < count:
            code = carry & 0x7F
            out.append(chr(code) if 0x20 <= code < 0x7F and code not in (0x24, 0x40) else "?")
            carry >>= 7
            bits -= 7
    return "".join(out)


def sms_originator(tpdu: bytes) -> str | None:
    """TP-Originating-Address of an SMS-DELIVER TPDU (TS 23.040 9.2.2.1): the
    sender's number, or its alphanumeric name."""
    if len(tpdu) < 3 or tpdu[0] & 0x03 != 0x00:
        return None
    digits, kind = tpdu[1], tpdu[2]
    octets = (digits + 1) // 2
    raw = tpdu[3 : 3 + octets]
    if len(raw) < octets:
        return None
    if (kind >> 4) & 0x07 == 5:  # alphanumeric
        return _unpack7(raw, digits * 4 // 7)
    return tbcd_digits(raw)[:digits]


Decoder = Callable[[bytes], str | None]
#: A path step: a tag (first element with that tag) or (tag, n) for the n-th (0-based).
Step = int | tuple[int, int]
Spec = tuple[tuple[Step, ...], str, Decoder]

_A, _I, _C = address_string, imsi, cell_global_id

# SubscriberInfo (in ATI and PSI results) -> locationInformation [0] -> ...
_LOCATION: list[Spec] = [
    ((0x30, 0xA0, 0x81), "vlr_number", _A),
    ((0x30, 0xA0, 0xA3, 0x80), "cell_global_id", _C),
    ((0x30, 0xA0, 0xA3, 0x81), "cell_global_id", _C),
    ((0x30, 0xA0, 0x80), "geographical_info", lambda raw: raw.hex()),
]

#: (opcode, "arg"|"res") -> what to pick out of the parameter.
PARAMETERS: dict[tuple[int, str], list[Spec]] = {
    (2, "arg"): [
        ((0x30, 0x04), "imsi", _I),
        ((0x30, 0x81), "msc_number", _A),
        ((0x30, (0x04, 1)), "vlr_number", _A),
    ],
    (2, "res"): [((0x30, 0x04), "hlr_number", _A)],
    (3, "arg"): [
        ((0xA3, 0x04), "imsi", _I),
        ((0xA3, 0x30, 0x04), "imsi", _I),
        ((0x04,), "imsi", _I),
        ((0x30, 0x04), "imsi", _I),
    ],
    (4, "arg"): [
        ((0x30, 0x80), "imsi", _I),
        ((0x30, 0x81), "msc_number", _A),
        ((0x30, 0x82), "msisdn", _A),
    ],
    (5, "arg"): [((0x30, 0x04), "imsi", _I), ((0x30, (0x04, 1)), "msisdn", _A)],
    (7, "arg"): [((0x30, 0x80), "imsi", _I), ((0x30, 0x81), "msisdn", _A)],
    (8, "arg"): [((0x30, 0x80), "imsi", _I)],
    (22, "arg"): [((0x30, 0x80), "msisdn", _A), ((0x30, 0x86), "gmsc_address", _A)],
    (22, "res"): [((0xA3, 0x89), "imsi", _I), ((0x30, 0x04), "imsi", _I)],
    (23, "arg"): [((0x30, 0x04), "imsi", _I), ((0x30, (0x04, 1)), "sgsn_number", _A)],
    (23, "res"): [((0x30, 0x04), "hlr_number", _A)],
    (24, "arg"): [((0x30, 0x80), "imsi", _I)],
    (44, "arg"): [
        ((0x30, 0x80), "imsi", _I),
        ((0x30, 0x84), "service_centre", _A),
        ((0x30, 0x82), "msisdn", _A),
        ((0x30, 0x04), "sms_originator", sms_originator),
    ],
    (45, "arg"): [((0x30, 0x80), "msisdn", _A), ((0x30, 0x82), "service_centre", _A)],
    (45, "res"): [
        ((0x30, 0x04), "imsi", _I),
        ((0x30, 0xA0, 0x81), "network_node_number", _A),
        ((0x30, 0xA0, 0xA6, 0x80), "msc_number", _A),
        ((0x30, 0xA0, 0xA6, 0x81), "sgsn_number", _A),
    ],
    (46, "arg"): [
        ((0x30, 0x80), "imsi", _I),
        ((0x30, 0x84), "service_centre", _A),
        ((0x30, 0x82), "msisdn", _A),
        ((0x30, 0x04), "sms_originator", sms_originator),
    ],
    (47, "arg"): [((0x30, 0x04), "msisdn", _A), ((0x30, (0x04, 1)), "service_centre", _A)],
    (50, "arg"): [((0x30, 0x80), "imsi", _I)],
    (55, "res"): [((0x30, 0x04), "imsi", _I), ((0x04,), "imsi", _I)],
    (56, "arg"): [((0x30, 0x80), "imsi", _I), ((0x04,), "imsi", _I)],
    (57, "arg"): [((0x30, 0x04), "imsi", _I)],
    (57, "res"): [((0x30, 0x04), "hlr_number", _A)],
    (58, "arg"): [((0x04,), "msisdn", _A)],
    (58, "res"): [((0x04,), "imsi", _I)],
    (59, "arg"): [((0x30, 0x80), "msisdn", _A)],
    (60, "arg"): [((0x30, 0x80), "msisdn", _A)],
    (62, "arg"): [
        ((0x30, 0xA0, 0x80), "imsi", _I),
        ((0x30, 0xA0, 0x81), "msisdn", _A),
        ((0x30, 0x82), "gsmscf_address", _A),
    ],
    (63, "arg"): [((0x30, 0x04), "imsi", _I)],
    (64, "arg"): [((0x30, 0x04), "msisdn", _A), ((0x30, (0x04, 1)), "service_centre", _A)],
    (65, "arg"): [
        ((0x30, 0xA0, 0x80), "imsi", _I),
        ((0x30, 0xA0, 0x81), "msisdn", _A),
        ((0x30, 0x81), "gsmscf_address", _A),
    ],
    (66, "arg"): [((0x30, 0x80), "imsi", _I)],
    (67, "arg"): [
        ((0xA3, 0x04), "imsi", _I),
        ((0xA3, 0x80), "vlr_number", _A),
        ((0xA3, 0x81), "sgsn_number", _A),
        ((0x30, 0x04), "imsi", _I),
        ((0x30, (0x04, 1)), "vlr_number", _A),
    ],
    (70, "arg"): [((0x30, 0x80), "imsi", _I)],
    (70, "res"): [((0x30, *path), name, decode) for path, name, decode in _LOCATION],
    (71, "arg"): [
        ((0x30, 0xA0, 0x80), "imsi", _I),
        ((0x30, 0xA0, 0x81), "msisdn", _A),
        ((0x30, 0x83), "gsmscf_address", _A),
    ],
    (71, "res"): [((0x30, *path), name, decode) for path, name, decode in _LOCATION],
    (83, "arg"): [
        ((0x30, 0x04), "mlc_number", _A),
        ((0x30, 0x82), "imsi", _I),
        ((0x30, 0x83), "msisdn", _A),
    ],
    (85, "arg"): [
        ((0x30, 0x80), "mlc_number", _A),
        ((0x30, 0xA1, 0x80), "imsi", _I),
        ((0x30, 0xA1, 0x81), "msisdn", _A),
    ],
}


def _find(data: bytes, start: int, end: int, path: tuple[Step, ...]) -> tuple[int, int] | None:
    """Content range of the element at ``path`` below [start, end) (TLVs)."""
    for depth, step in enumerate(path):
        tag, wanted = (step, 0) if isinstance(step, int) else step
        seen = 0
        found = None
        for t, s, e in children(data, start, end):
            if t == tag:
                if seen == wanted:
                    found = (s, e)
                    break
                seen += 1
        if found is None:
            return None
        if depth == len(path) - 1:
            return found
        start, end = found
    return None


def parameters(opcode: int, kind: str, data: bytes, start: int, end: int) -> dict[str, str]:
    """Security-relevant values in a MAP parameter at [start, end) of ``data``.

    ``kind`` is "arg" (Invoke) or "res" (ReturnResult).  Unknown layouts give
    an empty dict; malformed BER raises :class:`~telsec.packets.network.Skip`.
    """
    specs = PARAMETERS.get((opcode, kind))
    if not specs:
        return {}
    out: dict[str, str] = {}
    for path, name, decode in specs:
        if name in out:
            continue
        where = _find(data, start, end, path)
        if where is None:
            continue
        value = decode(data[where[0] : where[1]])
        if value:
            out[name] = value
    return out


def operation_name(opcode: int | None) -> str | None:
    return None if opcode is None else OPERATIONS.get(opcode, f"unknown-{opcode}")
