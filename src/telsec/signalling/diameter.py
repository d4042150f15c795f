"""Diameter (RFC 6733) with the S6a/S6d interface (3GPP TS 29.272).

Reads the header and the AVPs that matter for roaming security: Origin-Host
and -Realm, Destination-Host and -Realm, User-Name (the IMSI on S6a),
Visited-PLMN-Id, Result-Code (also inside Experimental-Result) and Session-Id.
"""

from __future__ import annotations

from dataclasses import dataclass

from telsec.packets.network import Skip

APP_S6A = 16777251
VENDOR_3GPP = 10415

#: (code, is_request) -> short name; S6a/S6d first, then base protocol.
COMMANDS: dict[int, tuple[str, str]] = {
    316: ("ULR", "ULA"),
    317: ("CLR", "CLA"),
    318: ("AIR", "AIA"),
    319: ("IDR", "IDA"),
    320: ("DSR", "DSA"),
    321: ("PUR", "PUA"),
    322: ("RSR", "RSA"),
    323: ("NOR", "NOA"),
    257: ("CER", "CEA"),
    258: ("RAR", "RAA"),
    271: ("ACR", "ACA"),
    272: ("CCR", "CCA"),
    274: ("ASR", "ASA"),
    275: ("STR", "STA"),
    280: ("DWR", "DWA"),
    282: ("DPR", "DPA"),
}

_SESSION_ID, _ORIGIN_HOST, _ORIGIN_REALM = 263, 264, 296
_DESTINATION_HOST, _DESTINATION_REALM = 293, 283
_USER_NAME, _RESULT_CODE, _EXPERIMENTAL_RESULT, _EXPERIMENTAL_RESULT_CODE = 1, 268, 297, 298
_VISITED_PLMN_ID = 1407
_TEXT_AVPS = {
    _SESSION_ID: "session_id",
    _ORIGIN_HOST: "origin_host",
    _ORIGIN_REALM: "origin_realm",
    _DESTINATION_HOST: "destination_host",
    _DESTINATION_REALM: "destination_realm",
    _USER_NAME: "user_name",
}
HEADER = 20


@dataclass(slots=True)
class DiameterMessage:
    command_code: int
    command: str
    is_request: bool
    application_id: int
    hop_by_hop: int
    end_to_end: int
    avps: dict[str, str | int]


def command_name(code: int, is_request: bool) -> str:
    """``ULR``, ``ULA`` ...; ``<code>R`` / ``<code>A`` for commands without a short name."""
    names = COMMANDS.get(code)
    return names[0 if is_request else 1] if names else f"{code}{'R' if is_request else 'A'}"


def plmn_id(raw: bytes) -> str | None:
    """A 3-octet PLMN identity as ``MCC-MNC`` (TS 24.008 10.5.1.3)."""
    if len(raw) != 3:
        return None
    digits = [raw[0] & 0x0F, raw[0] >> 4, raw[1] & 0x0F, raw[2] & 0x0F, raw[2] >> 4, raw[1] >> 4]
    if any(d > 9 for d in digits[:5]):
        return None
    mnc = f"{digits[3]}{digits[4]}" + ("" if digits[5] == 0x0F else str(digits[5]))
    return f"{digits[0]}{digits[1]}{digits[2]}-{mnc}"


def _avps(data: bytes, start: int, end: int, out: dict[str, str | int], depth: int) -> None:
    pos = start
    while pos + 8 <= end:
        code = int.from_bytes(data[pos : pos + 4], "big")
        flags = data[pos + 4]
        length = int.from_bytes(data[pos + 5 : pos + 8], "big")
        header = 12 if flags & 0x80 else 8
        if length < header or pos + length > end:
            raise Skip("bad Diameter AVP length")
        value = data[pos + header : pos + length]
        if code in _TEXT_AVPS and (header == 8 or code == _USER_NAME):
            name = _TEXT_AVPS[code]
            if name not in out:
                out[name] = value.decode("utf-8", "replace")
        elif code in (_RESULT_CODE, _EXPERIMENTAL_RESULT_CODE) and len(value) == 4:
            out.setdefault("result_code", int.from_bytes(value, "big"))
        elif code == _VISITED_PLMN_ID:
            plmn = plmn_id(value)
            if plmn:
                out["visited_plmn"] = plmn
        elif code == _EXPERIMENTAL_RESULT and depth < 2:
            _avps(data, pos + header, pos + length, out, depth + 1)
        pos += (length + 3) & ~3


def diameter(data: bytes) -> tuple[DiameterMessage, int]:
    """Decode the Diameter message at the start of ``data``; also its length."""
    if len(data) < HEADER:
        raise Skip("truncated Diameter header")
    if data[0] != 1:
        raise Skip("not Diameter (version is not 1)")
    length = int.from_bytes(data[1:4], "big")
    if length < HEADER or length % 4:
        raise Skip("bad Diameter message length")
    if length > len(data):
        raise Skip("Diameter message spans segments (not reassembled)")
    flags = data[4]
    code = int.from_bytes(data[5:8], "big")
    is_request = bool(flags & 0x80)
    command = command_name(code, is_request)
    avps: dict[str, str | int] = {}
    _avps(data, HEADER, length, avps, 0)
    user = avps.get("user_name")
    if isinstance(user, str):
        # on S6a/S6d, User-Name is the IMSI (TS 29.272 7.3.1); some peers send it as
        # an NAI, IMSI@realm, whose user part is the IMSI
        local = user.partition("@")[0]
        if local.isdigit() and 6 <= len(local) <= 15:
            avps["imsi"] = local
    return (
        DiameterMessage(
            code,
            command,
            is_request,
            int.from_bytes(data[8:12], "big"),
            int.from_bytes(data[12:16], "big"),
            int.from_bytes(data[16:20], "big"),
            avps,
        ),
        length,
    )


def messages(data: bytes) -> list[DiameterMessage]:
    """Every whole Diameter message in a payload (TCP may carry several)."""
    out = []
    pos = 0
    while pos < len(data):
        message, length = diameter(data[pos:])
        out.append(message)
        pos += length
    return out
