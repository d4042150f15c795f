"""Realistic SS7 MAP traffic with ground truth, for testing and evaluation.

The capture is what a home operator's international STP sees: its own
subscribers roaming abroad and coming home, inbound roamers, SMS delivered
from partners' SMS centres with home routing, and internal location updates;
with attacks interleaved when a scenario asks for them.  Every frame gets a
label (scenario, malicious or not) in a JSON-lines file.

The home network and its partners are fictitious but shaped like real ones
(E.164 country codes, MCC/MNC, GT plans); :func:`demo_policy` describes them
for the scanner.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from telsec.signalling import encode as enc
from telsec.signalling.map import OPCODES

SSN_HLR, SSN_VLR, SSN_MSC = 6, 7, 8

# MAP application contexts (TS 29.002 17.3.3): (context, version)
AC = {
    "updateLocation": (1, 3),
    "cancelLocation": (2, 3),
    "insertSubscriberData": (16, 3),
    "deleteSubscriberData": (16, 3),
    "sendAuthenticationInfo": (14, 3),
    "purgeMS": (27, 3),
    "sendRoutingInfoForSM": (20, 3),
    "mt-forwardSM": (25, 3),
    "anyTimeInterrogation": (29, 3),
    "provideSubscriberInfo": (28, 3),
    "sendRoutingInfo": (5, 3),
    "sendIMSI": (26, 2),
}


@dataclass(frozen=True)
class Network:
    name: str
    country: str
    mcc: str
    mnc: str
    #: E.164 prefix of the network's global titles.
    gt_prefix: str
    #: Point code of the gateway its traffic arrives from (or our own STP).
    point_code: int

    def gt(self, node: int) -> str:
        return f"{self.gt_prefix}{node:04d}"

    @property
    def hlr(self) -> str:
        return self.gt(1)

    @property
    def smsc(self) -> str:
        return self.gt(200)

    def vlr(self, index: int = 0) -> str:
        return self.gt(101 + index)

    @property
    def realm(self) -> str:
        """Its Diameter realm (TS 23.003 19.2)."""
        return f"epc.mnc{self.mnc:0>3}.mcc{self.mcc}.3gppnetwork.org"

    def host(self, node: str) -> str:
        return f"{node}.{self.realm}"


HOME = Network("Albion Mobile", "GB", "234", "15", "4477009", 1001)
PARTNERS = (
    Network("Gaulois Telecom", "FR", "208", "01", "3360900", 2001),
    Network("Rhein Funk", "DE", "262", "01", "4917200", 2002),
    Network("Liberty Wireless", "US", "310", "260", "1206555", 2003),
    Network("Kiwi Mobile", "NZ", "530", "01", "6421555", 2004),
)
#: A small operator's range leased to a "location services" company.
LEASED = Network("Lessee (leased range)", "LI", "295", "05", "4237770", 2005)
#: A network with no roaming agreement, used for spoofing and probing.
ROGUE = Network("Unknown carrier", "KH", "456", "08", "8551200", 2006)
#: The point code a spoofer's traffic really arrives from.
SPOOFER_PC = 2099
SMS_ROUTER = HOME.gt(300)

_SENDERS = ("33612345678", "4915112345678", "BANKFR", "DHL", "12065550123", "Kiwibank")
_TEXTS = (
    b"Your code is 482913. Do not share it.",
    b"Parcel 7731 is waiting: reply STOP to opt out",
    b"See you at 7 at the station?",
    b"Your bill of 23.10 EUR is available in your account",
)

SCENARIOS = (
    "benign",
    "ati-tracking",
    "psi-tracking",
    "ul-hijack",
    "isd-tampering",
    "dos-cancel",
    "gt-scan",
    "spoofed-gt",
    "diameter-idr",
    "diameter-ulr",
)


@dataclass
class Subscriber:
    imsi: str
    msisdn: str
    home: Network
    #: Where the subscriber is registered now (a VLR GT), and when it was last active there.
    vlr: str
    network: Network
    since: float = 0.0


@dataclass
class Frame:
    time: float
    opc: int
    dpc: int
    calling: tuple[str, int]
    called: tuple[str, int]
    tcap: bytes
    scenario: str = "benign"
    malicious: bool = False
    operation: str = ""
    #: A Diameter message (S6a over SCTP) instead of SS7; ``tcap`` is then empty.
    diameter: bytes | None = None


@dataclass
class World:
    rng: random.Random
    home_subs: list[Subscriber] = field(default_factory=list)
    roamers: list[Subscriber] = field(default_factory=list)
    tid: int = 0x10000000

    def next_tid(self) -> int:
        self.tid = (self.tid + self.rng.randint(1, 97)) & 0xFFFFFFFF
        return self.tid


def _home_subscriber(rng: random.Random, index: int) -> Subscriber:
    return Subscriber(
        imsi=f"{HOME.mcc}{HOME.mnc}{index:010d}",
        msisdn=f"447700{index % 1_000_000:06d}",
        home=HOME,
        vlr=HOME.vlr(rng.randrange(8)),
        network=HOME,
    )


def _roamer(rng: random.Random, index: int) -> Subscriber:
    net = PARTNERS[index % len(PARTNERS)]
    return Subscriber(
        imsi=f"{net.mcc}{net.mnc}{index:09d}"[:15],
        msisdn=f"{net.gt_prefix[:-3]}{index:07d}",
        home=net,
        vlr=HOME.vlr(rng.randrange(8)),
        network=HOME,
    )


def _dialogue(
    world: World,
    t: float,
    scenario: str,
    malicious: bool,
    op: str,
    caller: tuple[Network, str, int],
    callee: tuple[Network, str, int],
    arg: bytes,
    result: bytes | None,
    opc: int | None = None,
) -> list[Frame]:
    """A Begin carrying one invoke and the End answering it."""
    opcode = OPCODES[op]
    context, version = AC.get(op, (1, 3))
    acn = enc.map_context(context, version)
    otid = world.next_tid()
    begin = enc.tcap_begin(otid, acn, [enc.invoke(1, opcode, arg)])
    net_from, gt_from, ssn_from = caller
    net_to, gt_to, ssn_to = callee
    src_pc = opc if opc is not None else net_from.point_code
    frames = [
        Frame(
            t,
            src_pc,
            net_to.point_code,
            (gt_from, ssn_from),
            (gt_to, ssn_to),
            begin,
            scenario,
            malicious,
            op,
        )
    ]
    end = enc.tcap_end(otid, acn, [enc.return_result(1, opcode, result)])
    delay = world.rng.uniform(0.005, 0.08)
    frames.append(
        Frame(
            t + delay,
            net_to.point_code,
            src_pc,
            (gt_to, ssn_to),
            (gt_from, ssn_from),
            end,
            scenario,
            False,
            op,
        )
    )
    return frames


_ULR, _CLR, _AIR, _IDR = 316, 317, 318, 319
_DIAMETER_NAMES = {_ULR: "ULR", _CLR: "CLR", _AIR: "AIR", _IDR: "IDR"}


def _diameter(
    world: World,
    t: float,
    scenario: str,
    malicious: bool,
    code: int,
    sender: tuple[Network, str],
    receiver: tuple[Network, str],
    imsi: str,
    visited: Network | None = None,
    opc: int | None = None,
) -> list[Frame]:
    """An S6a request and its answer (Result-Code 2001)."""
    net_from, node_from = sender
    net_to, node_to = receiver
    hbh, e2e = world.next_tid(), world.next_tid()
    session = f"{net_from.host(node_from)};{hbh};{e2e}".encode()
    avps = [
        enc.avp(263, session),
        enc.avp(277, (1).to_bytes(4, "big")),  # Auth-Session-State: NO_STATE_MAINTAINED
        enc.avp(264, net_from.host(node_from).encode()),
        enc.avp(296, net_from.realm.encode()),
        enc.avp(283, net_to.realm.encode()),
        enc.avp(1, imsi.encode()),
    ]
    if visited is not None:
        avps.append(enc.avp(1407, enc.plmn_id(visited.mcc, visited.mnc), vendor=10415))
    request = enc.diameter_message(code, True, hbh, e2e, avps)
    answer = enc.diameter_message(
        code,
        False,
        hbh,
        e2e,
        [
            enc.avp(263, session),
            enc.avp(268, (2001).to_bytes(4, "big")),
            enc.avp(264, net_to.host(node_to).encode()),
            enc.avp(296, net_to.realm.encode()),
        ],
    )
    name = _DIAMETER_NAMES[code]
    src_pc = opc if opc is not None else net_from.point_code
    return [
        Frame(t, src_pc, net_to.point_code, ("", 0), ("", 0), b"", scenario, malicious, name,
              request),
        Frame(t + world.rng.uniform(0.005, 0.05), net_to.point_code, src_pc, ("", 0), ("", 0),
              b"", scenario, False, name, answer),
    ]  # fmt: skip


def _benign_diameter(world: World, t: float) -> list[Frame]:
    """LTE roaming on S6a: home subscribers where they are, inbound roamers' HSSs."""
    rng = world.rng
    if rng.random() < 0.6:
        sub = rng.choice(world.home_subs)
        sub.since = t  # active where it is
        code = _ULR if rng.random() < 0.4 else _AIR
        return _diameter(world, t, "benign", False, code, (sub.network, "mme1"), (HOME, "hss1"),
                         sub.imsi, visited=sub.network)  # fmt: skip
    sub = rng.choice(world.roamers)
    return _diameter(world, t, "benign", False, _IDR, (sub.home, "hss1"), (HOME, "mme1"),
                     sub.imsi)  # fmt: skip


