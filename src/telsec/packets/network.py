"""Link layers and IP: from a captured frame to its IP payload.

Ethernet (with VLAN tags), Linux cooked v1 and v2, raw IP and BSD loopback,
then IPv4 or IPv6 (with extension headers).  Anything not there raises
:class:`Skip` with a short reason that the caller counts.
"""

from __future__ import annotations

import ipaddress

# Link types (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
_RAW_ALIASES = {12, 14, LINKTYPE_RAW}


class Skip(Exception):
    """A frame, or part of one, that carries no signalling we decode."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ip_packet(linktype: int, frame: bytes) -> bytes:
    """The IP packet inside a link-layer frame."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            raise Skip("truncated ethernet header")
        ethertype = (frame[12] << 8) | frame[13]
        pos = 14
        while ethertype in (0x8100, 0x88A8, 0x9100):  # VLAN / QinQ tags
            if len(frame) < pos + 4:
                raise Skip("truncated VLAN tag")
            ethertype = (frame[pos + 2] << 8) | frame[pos + 3]
            pos += 4
        if ethertype not in (0x0800, 0x86DD):
            raise Skip("not IP")
        return frame[pos:]
    if linktype == LINKTYPE_LINUX_SLL:
        if len(frame) < 16:
            raise Skip("truncated linux cooked header")
        if ((frame[14] << 8) | frame[15]) not in (0x0800, 0x86DD):
            raise Skip("not IP")
        return frame[16:]
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(frame) < 20:
            raise Skip("truncated linux cooked v2 header")
        if ((frame[0] << 8) | frame[1]) not in (0x0800, 0x86DD):
            raise Skip("not IP")
        return frame[20:]
    if linktype in _RAW_ALIASES or linktype in (LINKTYPE_IPV4, LINKTYPE_IPV6):
        return frame
    if linktype == LINKTYPE_NULL:
        if len(frame) < 4:
            raise Skip("truncated loopback header")
        return frame[4:]
    raise Skip(f"unsupported link type {linktype}")


def _ipv4_text(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def _ipv6_text(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


def transport_segment(packet: bytes) -> tuple[int, str, str, bytes]:
    """(IP protocol, source, destination, IP payload) of an IPv4/IPv6 packet."""
    if not packet:
        raise Skip("empty IP packet")
    version = packet[0] >> 4
    if version == 4:
        if len(packet) < 20:
            raise Skip("truncated IPv4 header")
        header = (packet[0] & 0x0F) * 4
        total = (packet[2] << 8) | packet[3]
        if header < 20 or total < header or len(packet) < header:
            raise Skip("bad IPv4 header length")
        if (packet[6] & 0x20) or ((packet[6] & 0x1F) << 8 | packet[7]):
            raise Skip("IP fragment (not reassembled)")
        if total > len(packet):
            raise Skip("truncated IPv4 packet")
        return packet[9], _ipv4_text(packet[12:16]), _ipv4_text(packet[16:20]), packet[header:total]
    if version == 6:
        if len(packet) < 40:
            raise Skip("truncated IPv6 header")
        length = (packet[4] << 8) | packet[5]
        if 40 + length > len(packet):
            raise Skip("truncated IPv6 packet")
        nxt = packet[6]
        pos = 40
        end = 40 + length
        while nxt in (0, 43, 60, 44):  # hop-by-hop, routing, destination options, fragment
            if nxt == 44:
                raise Skip("IP fragment (not reassembled)")
            if pos + 8 > end:
                raise Skip("truncated IPv6 extension header")
            nxt, pos = packet[pos], pos + (packet[pos + 1] + 1) * 8
        if pos > end:
            raise Skip("truncated IPv6 extension header")
        return nxt, _ipv6_text(packet[8:24]), _ipv6_text(packet[24:40]), packet[pos:end]
    raise Skip("not IPv4 or IPv6")
