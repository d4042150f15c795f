"""From a captured frame to the signalling payloads it carries.

Link layers (Ethernet with VLAN tags, Linux cooked v1 and v2, raw IP, BSD
loopback) -> IPv4/IPv6 -> SCTP DATA chunks (several per packet) or TCP
segments.  Each payload comes out with what identifies its protocol: the SCTP
payload protocol identifier (PPID) and the ports.  Anything that is not there
raises :class:`Skip` with a short reason that the decoder counts.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# Link types (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
_RAW_ALIASES = {12, 14, LINKTYPE_RAW}

IPPROTO_TCP = 6
IPPROTO_SCTP = 132

# SCTP payload protocol identifiers (IANA)
PPID_M2UA = 2
PPID_M3UA = 3
PPID_M2PA = 5
PPID_DIAMETER = 46
PPID_DIAMETER_DTLS = 47

# Well-known ports, used when the PPID is 0 (unspecified)
PORT_M3UA = 2905
PORT_M2PA = 3565
PORT_M2UA = 2904
PORT_DIAMETER = 3868
_PORT_PPIDS = {
    PORT_M3UA: PPID_M3UA,
    PORT_M2PA: PPID_M2PA,
    PORT_M2UA: PPID_M2UA,
    PORT_DIAMETER: PPID_DIAMETER,
}


class Skip(Exception):
    """A frame, or part of one, that carries no signalling we decode."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Payload:
    #: The PPID (SCTP) or the PPID implied by the well-known port (TCP, or PPID 0).
    ppid: int
    transport: str  # "sctp" or "tcp"
    src: str
    dst: str
    sport: int
    dport: int
    data: bytes
    #: SCTP stream id (0 for TCP), for reassembly keys.
    stream: int = 0


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


class SctpReassembly:
    """Joins fragmented SCTP user messages (B ... E chunks with consecutive TSNs).

    Like Wireshark, the message is delivered with the frame of its last
    fragment.  State is bounded: at most ``limit`` messages in progress.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._pending: dict[tuple[str, str, int, int, int], tuple[int, list[bytes]]] = {}
        self._limit = limit
        self.dropped = 0

    def add(
        self, key: tuple[str, str, int, int, int], flags: int, tsn: int, data: bytes
    ) -> bytes | None:
        """Add one fragment; the whole message once its last fragment arrives."""
        if flags & 0x02:  # B: a new message on this stream
            if key in self._pending:
                self.dropped += 1
            elif len(self._pending) >= self._limit:
                self._pending.pop(next(iter(self._pending)))
                self.dropped += 1
            self._pending[key] = (tsn, [data])
            return None
        held = self._pending.get(key)
        if held is None or tsn != (held[0] + 1) & 0xFFFFFFFF:
            self._pending.pop(key, None)
            raise Skip("SCTP fragment out of sequence (not reassembled)")
        held[1].append(data)
        if flags & 0x01:  # E
            del self._pending[key]
            return b"".join(held[1])
        self._pending[key] = (tsn, held[1])
        return None


def sctp_payloads(
    segment: bytes, src: str, dst: str, reassembly: SctpReassembly | None = None
) -> list[Payload]:
    """Every complete DATA chunk of an SCTP packet (and messages whose last
    fragment it carries, given a :class:`SctpReassembly`)."""
    if len(segment) < 12:
        raise Skip("truncated SCTP common header")
    sport = (segment[0] << 8) | segment[1]
    dport = (segment[2] << 8) | segment[3]
    out: list[Payload] = []
    pos = 12
    size = len(segment)
    fragments = 0
    while pos + 4 <= size:
        ctype = segment[pos]
        clen = (segment[pos + 2] << 8) | segment[pos + 3]
        if clen < 4 or pos + clen > size:
            raise Skip("bad SCTP chunk length")
        if ctype == 0:  # DATA
            if clen < 16:
                raise Skip("truncated SCTP DATA chunk")
            flags = segment[pos + 1]
            stream = (segment[pos + 8] << 8) | segment[pos + 9]
            chunk = segment[pos + 16 : pos + clen]
            data: bytes | None = chunk
            if flags & 0x03 != 0x03:  # not both B(eginning) and E(nding): a fragment
                fragments += 1
                data = None
                if reassembly is not None:
                    tsn = int.from_bytes(segment[pos + 4 : pos + 8], "big")
                    data = reassembly.add((src, dst, sport, dport, stream), flags, tsn, chunk)
            if data is not None:
                ppid = int.from_bytes(segment[pos + 12 : pos + 16], "big")
                if ppid == 0:
                    ppid = _PORT_PPIDS.get(dport) or _PORT_PPIDS.get(sport) or 0
                out.append(Payload(ppid, "sctp", src, dst, sport, dport, data, stream))
        pos += (clen + 3) & ~3
    if not out:
        raise Skip("SCTP fragment (held for reassembly)" if fragments else "SCTP without DATA")
    return out


def tcp_payload(segment: bytes, src: str, dst: str) -> Payload:
    """The payload of a TCP segment to or from a known signalling port."""
    if len(segment) < 20:
        raise Skip("truncated TCP header")
    sport = (segment[0] << 8) | segment[1]
    dport = (segment[2] << 8) | segment[3]
    offset = (segment[12] >> 4) * 4
    if offset < 20 or offset > len(segment):
        raise Skip("bad TCP header length")
    ppid = _PORT_PPIDS.get(dport) or _PORT_PPIDS.get(sport)
    if ppid is None:
        raise Skip("TCP not on a signalling port")
    data = segment[offset:]
    if not data:
        raise Skip("TCP without payload")
    return Payload(ppid, "tcp", src, dst, sport, dport, data)


def payloads(
    linktype: int, frame: bytes, reassembly: SctpReassembly | None = None
) -> list[Payload]:
    """The signalling payloads of one captured frame."""
    proto, src, dst, segment = transport_segment(ip_packet(linktype, frame))
    if proto == IPPROTO_SCTP:
        return sctp_payloads(segment, src, dst, reassembly)
    if proto == IPPROTO_TCP:
        return [tcp_payload(segment, src, dst)]
    raise Skip("not SCTP or TCP")