# --- MAP parameters -------------------------------------------------------------


def ul_arg(imsi: str, vlr: str) -> bytes:
    return enc.tlv(
        0x30,
        enc.tlv(0x04, enc.tbcd(imsi))
        + enc.tlv(0x81, enc.address_string(vlr))
        + enc.tlv(0x04, enc.address_string(vlr)),
    )


def ul_res(hlr: str) -> bytes:
    return enc.tlv(0x30, enc.tlv(0x04, enc.address_string(hlr)))


def sai_arg(imsi: str) -> bytes:
    return enc.tlv(0x30, enc.tlv(0x80, enc.tbcd(imsi)) + enc.integer(1))


def isd_arg(imsi: str, msisdn: str) -> bytes:
    return enc.tlv(
        0x30,
        enc.tlv(0x80, enc.tbcd(imsi))
        + enc.tlv(0x81, enc.address_string(msisdn))
        + enc.tlv(0x82, b"\x0a"),
    )


def cl_arg(imsi: str) -> bytes:
    return enc.tlv(0xA3, enc.tlv(0x04, enc.tbcd(imsi)) + enc.tlv(0x0A, b"\x00"))


def purge_arg(imsi: str, vlr: str) -> bytes:
    return enc.tlv(0xA3, enc.tlv(0x04, enc.tbcd(imsi)) + enc.tlv(0x80, enc.address_string(vlr)))


