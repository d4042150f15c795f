"""TCAP (ITU-T Q.773): transactions, dialogue portion and components.

A TCAP message gives its type, the transaction ids (hex), the application
context name from the dialogue portion, and its components, each with its
invoke id, operation code (or error code) and the location of its parameter,
which :mod:`.map` decodes when the dialogue is MAP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telsec.packets.network import Skip
from telsec.signalling.ber import Overrun, children, elements, integer, oid, read_tlv

MESSAGE_TYPES = {
    0x61: "unidirectional",
    0x62: "begin",
    0x64: "end",
    0x65: "continue",
    0x67: "abort",
}
COMPONENT_TYPES = {
    0xA1: "invoke",
    0xA2: "returnResultLast",
    0xA3: "returnError",
    0xA4: "reject",
    0xA7: "returnResultNotLast",
}
_OTID, _DTID, _PABORT, _DIALOGUE, _COMPONENTS = 0x48, 0x49, 0x4A, 0x6B, 0x6C


@dataclass(slots=True)
class Component:
    kind: str
    invoke_id: int | None = None
    linked_id: int | None = None
    #: Local operation code (Invoke, ReturnResult with a result) or None.
    opcode: int | None = None
    #: Global operation code (an OID) when the operation is not local.
    global_opcode: str | None = None
    error_code: int | None = None
    problem: str | None = None
    #: Where the parameter sits in the TCAP message: (start, end) of the whole TLV.
    parameter: tuple[int, int] | None = None


@dataclass(slots=True)
class TcapMessage:
    kind: str
    otid: str | None = None
    dtid: str | None = None
    application_context: str | None = None
    dialogue: str | None = None
    abort_cause: int | None = None
    components: list[Component] = field(default_factory=list)
    #: The message was cut short; what could be read is here.
    truncated: bool = False


_DIALOGUE_PDUS = {0x60: "AARQ", 0x61: "AARE", 0x64: "ABRT"}


#: (dialogue PDU, application context) by the dialogue portion's octets.
_DIALOGUES: dict[bytes, tuple[str | None, str | None]] = {}


def _dialogue(data: bytes, start: int, end: int, msg: TcapMessage) -> None:
    raw = data[start:end]
    known = _DIALOGUES.get(raw)
    if known is None:
        probe = TcapMessage(msg.kind)
        _read_dialogue(data, start, end, probe)
        known = (probe.dialogue, probe.application_context)
        if len(_DIALOGUES) >= 4096:
            _DIALOGUES.clear()
        _DIALOGUES[raw] = known
    msg.dialogue, msg.application_context = known


def _read_dialogue(data: bytes, start: int, end: int, msg: TcapMessage) -> None:
    # DialoguePortion ::= [APPLICATION 11] EXTERNAL { direct-reference OID, [0] PDU }
    for tag, s, e in children(data, start, end):
        if tag != 0x28:
            continue
        for itag, istart, iend in children(data, s, e):
            if itag != 0xA0:
                continue
            for ptag, pstart, pend in children(data, istart, iend):
                msg.dialogue = _DIALOGUE_PDUS.get(ptag, f"0x{ptag:x}")
                for ftag, fstart, fend in children(data, pstart, pend):
                    if ftag == 0xA1:  # application-context-name
                        for otag, ostart, oend in children(data, fstart, fend):
                            if otag == 0x06:
                                msg.application_context = oid(data, ostart, oend)


def _problem(tag: int, value: int) -> str:
    kind = {0x80: "general", 0x81: "invoke", 0x82: "returnResult", 0x83: "returnError"}.get(
        tag, "unknown"
    )
    return f"{kind}:{value}"


def _component(data: bytes, tag: int, start: int, end: int, clamp: bool) -> Component:
    comp = Component(COMPONENT_TYPES[tag])
    items = list(elements(data, start, end, clamp))
    if not items:
        raise Skip("empty TCAP component")
    first_tag, s, e, _, _ = items[0]
    if first_tag == 0x02:
        comp.invoke_id = integer(data, s, e)
    elif first_tag != 0x05 or tag != 0xA4:  # a NULL invoke id is allowed in Reject only
        raise Skip("TCAP component without an invoke id")
    rest = items[1:]
    if tag == 0xA1:  # Invoke: [linkedID], opcode, [parameter]
        if rest and rest[0][0] == 0x80:
            comp.linked_id = integer(data, rest[0][1], rest[0][2])
            rest = rest[1:]
        if not rest:
            raise Skip("TCAP invoke without an operation code")
        _operation(data, rest[0], comp)
        if comp.opcode is None and comp.global_opcode is None:
            raise Skip("TCAP invoke with a bad operation code")
        if len(rest) > 1:
            comp.parameter = (rest[1][3], rest[1][4])
    elif tag in (0xA2, 0xA7):  # ReturnResult: [SEQUENCE { opcode, parameter }]
        if rest and rest[0][0] == 0x30:
            inner = list(elements(data, rest[0][1], rest[0][2]))
            if inner:
                _operation(data, inner[0], comp)
            if len(inner) > 1:
                comp.parameter = (inner[1][3], inner[1][4])
    elif tag == 0xA3:  # ReturnError: errorCode, [parameter]
        if rest:
            if rest[0][0] == 0x02:
                comp.error_code = integer(data, rest[0][1], rest[0][2])
            if len(rest) > 1:
                comp.parameter = (rest[1][3], rest[1][4])
    elif rest:  # Reject: problem
        ptag, s, e, _, _ = rest[0]
        comp.problem = _problem(ptag, integer(data, s, e) if e > s else 0)
    return comp


def _operation(data: bytes, element: tuple[int, int, int, int, int], comp: Component) -> None:
    op_tag, s, e, _, _ = element
    if op_tag == 0x02:
        comp.opcode = integer(data, s, e)
    elif op_tag == 0x06:
        comp.global_opcode = oid(data, s, e)


def tcap(data: bytes) -> TcapMessage:
    """Decode a TCAP message (the SCCP user data).

    A message cut short (its lengths run past the data) is decoded as far as
    it goes and marked ``truncated``, as Wireshark does.
    """
    truncated = False
    try:
        tag, start, end, _ = read_tlv(data, 0, len(data))
    except Overrun as overrun:
        tag, start, end, truncated = overrun.tag, overrun.content_start, len(data), True
    kind = MESSAGE_TYPES.get(tag)
    if kind is None:
        raise Skip("not a TCAP message (ANSI TCAP or unknown tag)")
    msg = TcapMessage(kind, truncated=truncated)
    for etag, s, e, _, nxt in elements(data, start, end, clamp=truncated):
        clipped = truncated and nxt == end and e == end
        if etag == _OTID:
            if not 1 <= e - s <= 4:
                raise Skip("TCAP transaction id of a bad length")
            msg.otid = data[s:e].hex()
        elif etag == _DTID:
            if not 1 <= e - s <= 4:
                raise Skip("TCAP transaction id of a bad length")
            msg.dtid = data[s:e].hex()
        elif etag == _DIALOGUE:
            try:
                _dialogue(data, s, e, msg)
            except Skip:
                if not clipped:
                    raise
        elif etag == _PABORT:
            msg.abort_cause = integer(data, s, e)
        elif etag == _COMPONENTS:
            for ctag, cs, ce, _, cnext in elements(data, s, e, clamp=clipped):
                if ctag not in COMPONENT_TYPES:
                    raise Skip(f"unknown TCAP component tag 0x{ctag:x}")
                last = clipped and cnext == e
                try:
                    msg.components.append(_component(data, ctag, cs, ce, last))
                except Skip:
                    if not last:
                        raise
    return msg
