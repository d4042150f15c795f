"""The SS7 network layer as carried over SIGTRAN: M3UA, M2PA and M2UA to MTP3.

Each reader returns the MTP3 view of a message, ``(opc, dpc, si, ni, user_data)``
with ITU 14-bit point codes, or raises :class:`~telsec.packets.network.Skip` for
management traffic (ASP state, heartbeats, link status) and malformed input.
"""

from __future__ import annotations

from telsec.packets.network import Skip

SI_SCCP = 3
SI_ISUP = 5

Mtp3 = tuple[int, int, int, int, bytes]


def m3ua(data: bytes) -> Mtp3:
    """RFC 4666 DATA message -> its Protocol Data parameter."""
    if len(data) < 8:
        raise Skip("truncated M3UA header")
    if data[0] != 1:
        raise Skip("M3UA version is not 1")
    if data[2] != 1 or data[3] != 1:
        raise Skip("M3UA management (not DATA)")
    length = int.from_bytes(data[4:8], "big")
    if length < 8 or length > len(data):
        raise Skip("bad M3UA message length")
    pos = 8
    while pos + 4 <= length:
        tag = (data[pos] << 8) | data[pos + 1]
        plen = (data[pos + 2] << 8) | data[pos + 3]
        if plen < 4 or pos + plen > length:
            raise Skip("bad M3UA parameter length")
        if tag == 0x0210:  # Protocol Data
            if plen < 16:
                raise Skip("truncated M3UA protocol data")
            opc = int.from_bytes(data[pos + 4 : pos + 8], "big")
            dpc = int.from_bytes(data[pos + 8 : pos + 12], "big")
            return opc, dpc, data[pos + 12], data[pos + 13], data[pos + 16 : pos + plen]
        pos += (plen + 3) & ~3
    raise Skip("M3UA DATA without protocol data")


def mtp3(data: bytes) -> Mtp3:
    """An ITU MTP3 message: SIO, the 4-octet routing label, then the user part."""
    if len(data) < 5:
        raise Skip("truncated MTP3 routing label")
    sio = data[0]
    label = int.from_bytes(data[1:5], "little")
    return (label >> 14) & 0x3FFF, label & 0x3FFF, sio & 0x0F, sio >> 6, data[5:]


def m2pa(data: bytes) -> Mtp3:
    """RFC 4165 User Data message -> the MTP3 message it carries."""
    if len(data) < 16:
        raise Skip("truncated M2PA header")
    if data[0] != 1:
        raise Skip("M2PA version is not 1")
    if data[2] != 11 or data[3] != 1:
        raise Skip("M2PA link status (not user data)")
    length = int.from_bytes(data[4:8], "big")
    if length < 16 or length > len(data):
        raise Skip("bad M2PA message length")
    # common header (8), BSN and FSN (8), then a priority octet and the MTP3 message
    return mtp3(data[17:length])


def m2ua(data: bytes) -> Mtp3:
    """RFC 3331 Data message -> the MTP3 message in Protocol Data 1 or 2."""
    if len(data) < 8:
        raise Skip("truncated M2UA header")
    if data[2] != 6 or data[3] != 1:
        raise Skip("M2UA management (not DATA)")
    length = int.from_bytes(data[4:8], "big")
    if length < 8 or length > len(data):
        raise Skip("bad M2UA message length")
    pos = 8
    while pos + 4 <= length:
        tag = (data[pos] << 8) | data[pos + 1]
        plen = (data[pos + 2] << 8) | data[pos + 3]
        if plen < 4 or pos + plen > length:
            raise Skip("bad M2UA parameter length")
        if tag == 0x0300:  # Protocol Data 1
            return mtp3(data[pos + 4 : pos + plen])
        if tag == 0x0301:  # Protocol Data 2 (TTC: a priority octet first)
            return mtp3(data[pos + 5 : pos + plen])
        pos += (plen + 3) & ~3
    raise Skip("M2UA DATA without protocol data")
