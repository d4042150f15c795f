"""SCCP connectionless messages (ITU-T Q.713): UDT, XUDT, UDTS and XUDTS.

Gives the called and calling party addresses (point code, SSN, global title
with its indicator, translation type, numbering plan, nature of address and
digits) and the user data (TCAP).
"""

from __future__ import annotations

from dataclasses import dataclass

from telsec.packets.network import Skip

UDT, UDTS, XUDT, XUDTS, LUDT, LUDTS = 0x09, 0x0A, 0x11, 0x12, 0x13, 0x14
MESSAGE_NAMES = {UDT: "UDT", UDTS: "UDTS", XUDT: "XUDT", XUDTS: "XUDTS"}

#: Digit values as Wireshark shows them (0xA-0xE are rarely used fillers/codes).
_DIGITS = "0123456789abcdef"
_BCD = [_DIGITS[b & 0x0F] + _DIGITS[b >> 4] for b in range(256)]


def bcd_digits(raw: bytes, odd: bool) -> str:
    """Semi-octet (BCD) digits, low nibble first; an odd count drops the last nibble."""
    text = "".join([_BCD[b] for b in raw])
    return text[:-1] if odd and text else text


def tbcd_digits(raw: bytes) -> str:
    """TBCD (3GPP TS 29.002): low nibble first, 0xF fills the last octet."""
    text = "".join([_BCD[b] for b in raw])
    return text[:-1] if text.endswith("f") else text


@dataclass(slots=True)
class PartyAddress:
    point_code: int | None = None
    ssn: int | None = None
    gt_indicator: int = 0
    routing_on_gt: bool = False
    translation_type: int | None = None
    numbering_plan: int | None = None
    nature_of_address: int | None = None
    digits: str | None = None


#: Decoded addresses by their octets: a link carries few distinct ones.
_ADDRESSES: dict[bytes, PartyAddress] = {}


def party_address(raw: bytes) -> PartyAddress:
    """Decode an ITU SCCP called/calling party address (without its length octet).

    The result is shared between messages with the same address: do not modify it."""
    known = _ADDRESSES.get(raw)
    if known is not None:
        return known
    addr = _party_address(raw)
    if len(_ADDRESSES) >= 16384:
        _ADDRESSES.clear()
    _ADDRESSES[raw] = addr
    return addr


def _party_address(raw: bytes) -> PartyAddress:
    if not raw:
        raise Skip("empty SCCP party address")
    indicator = raw[0]
    addr = PartyAddress(gt_indicator=(indicator >> 2) & 0x0F, routing_on_gt=not indicator & 0x40)
    pos = 1
    if indicator & 0x01:
        if len(raw) < pos + 2:
            raise Skip("truncated SCCP party address")
        addr.point_code = (raw[pos] | (raw[pos + 1] << 8)) & 0x3FFF
        pos += 2
    if indicator & 0x02:
        if len(raw) < pos + 1:
            raise Skip("truncated SCCP party address")
        addr.ssn = raw[pos]
        pos += 1
    gti = addr.gt_indicator
    if gti == 0:
        return addr
    odd = False
    if gti == 1:
        if len(raw) < pos + 1:
            raise Skip("truncated SCCP global title")
        odd = bool(raw[pos] & 0x80)
        addr.nature_of_address = raw[pos] & 0x7F
        pos += 1
    elif gti == 2:
        if len(raw) < pos + 1:
            raise Skip("truncated SCCP global title")
        addr.translation_type = raw[pos]
        pos += 1
    elif gti in (3, 4):
        need = 2 if gti == 3 else 3
        if len(raw) < pos + need:
            raise Skip("truncated SCCP global title")
        addr.translation_type = raw[pos]
        addr.numbering_plan = raw[pos + 1] >> 4
        odd = (raw[pos + 1] & 0x0F) == 1
        if gti == 4:
            addr.nature_of_address = raw[pos + 2] & 0x7F
        pos += need
    else:
        raise Skip(f"SCCP global title indicator {gti} is reserved")
    addr.digits = bcd_digits(raw[pos:], odd)
    return addr


@dataclass(slots=True)
class SccpMessage:
    message_type: int
    called: PartyAddress
    calling: PartyAddress
    data: bytes
    return_cause: int | None = None


def _variable(msg: bytes, pointer_at: int) -> bytes:
    """The variable-length field a one-octet pointer at ``pointer_at`` designates."""
    start = pointer_at + msg[pointer_at]
    if msg[pointer_at] == 0 or start >= len(msg):
        raise Skip("bad SCCP pointer")
    end = start + 1 + msg[start]
    if end > len(msg):
        raise Skip("SCCP field overruns the message")
    return msg[start + 1 : end]


def sccp(msg: bytes) -> SccpMessage:
    """Decode a connectionless SCCP message."""
    if not msg:
        raise Skip("empty SCCP message")
    kind = msg[0]
    if kind == UDT:
        first, cause = 2, None
    elif kind == UDTS:
        first, cause = 2, msg[1] if len(msg) > 1 else None
    elif kind == XUDT:
        first, cause = 3, None
    elif kind == XUDTS:
        first, cause = 3, msg[1] if len(msg) > 1 else None
    elif kind in (LUDT, LUDTS):
        raise Skip("SCCP LUDT (not supported)")
    else:
        raise Skip("SCCP connection-oriented or management message")
    if len(msg) < first + 3:
        raise Skip("truncated SCCP header")
    called = party_address(_variable(msg, first))
    calling = party_address(_variable(msg, first + 1))
    data = _variable(msg, first + 2)
    return SccpMessage(kind, called, calling, data, cause)