def sri_sm_arg(msisdn: str, smsc: str) -> bytes:
    return enc.tlv(
        0x30,
        enc.tlv(0x80, enc.address_string(msisdn))
        + enc.tlv(0x81, b"\xff")
        + enc.tlv(0x82, enc.address_string(smsc)),
    )


def sri_sm_res(imsi: str, node: str) -> bytes:
    return enc.tlv(
        0x30, enc.tlv(0x04, enc.tbcd(imsi)) + enc.tlv(0xA0, enc.tlv(0x81, enc.address_string(node)))
    )


def mt_fsm_arg(imsi: str, smsc: str, text: bytes) -> bytes:
    return enc.tlv(
        0x30,
        enc.tlv(0x80, enc.tbcd(imsi))
        + enc.tlv(0x84, enc.address_string(smsc))
        + enc.tlv(0x04, text),
    )


def ati_arg(msisdn: str, scf: str) -> bytes:
    return enc.tlv(
        0x30,
        enc.tlv(0xA0, enc.tlv(0x81, enc.address_string(msisdn)))
        + enc.tlv(0xA1, enc.tlv(0x80, b""))
        + enc.tlv(0x83, enc.address_string(scf)),
    )


def location_res(vlr: str, net: Network, rng: random.Random) -> bytes:
    cgi = enc.cell_global_id(net.mcc, net.mnc, rng.randint(1, 65000), rng.randint(1, 65000))
    info = enc.tlv(
        0xA0,
        enc.integer(rng.randint(0, 30))
        + enc.tlv(0x81, enc.address_string(vlr))
        + enc.tlv(0xA3, enc.tlv(0x80, cgi)),
    )
    return enc.tlv(0x30, enc.tlv(0x30, info))


