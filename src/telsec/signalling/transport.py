"""From a captured frame to the signalling payloads it carries.

The link layers and IP come from :mod:`telsec.packets.network`; this module
goes on to SCTP DATA chunks (several per packet, fragments reassembled) or TCP
segments.  Each payload comes out with what identifies its protocol: the SCTP
payload protocol identifier (PPID) and the ports.  Anything that is not there
raises :class:`~telsec.packets.network.Skip` with a short reason that the
decoder counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from telsec.packets.network import Skip, ip_packet, transport_segment

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
