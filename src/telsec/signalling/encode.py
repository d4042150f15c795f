"""Building signalling messages and capture files (for the traffic generator).

The inverse of the decoder, kept small and fast: BER elements, MAP
parameters, TCAP, SCCP UDT, M3UA DATA, SCTP/IPv4/Ethernet and a pcap writer.
Independent checks (pycrate, tshark) in the tests make sure the two sides do
not merely agree with each other.
"""

from __future__ import annotations

import struct
from typing import BinaryIO


def tlv(tag: int, content: bytes) -> bytes:
    """A BER element with a definite length."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    size = len(content)
    if size < 0x80:
        return tag_bytes + bytes([size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return tag_bytes + bytes([0x80 | len(length)]) + length + content


def integer(value: int, tag: int = 0x02) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([arcs[0] * 40 + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return tlv(0x06, bytes(out))


def tbcd(digits: str) -> bytes:
    """Semi-octets, low nibble first, 0xF filler (IMSI, address strings)."""
    if len(digits) % 2:
        digits += "f"
    return bytes(int(digits[i + 1], 16) << 4 | int(digits[i], 16) for i in range(0, len(digits), 2))


def address_string(digits: str, nature: int = 1, plan: int = 1) -> bytes:
    """ISDN-AddressString content: extension bit, nature of address, numbering plan."""
    return bytes([0x80 | nature << 4 | plan]) + tbcd(digits)


def cell_global_id(mcc: str, mnc: str, lac: int, ci: int) -> bytes:
    """CellGlobalIdOrServiceAreaIdFixedLength (TS 29.002 / 24.008 PLMN coding)."""
    mnc3 = mnc[2] if len(mnc) == 3 else "f"
    plmn = bytes(
        [
            int(mcc[1]) << 4 | int(mcc[0]),
            int(mnc3, 16) << 4 | int(mcc[2]),
            int(mnc[1]) << 4 | int(mnc[0]),
        ]
    )
    return plmn + lac.to_bytes(2, "big") + ci.to_bytes(2, "big")


def sms_deliver(originator: str, text: bytes, when: float) -> bytes:
    """An SMS-DELIVER TPDU (3GPP TS 23.040 9.2.2.1) with 8-bit user data."""
    import time as _time

    if originator.isdigit():
        address = bytes([len(originator), 0x91]) + tbcd(originator)
    else:  # alphanumeric sender: GSM 7-bit packed would be exact; ASCII fits the 7-bit table
        septets = originator.encode("ascii")[:11]
        packed = _pack7(septets)
        address = bytes([len(packed) * 2, 0xD0]) + packed
    stamp = _time.gmtime(when)
    fields = [
        stamp.tm_year % 100,
        stamp.tm_mon,
        stamp.tm_mday,
        stamp.tm_hour,
        stamp.tm_min,
        stamp.tm_sec,
        0,
    ]
    scts = bytes(((v % 10) << 4) | (v // 10) for v in fields)
    return bytes([0x04]) + address + bytes([0x00, 0x04]) + scts + bytes([len(text)]) + text


def _pack7(septets: bytes) -> bytes:
    out = bytearray()
    carry = 0
    bits = 0
    for septet in septets:
        carry |= (septet & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(carry & 0xFF)
            carry >>= 8
            bits -= 8
    if bits:
        out.append(carry & 0xFF)
    return bytes(out)


# --- TCAP ------------------------------------------------------------------------

DIALOGUE_AS = "0.0.17.773.1.1.1"


def map_context(context: int, version: int = 3) -> str:
    return f"0.4.0.0.1.0.{context}.{version}"


def dialogue_request(acn: str) -> bytes:
    aarq = tlv(0x60, tlv(0x80, b"\x07\x80") + tlv(0xA1, oid(acn)))
    return tlv(0x6B, tlv(0x28, oid(DIALOGUE_AS) + tlv(0xA0, aarq)))


def dialogue_response(acn: str) -> bytes:
    result = tlv(0xA2, integer(0))
    diagnostic = tlv(0xA3, tlv(0xA1, integer(0)))
    aare = tlv(0x61, tlv(0x80, b"\x07\x80") + tlv(0xA1, oid(acn)) + result + diagnostic)
    return tlv(0x6B, tlv(0x28, oid(DIALOGUE_AS) + tlv(0xA0, aare)))


def invoke(invoke_id: int, opcode: int, parameter: bytes | None) -> bytes:
    return tlv(0xA1, integer(invoke_id) + integer(opcode) + (parameter or b""))


def return_result(invoke_id: int, opcode: int, parameter: bytes | None) -> bytes:
    inner = integer(invoke_id)
    if parameter is not None:
        inner += tlv(0x30, integer(opcode) + parameter)
    return tlv(0xA2, inner)


def return_error(invoke_id: int, error_code: int) -> bytes:
    return tlv(0xA3, integer(invoke_id) + integer(error_code))


def tcap_begin(otid: int, acn: str, components: list[bytes]) -> bytes:
    body = tlv(0x48, otid.to_bytes(4, "big")) + dialogue_request(acn)
    body += tlv(0x6C, b"".join(components))
    return tlv(0x62, body)


def tcap_end(dtid: int, acn: str | None, components: list[bytes]) -> bytes:
    body = tlv(0x49, dtid.to_bytes(4, "big"))
    if acn:
        body += dialogue_response(acn)
    if components:
        body += tlv(0x6C, b"".join(components))
    return tlv(0x64, body)


def tcap_continue(otid: int, dtid: int, acn: str | None, components: list[bytes]) -> bytes:
    body = tlv(0x48, otid.to_bytes(4, "big")) + tlv(0x49, dtid.to_bytes(4, "big"))
    if acn:
        body += dialogue_response(acn)
    if components:
        body += tlv(0x6C, b"".join(components))
    return tlv(0x65, body)


# --- SCCP, M3UA --------------------------------------------------------------------


def party_address(digits: str, ssn: int, tt: int = 0, plan: int = 1, nature: int = 4) -> bytes:
    """ITU SCCP address: route on GT, SSN present, GT indicator 4."""
    odd = len(digits) % 2
    gt = bytes([tt, plan << 4 | (1 if odd else 2), nature]) + tbcd(
        digits.ljust(len(digits) + odd, "0")
    )
    return bytes([0x12, ssn]) + gt


def sccp_udt(called: bytes, calling: bytes, data: bytes, protocol_class: int = 0x80) -> bytes:
    # pointers are relative to their own octet: three pointers, then the fields
    p_called = 3
    p_calling = p_called - 1 + 1 + len(called)
    p_data = p_calling - 1 + 1 + len(calling)
    return (
        bytes([0x09, protocol_class, p_called, p_calling, p_data])
        + bytes([len(called)]) + called
        + bytes([len(calling)]) + calling
        + bytes([len(data)]) + data
    )  # fmt: skip


def m3ua_data(opc: int, dpc: int, user: bytes, si: int = 3, ni: int = 2, sls: int = 0) -> bytes:
    pdata = struct.pack(">II", opc, dpc) + bytes([si, ni, 0, sls]) + user
    param = struct.pack(">HH", 0x0210, 4 + len(pdata)) + pdata
    param += b"\0" * (-len(param) % 4)
    rc = struct.pack(">HHI", 0x0006, 8, 1)  # routing context
    body = rc + param
    return struct.pack(">BBBBI", 1, 0, 1, 1, 8 + len(body)) + body


# --- SCTP / IP / Ethernet / pcap ------------------------------------------------------


def sctp_packet(
    sport: int, dport: int, chunks: list[tuple[int, int, int, bytes]], tag: int = 1
) -> bytes:
    """SCTP common header + DATA chunks (tsn, stream, ppid, data), CRC32c left at zero
    (as captures taken with checksum offload show it)."""
    out = struct.pack(">HHII", sport, dport, tag, 0)
    for tsn, stream, ppid, data in chunks:
        length = 16 + len(data)
        out += struct.pack(">BBHIHHI", 0, 0x03, length, tsn, stream, 0, ppid) + data
        out += b"\0" * (-length % 4)
    return out


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 0) -> bytes:
    header = struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0,
        bytes(int(x) for x in src.split(".")), bytes(int(x) for x in dst.split(".")),
    )  # fmt: skip
    words = struct.unpack(">10H", header)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    checksum = ~total & 0xFFFF
    return header[:10] + struct.pack(">H", checksum) + header[12:] + payload


def ethernet(payload: bytes, ethertype: int = 0x0800) -> bytes:
    return (
        b"\x00\x16\x3e\x00\x00\x02\x00\x16\x3e\x00\x00\x01"
        + struct.pack(">H", ethertype)
        + (payload)
    )


class PcapWriter:
    """A classic pcap file (microsecond timestamps)."""

    def __init__(self, handle: BinaryIO, linktype: int = 1) -> None:
        self._handle = handle
        handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))

    def write(self, time: float, frame: bytes) -> None:
        seconds = int(time)
        micros = round((time - seconds) * 1e6)
        if micros >= 1_000_000:
            seconds, micros = seconds + 1, micros - 1_000_000
        self._handle.write(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)


# --- Diameter (RFC 6733, S6a TS 29.272) ----------------------------------------------

DIAMETER_S6A = 16777251


def avp(code: int, value: bytes, *, vendor: int | None = None, mandatory: bool = True) -> bytes:
    """One AVP, padded to a multiple of four octets."""
    flags = (0x80 if vendor is not None else 0) | (0x40 if mandatory else 0)
    header = 12 if vendor is not None else 8
    length = header + len(value)
    out = struct.pack(">IB", code, flags) + length.to_bytes(3, "big")
    if vendor is not None:
        out += struct.pack(">I", vendor)
    return out + value + b"\0" * (-length % 4)


def plmn_id(mcc: str, mnc: str) -> bytes:
    """A PLMN identity (TS 24.008 10.5.1.3): MCC digits 2-1, MNC3/MCC3, MNC 2-1."""
    mnc3 = int(mnc[2]) if len(mnc) == 3 else 0xF
    return bytes(
        [int(mcc[1]) << 4 | int(mcc[0]), mnc3 << 4 | int(mcc[2]), int(mnc[1]) << 4 | int(mnc[0])]
    )


def diameter_message(
    code: int, request: bool, hop_by_hop: int, end_to_end: int, avps: list[bytes],
    application: int = DIAMETER_S6A,
) -> bytes:  # fmt: skip
    body = b"".join(avps)
    flags = (0x80 if request else 0) | 0x40  # request, proxiable
    return (
        bytes([1])
        + (20 + len(body)).to_bytes(3, "big")
        + bytes([flags])
        + code.to_bytes(3, "big")
        + struct.pack(">III", application, hop_by_hop, end_to_end)
        + body
    )