def psi_arg(imsi: str) -> bytes:
    return enc.tlv(0x30, enc.tlv(0x80, enc.tbcd(imsi)) + enc.tlv(0xA2, enc.tlv(0x80, b"")))


# --- traffic ------------------------------------------------------------------------


def _benign(world: World, t: float) -> list[Frame]:
    rng = world.rng
    roll = rng.random()
    if roll < 0.30:  # a home subscriber registers somewhere (home, or abroad after a trip)
        sub = rng.choice(world.home_subs)
        hours = (t - sub.since) / 3600
        if hours >= 24 and rng.random() < 0.4:  # long enough to fly anywhere
            net = rng.choice((HOME, *PARTNERS))
            vlr = net.vlr(rng.randrange(4))
        else:  # moves within the network it is in
            net, vlr = sub.network, sub.network.vlr(rng.randrange(4))
        frames = _dialogue(
            world,
            t,
            "benign",
            False,
            "updateLocation",
            (net, vlr, SSN_VLR),
            (HOME, HOME.hlr, SSN_HLR),
            ul_arg(sub.imsi, vlr),
            ul_res(HOME.hlr),
        )
        sub.vlr, sub.network, sub.since = vlr, net, t
        return frames
    if roll < 0.50:  # authentication vectors for a subscriber where it is
        sub = rng.choice(world.home_subs)
        sub.since = t
        return _dialogue(
            world,
            t,
            "benign",
            False,
            "sendAuthenticationInfo",
            (sub.network, sub.vlr, SSN_VLR),
            (HOME, HOME.hlr, SSN_HLR),
            sai_arg(sub.imsi),
            enc.tlv(0x30, b""),
        )
    if roll < 0.75:  # an SMS from a partner's SMS centre, home-routed
        sub = rng.choice(world.home_subs)
        net = rng.choice(PARTNERS)
        smsc = net.smsc
        frames = _dialogue(
            world,
            t,
            "benign",
            False,
            "sendRoutingInfoForSM",
            (net, smsc, SSN_MSC),
            (HOME, HOME.hlr, SSN_HLR),
            sri_sm_arg(sub.msisdn, smsc),
            sri_sm_res(f"{HOME.mcc}{HOME.mnc}9{rng.randrange(10**9):09d}", SMS_ROUTER),
        )
        frames += _dialogue(
            world,
            t + rng.uniform(0.2, 1.5),
            "benign",
            False,
            "mt-forwardSM",
            (net, smsc, SSN_MSC),
            (HOME, SMS_ROUTER, SSN_MSC),
            mt_fsm_arg(
                f"{HOME.mcc}{HOME.mnc}9{rng.randrange(10**9):09d}",
                smsc,
                enc.sms_deliver(rng.choice(_SENDERS), rng.choice(_TEXTS), t),
            ),
            None,
        )
        return frames
    if roll < 0.87:  # an inbound roamer's home network updates its profile
        sub = rng.choice(world.roamers)
        op = rng.choice(["insertSubscriberData", "deleteSubscriberData", "provideSubscriberInfo"])
        arg = {
            "insertSubscriberData": isd_arg(sub.imsi, sub.msisdn),
            "deleteSubscriberData": enc.tlv(0x30, enc.tlv(0x80, enc.tbcd(sub.imsi))),
            "provideSubscriberInfo": psi_arg(sub.imsi),
        }[op]
        res = location_res(sub.vlr, HOME, rng) if op == "provideSubscriberInfo" else None
        return _dialogue(
            world,
            t,
            "benign",
            False,
            op,
            (sub.home, sub.home.hlr, SSN_HLR),
            (HOME, sub.vlr, SSN_VLR),
            arg,
            res,
        )
    if roll < 0.95:  # an inbound roamer registers with us (outbound UL to its HLR)
        sub = rng.choice(world.roamers)
        return _dialogue(
            world,
            t,
            "benign",
            False,
            "updateLocation",
            (HOME, sub.vlr, SSN_VLR),
            (sub.home, sub.home.hlr, SSN_HLR),
            ul_arg(sub.imsi, sub.vlr),
            ul_res(sub.home.hlr),
        )
    # a VLR purges a home subscriber it holds
    sub = rng.choice(world.home_subs)
    sub.since = t
    return _dialogue(
        world,
        t,
        "benign",
        False,
        "purgeMS",
        (sub.network, sub.vlr, SSN_VLR),
        (HOME, HOME.hlr, SSN_HLR),
        purge_arg(sub.imsi, sub.vlr),
        None,
    )


def _attack(world: World, t: float, scenario: str) -> list[Frame]:
    rng = world.rng
    sub = rng.choice(world.home_subs)
    probe = ROGUE.gt(rng.randint(10, 99))
    if scenario == "ati-tracking":
        return _dialogue(
            world,
            t,
            scenario,
            True,
            "anyTimeInterrogation",
            (ROGUE, probe, 147),
            (HOME, HOME.hlr, SSN_HLR),
            ati_arg(sub.msisdn, probe),
            location_res(sub.vlr, sub.network, rng),
        )
    if scenario == "psi-tracking":
        leased = LEASED.gt(rng.randint(10, 20))
        frames = _dialogue(
            world,
            t,
            scenario,
            True,
            "sendRoutingInfoForSM",
            (LEASED, leased, SSN_MSC),
            (HOME, HOME.hlr, SSN_HLR),
            sri_sm_arg(sub.msisdn, leased),
            sri_sm_res(sub.imsi, sub.vlr),
        )
        frames += _dialogue(
            world,
            t + rng.uniform(1, 5),
            scenario,
            True,
            "provideSubscriberInfo",
            (LEASED, leased, SSN_HLR),
            (HOME, sub.vlr, SSN_VLR),
            psi_arg(sub.imsi),
            location_res(sub.vlr, sub.network, rng),
        )
        return frames
    if scenario == "ul-hijack":
        # a subscriber seen at home moments ago "appears" far away
        at_home = [s for s in world.home_subs if s.network is HOME]
        sub = rng.choice(at_home or world.home_subs)
        frames = _dialogue(
            world,
            t,
            "benign",
            False,
            "sendAuthenticationInfo",
            (HOME, sub.vlr, SSN_VLR),
            (HOME, HOME.hlr, SSN_HLR),
            sai_arg(sub.imsi),
            enc.tlv(0x30, b""),
        )
        sub.since = t
        fake = ROGUE.vlr(rng.randrange(3))
        frames += _dialogue(
            world,
            t + rng.uniform(30, 600),
            scenario,
            True,
            "updateLocation",
            (ROGUE, fake, SSN_VLR),
            (HOME, HOME.hlr, SSN_HLR),
            ul_arg(sub.imsi, fake),
            ul_res(HOME.hlr),
        )
        return frames
    if scenario == "isd-tampering":
        return _dialogue(
            world,
            t,
            scenario,
            True,
            "insertSubscriberData",
            (ROGUE, probe, SSN_HLR),
            (HOME, sub.vlr if sub.network is HOME else HOME.vlr(0), SSN_VLR),
            isd_arg(sub.imsi, sub.msisdn),
            None,
        )
    if scenario == "dos-cancel":
        if rng.random() < 0.5:
            return _dialogue(
                world,
                t,
                scenario,
                True,
                "cancelLocation",
                (ROGUE, probe, SSN_HLR),
                (HOME, HOME.vlr(rng.randrange(8)), SSN_VLR),
                cl_arg(sub.imsi),
                None,
            )
        fake = ROGUE.vlr(5)
        return _dialogue(
            world,
            t,
            scenario,
            True,
            "purgeMS",
            (ROGUE, fake, SSN_VLR),
            (HOME, HOME.hlr, SSN_HLR),
            purge_arg(sub.imsi, fake),
            None,
        )
    if scenario == "gt-scan":
        scanner = ROGUE.gt(7)
        frames = []
        for i in range(rng.randint(8, 15)):
            target = rng.choice(world.home_subs)
            frames += _dialogue(
                world,
                t + i * rng.uniform(0.05, 0.5),
                scenario,
                True,
                "sendRoutingInfoForSM",
                (ROGUE, scanner, SSN_MSC),
                (HOME, HOME.hlr, SSN_HLR),
                sri_sm_arg(target.msisdn, scanner),
                sri_sm_res(target.imsi, target.vlr),
            )
        return frames
    if scenario == "spoofed-gt":
        # a partner's SMS centre GT, but arriving through an unexpected gateway
        net = rng.choice(PARTNERS)
        return _dialogue(
            world,
            t,
            scenario,
            True,
            "sendRoutingInfoForSM",
            (net, net.smsc, SSN_MSC),
            (HOME, HOME.hlr, SSN_HLR),
            sri_sm_arg(sub.msisdn, net.smsc),
            sri_sm_res(sub.imsi, sub.vlr),
            opc=SPOOFER_PC,
        )
    if scenario == "diameter-idr":
        # a rogue or wrong "HSS" rewrites or cancels a home subscriber's profile
        sender = ROGUE if rng.random() < 0.5 else rng.choice(PARTNERS)
        code = _IDR if rng.random() < 0.6 else _CLR
        return _diameter(world, t, scenario, True, code, (sender, "hss9"), (HOME, "mme1"),
                         sub.imsi)  # fmt: skip
    if scenario == "diameter-ulr":
        # a location update claiming a partner's network: from a rogue realm, or from a
        # partner's realm with another network's PLMN
        if rng.random() < 0.5:
            sender, visited = ROGUE, rng.choice(PARTNERS)
        else:
            sender = rng.choice(PARTNERS)
            visited = rng.choice([n for n in PARTNERS if n is not sender])
        return _diameter(world, t, scenario, True, _ULR, (sender, "mme9"), (HOME, "hss1"),
                         sub.imsi, visited=visited)  # fmt: skip
    raise ValueError(f"unknown scenario {scenario!r}")


def frames(
    scenario: str,
    messages: int,
    seed: int = 1,
    start: float = 1_763_000_000.0,
    attack_share: float = 0.05,
    diameter_share: float = 0.15,
) -> Iterator[Frame]:
    """About ``messages`` frames of traffic, in time order, attacks interleaved.

    ``scenario`` is one of :data:`SCENARIOS` or "all" (every attack in turn).
    """
    if scenario not in SCENARIOS and scenario != "all":
        raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}, all")
    rng = random.Random(seed)
    world = World(rng)
    population = max(200, messages // 20)
    world.home_subs = [_home_subscriber(rng, i) for i in range(population)]
    world.roamers = [_roamer(rng, i) for i in range(population // 4)]
    for sub in world.home_subs:
        sub.since = start - rng.uniform(0, 3 * 86400)
        if rng.random() < 0.2:  # some are abroad already
            sub.network = rng.choice(PARTNERS)
            sub.vlr = sub.network.vlr(rng.randrange(4))
    attacks = (
        [s for s in SCENARIOS if s != "benign"]
        if scenario == "all"
        else ([] if scenario == "benign" else [scenario])
    )
    produced = 0
    t = start
    turn = 0
    heap: list[tuple[float, int, Frame]] = []
    counter = 0
    while produced < messages:
        t += rng.expovariate(1 / 0.02)
        if attacks and rng.random() < attack_share:
            batch = _attack(world, t, attacks[turn % len(attacks)])
            turn += 1
        elif rng.random() < diameter_share:
            batch = _benign_diameter(world, t)
        else:
            batch = _benign(world, t)
        for frame in batch:
            heapq.heappush(heap, (frame.time, counter, frame))
            counter += 1
        # batches start at t, so frames earlier than that are final: emit them
        while heap and heap[0][0] < t - 10 and produced < messages:
            yield heapq.heappop(heap)[2]
            produced += 1
    while heap and produced < messages:
        yield heapq.heappop(heap)[2]
        produced += 1


def write_capture(
    out: Any, labels: Any, scenario: str, messages: int, seed: int = 1,
    start: float = 1_763_000_000.0,
) -> int:  # fmt: skip
    """Write a pcap (Ethernet/IPv4/SCTP/M3UA) and its JSON-lines labels; frames written."""
    import orjson

    writer = enc.PcapWriter(out)
    tsn = 1
    count = 0
    for count, frame in enumerate(frames(scenario, messages, seed, start), start=1):
        if frame.diameter is not None:
            sctp = enc.sctp_packet(3868, 3868, [(tsn, 0, 46, frame.diameter)], tag=2)
        else:
            called = enc.party_address(frame.called[0], frame.called[1])
            calling = enc.party_address(frame.calling[0], frame.calling[1])
            udt = enc.sccp_udt(called, calling, frame.tcap)
            m3ua = enc.m3ua_data(frame.opc, frame.dpc, udt, sls=count & 0x0F)
            sctp = enc.sctp_packet(2905, 2905, [(tsn, 1, 3, m3ua)])
        tsn += 1
        src = f"10.{frame.opc >> 8 & 0xFF}.{frame.opc & 0xFF}.1"
        dst = f"10.{frame.dpc >> 8 & 0xFF}.{frame.dpc & 0xFF}.1"
        writer.write(frame.time, enc.ethernet(enc.ipv4(src, dst, 132, sctp, count)))
        labels.write(
            orjson.dumps(
                {
                    "frame": count,
                    "scenario": frame.scenario,
                    "malicious": frame.malicious,
                    "operation": frame.operation,
                }
            )
        )
        labels.write(b"\n")
    return count


def demo_policy() -> str:
    """The policy (TOML) of the generated home network."""

    def table(header: str, net: Network) -> str:
        return (
            f'{header}\nname = "{net.name}"\ncountry = "{net.country}"\n'
            f'plmn = ["{net.mcc}-{net.mnc}"]\ngt_prefixes = ["{net.gt_prefix}"]\n'
            f"point_codes = [{net.point_code}]\n"
        )

    parts = [
        "# Signalling policy of the generated home network (telsec signalling generate)\n",
        table("[home]", HOME),
    ]
    parts += [table("[[partners]]", net) for net in PARTNERS]
    parts.append(
        "[lists]\nallow_gts = []\ndeny_gts = []\n"
        f'leased_prefixes = ["{LEASED.gt_prefix}"]\n\n'
        "[thresholds]\nfan_out_subscribers = 5\nfan_out_window_s = 600\n"
        "sri_sm_followup_s = 60\nmax_speed_kmh = 1000\n"
    )
    return "\n".join(parts)
