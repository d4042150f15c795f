"""Screening rules for MAP (GSMA FS.11) and Diameter (FS.19) signalling.

Each rule has an id, a severity, an FS.11 category where one applies, an
explanation, and the MITRE FiGHT / GSMA MoTIF techniques it evidences.

Screening runs in two stages, so that it can be spread over processes or a
Dask cluster without losing the order the stateful rules depend on:

* :class:`Inspector` looks at one record at a time: the stateless rules
  (category 1 and 2, GT lists, point codes, node addresses, Diameter realms),
  per-source activity counts, and the *events* the stateful rules need. It
  runs wherever the capture is decoded.  Events carry pseudonyms, never
  subscriber identities.
* :class:`Tracker` takes the events in time order: the velocity test on each
  subscriber's last trusted location, SRI-SM not followed by a delivery, and
  one GT probing many subscribers.  Its state is bounded.

:class:`Screen` chains the two for one process.  Only messages from outside
the home network that carry an operation (MAP Invoke, Diameter request) are
screened.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from telsec.privacy import Pseudonymiser
from telsec.signalling.geo import country_of, country_of_mcc, distance_km
from telsec.signalling.policy import Operator, Policy

Record = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str  # low | medium | high | critical
    category: str | None
    techniques: tuple[str, ...]
    explanation: str


# Technique ids as packaged in telsec.stix.techniques (FiGHT FGT..., MoTIF MOT...).
RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("SIG-CAT1", "FS.11 category 1 operation from outside the home network", "high",
             "FS.11-cat1", ("FGT5012.004", "FGT5019", "MOT5012.501", "MOT3003.301"),
             "Operations such as anyTimeInterrogation, sendRoutingInfo, sendIMSI and "
             "provideSubscriberLocation are only used inside a network; arriving over the "
             "interconnect they are a location or identity query by a third party."),
        Rule("SIG-CAT2", "FS.11 category 2 operation not from the subscriber's home network",
             "high", "FS.11-cat2", ("FGT5012.004", "FGT5022", "FGT1499.503", "MOT3003.301"),
             "insertSubscriberData, deleteSubscriberData, cancelLocation, provideSubscriberInfo, "
             "provideRoamingNumber ... may only come from the subscriber's home network; this "
             "one names a subscriber whose home is not the calling network."),
        Rule("SIG-CAT3-VELOCITY", "FS.11/FS.19 category 3: implausible change of location",
             "high", "FS.11-cat3", ("FGT1557", "FGT5001", "MOT1557"),
             "The subscriber was last seen in another country too recently to have travelled "
             "here: a location update, authentication or purge from a network it cannot be in."),
        Rule("SIG-NO-AGREEMENT", "Mobility or subscriber operation from a network with no "
             "roaming agreement", "medium", "FS.11-cat3", ("MOT1199.301", "FGT1199.501"),
             "The calling GT belongs to neither the home network nor any roaming partner in the "
             "policy."),
        Rule("SIG-GT-LEASED", "Traffic from a leased or prohibited GT range", "high", None,
             ("MOT1583.301", "MOT1199.301"),
             "The calling GT lies in a range the policy lists as leased or prohibited (GT "
             "leasing is how third parties get interconnect access)."),
        Rule("SIG-GT-DENY", "Traffic from a denied GT", "critical", None, ("MOT1583.301",),
             "The calling GT is on the policy's deny list."),
        Rule("SIG-GT-POINT-CODE", "Known GT from an unexpected point code", "high", None,
             ("MOT1036.301", "MOT3005"),
             "The calling GT belongs to a roaming partner, but the message entered through a "
             "point code that partner does not use: a spoofed calling GT."),
        Rule("SIG-NODE-MISMATCH", "SCCP calling GT disagrees with the MAP node address",
             "high", None, ("MOT1036.301", "FGT1557"),
             "The VLR/MSC number (updateLocation) or service centre (SRI-SM, MT-ForwardSM) "
             "inside the MAP message belongs to a different network than the SCCP calling GT."),
        Rule("SIG-SRISM-NO-MT", "SRI-SM not followed by an MT-ForwardSM", "medium", None,
             ("FGT5019", "FGT5012.004"),
             "A sendRoutingInfoForSM that delivers no message is a lookup of the subscriber's "
             "IMSI and serving MSC, the first step of tracking and interception."),
        Rule("SIG-FAN-OUT", "One GT probing many subscribers", "high", None,
             ("MOT1046.301", "FGT5012.004"),
             "The calling GT looked up more distinct subscribers in the window than the policy "
             "allows (SRI-SM without delivery, ATI, PSI, SRI, sendIMSI)."),
        Rule("SIG-DIA-HOME-REALM", "FS.19: IDR/CLR/DSR not from the subscriber's home realm",
             "high", "FS.11-cat2", ("FGT5012.008", "FGT5022", "FGT1499.503", "MOT3003.302"),
             "Insert/Delete-Subscriber-Data and Cancel-Location may only come from the HSS of "
             "the subscriber's home network; the Origin-Realm of this request is another "
             "network's."),
        Rule("SIG-DIA-NO-AGREEMENT", "FS.19: S6a request from a realm with no roaming "
             "agreement", "medium", "FS.11-cat3", ("MOT1199.301", "MOT3003.302"),
             "The Origin-Realm belongs to neither the home network nor any roaming partner."),
        Rule("SIG-DIA-VISITED-PLMN", "FS.19: ULR/AIR with a Visited-PLMN-Id that is not the "
             "sender's", "high", "FS.11-cat3", ("MOT1036.301", "FGT1557", "MOT3003.302"),
             "The Visited-PLMN-Id names a network other than the one whose realm sent the "
             "request: a location update or authentication claiming a network it is not."),
    )
}  # fmt: skip

CAT1 = {71, 22, 58, 83, 85, 62, 65, 24}  # ATI, SRI, sendIMSI, PSL, SRI-LCS, ATSI, ATM, SRI-GPRS
CAT2 = {7, 8, 3, 70, 4, 5, 50}  # ISD, DSD, CL, PSI, PRN, NSDM, activateTraceMode
CAT3 = {2, 23, 56, 67, 10, 57, 9}  # UL, UGL, SAI, purgeMS, registerSS, restoreData, sendParams
LOOKUPS = {45, 22, 71, 70, 58, 24, 85}
SRI_SM, MT_FSM, MO_FSM, UL = 45, 44, 46, 2
#: S6a/S6d commands: sent by the HSS (home only) and by the visited MME/SGSN.
DIAMETER_FROM_HOME = {317, 319, 320}  # CLR, IDR, DSR
DIAMETER_FROM_VISITED = {316, 318, 321, 323}  # ULR, AIR, PUR, NOR
DIAMETER_LOCATION = {316, 318}  # ULR, AIR carry Visited-PLMN-Id
_REALM_PLMN = re.compile(r"mnc(\d{3})\.mcc(\d{3})\.3gppnetwork\.org$")


def category_of(record: Record) -> str:
    """FS.11 category of a screened message: ``cat1``, ``cat2``, ``cat3`` or ``other``."""
    code = record.get("opcode") if record.get("protocol") == "map" else None
    if code in CAT1:
        return "cat1"
    if code in CAT2:
        return "cat2"
    if code in CAT3:
        return "cat3"
    command = record.get("command_code")
    if record.get("protocol") == "diameter":
        if command in DIAMETER_FROM_HOME:
            return "cat2"
        if command in DIAMETER_FROM_VISITED:
            return "cat3"
    return "other"


def realm_plmn(realm: str | None) -> str | None:
    """``MCC-MNC`` of a 3GPP realm (``epc.mnc015.mcc234.3gppnetwork.org`` -> ``234-15``)."""
    match = _REALM_PLMN.search(realm or "")
    if not match:
        return None
    mnc, mcc = match.groups()
    return f"{mcc}-{mnc[1:] if mnc[0] == '0' else mnc}"


def imsi_in_plmn(imsi: str, plmn: str) -> bool:
    mcc, _, mnc = plmn.partition("-")
    return imsi.startswith(mcc + mnc) or (len(mnc) == 2 and imsi.startswith(mcc + "0" + mnc))


# -- findings and what they are made from -------------------------------------------


class Evidence(NamedTuple):
    """The parts of one message a finding reports (subscriber as a pseudonym)."""

    frame: int
    time: float
    calling_gt: str | None
    called_gt: str | None
    operation: str | None
    subscriber: str | None
    origin_realm: str | None = None


@dataclass
class Finding:
    rule: str
    severity: str
    category: str | None
    frames: list[int]
    time: float
    calling_gt: str | None
    called_gt: str | None
    operation: str | None
    subscriber: str | None
    detail: str
    techniques: tuple[str, ...] = ()
    origin_realm: str | None = None

    @property
    def source(self) -> str | None:
        """Who sent it: the calling GT, or for Diameter the Origin-Realm."""
        return self.calling_gt or self.origin_realm

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "category": self.category,
            "frames": self.frames,
            "time": self.time,
            "calling_gt": self.calling_gt,
            "called_gt": self.called_gt,
            "origin_realm": self.origin_realm,
            "operation": self.operation,
            "subscriber": self.subscriber,
            "detail": self.detail,
            "techniques": list(self.techniques),
        }


def finding(
    rule_id: str, evidence: Evidence, detail: str, frames: list[int] | None = None
) -> Finding:
    rule = RULES[rule_id]
    return Finding(
        rule.id,
        rule.severity,
        rule.category,
        frames or [evidence.frame],
        evidence.time,
        evidence.calling_gt,
        evidence.called_gt,
        evidence.operation,
        evidence.subscriber,
        detail,
        rule.techniques,
        evidence.origin_realm,
    )


# -- events: what the stateful rules need to know ------------------------------------


class Locate(NamedTuple):
    """A mobility message places ``subscriber`` in ``country`` at ``time``.

    ``check``: test the velocity (a message from outside); ``trusted``: remember
    the place afterwards (from the home network, or raised nothing)."""

    time: float
    subscriber: str
    country: str
    evidence: Evidence | None
    check: bool
    trusted: bool


class Lookup(NamedTuple):
    """A query about ``subscriber`` (SRI-SM, ATI, PSI, SRI ...) from ``gt``."""

    time: float
    gt: str
    subscriber: str
    is_sri_sm: bool
    from_partner: bool
    evidence: Evidence


class Deliver(NamedTuple):
    """``gt`` delivered a short message (MT- or MO-ForwardSM) at ``time``."""

    time: float
    gt: str


Event = Locate | Lookup | Deliver


# -- per-source activity -----------------------------------------------------------

#: Beyond this many distinct subscribers per source, counting stops (``subscribers_capped``).
MAX_SUBSCRIBERS_PER_SOURCE = 10_000


@dataclass
class Activity:
    """What one calling GT (or Diameter origin realm) sent into the network."""

    source: str
    kind: str  # "gt" | "realm"
    first_seen: float
    last_seen: float
    messages: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    point_codes: set[int] = field(default_factory=set)
    subscribers: set[str] = field(default_factory=set)
    subscribers_capped: bool = False

    def add(self, time: float, category: str, operation: str | None, opc: int | None,
            subscriber: str | None) -> None:  # fmt: skip
        self.messages += 1
        self.first_seen = min(self.first_seen, time)
        self.last_seen = max(self.last_seen, time)
        self.categories[category] += 1
        self.operations[operation or "?"] += 1
        if opc is not None:
            self.point_codes.add(opc)
        if subscriber and not self.subscribers_capped:
            self.subscribers.add(subscriber)
            if len(self.subscribers) >= MAX_SUBSCRIBERS_PER_SOURCE:
                self.subscribers_capped = True

    def merge(self, other: Activity) -> None:
        self.messages += other.messages
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.categories.update(other.categories)
        self.operations.update(other.operations)
        self.point_codes |= other.point_codes
        if not self.subscribers_capped:
            self.subscribers |= other.subscribers
            if other.subscribers_capped or len(self.subscribers) >= MAX_SUBSCRIBERS_PER_SOURCE:
                self.subscribers_capped = True


def merge_activity(into: dict[str, Activity], more: dict[str, Activity]) -> None:
    for source, activity in more.items():
        known = into.get(source)
        if known is None:
            into[source] = activity
        else:
            known.merge(activity)


# -- stage 1: one record at a time --------------------------------------------------


@dataclass
class Inspector:
    """Stateless rules, activity counts and events, one record at a time."""

    policy: Policy
    pseudonym: Pseudonymiser
    activity: dict[str, Activity] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the same few GTs and IMSI ranges come back message after message
        self._home_gt = lru_cache(maxsize=65536)(self.policy.is_home_gt)
        self._leased = lru_cache(maxsize=65536)(self.policy.is_leased)
        self._operator_of_gt = lru_cache(maxsize=65536)(self.policy.operator_of_gt)
        self._operator_of_plmn = lru_cache(maxsize=4096)(self.policy.operator_of_imsi)

    def _operator_of_imsi(self, imsi: str | None) -> Operator | None:
        # an IMSI's network is in its first 5 or 6 digits (MCC, MNC)
        return self._operator_of_plmn(imsi[:6]) if imsi else None

    def _evidence(self, record: Record, subscriber: str | None = None) -> Evidence:
        return Evidence(
            record["frame"],
            record["time"],
            record.get("calling_gt"),
            record.get("called_gt"),
            record.get("operation") or record.get("command"),
            subscriber,
            record.get("origin_realm"),
        )

    def _subscriber(self, record: Record) -> str | None:
        return self.pseudonym("imsi", record.get("imsi")) or self.pseudonym(
            "msisdn", record.get("msisdn")
        )

    def _count(self, source: str, kind: str, record: Record, subscriber: str | None) -> None:
        activity = self.activity.get(source)
        if activity is None:
            activity = self.activity[source] = Activity(
                source, kind, record["time"], record["time"]
            )
        activity.add(
            record["time"],
            category_of(record),
            record.get("operation") or record.get("command"),
            record.get("opc"),
            subscriber,
        )

    def inspect(self, record: Record) -> tuple[list[Finding], Event | None]:
        """The findings one record raises by itself, and the event it adds, if any."""
        protocol = record.get("protocol")
        if protocol == "map":
            if record.get("component") != "invoke":
                return [], None
            return self._map(record)
        if protocol == "diameter" and record.get("is_request"):
            return self._diameter(record)
        return [], None

    def _map(self, record: Record) -> tuple[list[Finding], Event | None]:
        opcode = record.get("opcode")
        calling = record.get("calling_gt")
        policy = self.policy
        if self._home_gt(calling):
            if opcode in CAT3:
                return [], self._locate(record, None, check=False, trusted=True)
            return [], None
        subscriber = self._subscriber(record)
        if calling:
            self._count(calling, "gt", record, subscriber)
        if calling in policy.allow_gts:
            return [], None
        evidence = self._evidence(record, subscriber)
        out: list[Finding] = []
        if calling in policy.deny_gts:
            out.append(finding("SIG-GT-DENY", evidence, f"GT {calling} is denied"))
        if self._leased(calling):
            out.append(finding("SIG-GT-LEASED", evidence, f"GT {calling} is in a leased range"))
        operator = self._operator_of_gt(calling)
        if (
            operator is not None
            and operator.point_codes
            and record.get("opc") not in operator.point_codes
        ):
            out.append(
                finding(
                    "SIG-GT-POINT-CODE",
                    evidence,
                    f"GT of {operator.name} from point code {record.get('opc')}, expected "
                    f"{', '.join(map(str, operator.point_codes))}",
                )
            )
        operation = record.get("operation")
        if opcode in CAT1:
            out.append(finding("SIG-CAT1", evidence, f"{operation} from {calling}"))
        elif opcode in CAT2:
            home = self._operator_of_imsi(record.get("imsi"))
            if record.get("imsi") and home is not operator:
                out.append(
                    finding(
                        "SIG-CAT2",
                        evidence,
                        f"{operation} for a subscriber of "
                        f"{home.name if home else 'an unknown network'} from "
                        f"{operator.name if operator else 'an unknown network'}",
                    )
                )
        if opcode in CAT3 and operator is None:
            out.append(finding("SIG-NO-AGREEMENT", evidence, f"{operation} from {calling}"))
        out.extend(self._node_mismatch(record, evidence, opcode, operator))
        event: Event | None = None
        if opcode in CAT3:
            # only an unremarkable message moves the subscriber: a hijack attempt
            # must not make the subscriber's real network look implausible
            event = self._locate(record, evidence, check=True, trusted=not out)
        elif opcode in LOOKUPS:
            key = self.pseudonym("msisdn", record.get("msisdn")) or subscriber
            # a network asking about its own subscriber is not probing
            own = operator is not None and self._operator_of_imsi(record.get("imsi")) is operator
            if key and calling and not own:
                event = Lookup(record["time"], calling, key, opcode == SRI_SM,
                               operator is not None, evidence)  # fmt: skip
        elif opcode in (MT_FSM, MO_FSM) and calling and record.get("imsi"):
            event = Deliver(record["time"], calling)
        return out, event

    def _locate(self, record: Record, evidence: Evidence | None, *, check: bool,
                trusted: bool) -> Locate | None:  # fmt: skip
        """Where a mobility message puts the subscriber: its VLR's (or sender's) country."""
        imsi = record.get("imsi")
        where = country_of(record.get("vlr_number") or record.get("calling_gt"))
        if not imsi or not where:
            return None
        subscriber = evidence.subscriber if evidence else self.pseudonym("imsi", imsi)
        assert subscriber is not None
        return Locate(record["time"], subscriber, where, evidence, check, trusted)

    def _node_mismatch(
        self, record: Record, evidence: Evidence, opcode: int | None, operator: Operator | None
    ) -> list[Finding]:
        calling = record.get("calling_gt")
        if opcode == UL:
            node = record.get("vlr_number") or record.get("msc_number")
        elif opcode in (SRI_SM, MT_FSM):
            node = record.get("service_centre")
        else:
            return []
        if not node or not calling or node == calling:
            return []
        node_operator = self._operator_of_gt(node)
        same = (node_operator is operator and operator is not None) or (
            operator is None and country_of(node) == country_of(calling) and node[:6] == calling[:6]
        )
        if same:
            return []
        return [
            finding(
                "SIG-NODE-MISMATCH", evidence, f"SCCP calling GT {calling}, MAP node address {node}"
            )
        ]

    # -- Diameter S6a/S6d (FS.19) ------------------------------------------------------

    def _diameter(self, record: Record) -> tuple[list[Finding], Event | None]:
        command = record.get("command_code")
        if command not in DIAMETER_FROM_HOME and command not in DIAMETER_FROM_VISITED:
            return [], None
        realm = record.get("origin_realm")
        policy = self.policy
        imsi = record.get("imsi")
        visited = record.get("visited_plmn")
        if policy.is_home_realm(realm):
            if command in DIAMETER_LOCATION and imsi and visited:
                where = country_of_mcc(visited[:3])
                if where:
                    subscriber = self.pseudonym("imsi", imsi)
                    assert subscriber is not None
                    return [], Locate(record["time"], subscriber, where, None, False, True)
            return [], None
        subscriber = self._subscriber(record)
        if realm:
            self._count(realm, "realm", record, subscriber)
        evidence = self._evidence(record, subscriber)
        operator = policy.operator_of_realm(realm)
        sender_plmn = realm_plmn(realm)
        out: list[Finding] = []
        name = record.get("command")
        if command in DIAMETER_FROM_HOME and imsi:
            home = self._operator_of_imsi(imsi)
            if home is not None:
                genuine = operator is home
            else:
                genuine = sender_plmn is not None and imsi_in_plmn(imsi, sender_plmn)
            if not genuine:
                out.append(
                    finding(
                        "SIG-DIA-HOME-REALM",
                        evidence,
                        f"{name} for a subscriber of {home.name if home else imsi[:5]} "
                        f"from realm {realm}",
                    )
                )
        if command in DIAMETER_FROM_VISITED:
            if operator is None:
                out.append(finding("SIG-DIA-NO-AGREEMENT", evidence, f"{name} from realm {realm}"))
            if command in DIAMETER_LOCATION and visited:
                plmns = operator.plmns if operator else ((sender_plmn,) if sender_plmn else ())
                if plmns and visited not in plmns:
                    out.append(
                        finding(
                            "SIG-DIA-VISITED-PLMN",
                            evidence,
                            f"{name} from realm {realm} claims visited PLMN {visited}",
                        )
                    )
        event: Event | None = None
        if command in DIAMETER_LOCATION and subscriber and visited and imsi:
            where = country_of_mcc(visited[:3])
            if where:
                event = Locate(record["time"], self.pseudonym("imsi", imsi) or subscriber,
                               where, evidence, True, not out)  # fmt: skip
        return out, event


# -- stage 2: events in time order ---------------------------------------------------


@dataclass(slots=True)
class _Pending:
    lookup: Lookup
    counted: bool = False


@dataclass
class Tracker:
    """The stateful rules over events in time order; bounded memory."""

    policy: Policy
    max_subscribers: int = 1_000_000
    _location: OrderedDict[str, tuple[float, str]] = field(default_factory=OrderedDict)
    _pending: deque[_Pending] = field(default_factory=deque)
    #: GT -> SRI-SMs from it awaiting judgement (oldest first)
    _pending_by_gt: dict[str, deque[_Pending]] = field(default_factory=lambda: defaultdict(deque))
    #: GT -> times of its deliveries that a pending SRI-SM may still need
    _deliveries: dict[str, deque[float]] = field(default_factory=dict)
    #: calling GT -> time of its latest MT/MO-ForwardSM
    _delivered: dict[str, float] = field(default_factory=dict)
    _seen: dict[str, deque[Lookup]] = field(default_factory=lambda: defaultdict(deque))
    #: GT -> end of the window in which its next lookup continues a reported probe
    _probing: dict[str, float] = field(default_factory=dict)
    _last_time: float = float("-inf")
    #: SRI-SMs whose follow-up window had not passed when the input ended.
    undecided: int = 0

    def apply(self, event: Event) -> list[Finding]:
        """Findings this event completes (including older ones now resolved)."""
        self._last_time = max(self._last_time, event.time)
        out = self.expire(event.time)
        if isinstance(event, Locate):
            if event.check:
                velocity = self._velocity(event)
                if velocity:
                    out.append(velocity)
                    return out
            if event.trusted:
                self._remember(event)
        elif isinstance(event, Lookup):
            out.extend(self._lookup(event))
        else:
            self._deliver(event)
        return out

    # -- where subscribers are -------------------------------------------------------

    def _remember(self, event: Locate) -> None:
        self._location[event.subscriber] = (event.time, event.country)
        self._location.move_to_end(event.subscriber)
        if len(self._location) > self.max_subscribers:
            self._location.popitem(last=False)

    def _velocity(self, event: Locate) -> Finding | None:
        before = self._location.get(event.subscriber)
        if before is None or event.evidence is None:
            return None
        then, there = before
        km = distance_km(there, event.country)
        if not km:
            return None
        hours = max(event.time - then, 1.0) / 3600
        speed = km / hours
        if speed <= self.policy.thresholds.max_speed_kmh:
            return None
        return finding(
            "SIG-CAT3-VELOCITY",
            event.evidence,
            f"{there} -> {event.country}: {km:,.0f} km in {hours * 60:,.0f} min "
            f"({speed:,.0f} km/h)",
        )

    # -- lookups, fan-out, SRI-SM without delivery -----------------------------------

    def _lookup(self, lookup: Lookup) -> list[Finding]:
        if not lookup.is_sri_sm:
            return self._count(lookup)
        pending = _Pending(lookup)
        # judged once its follow-up window has passed ...
        self._pending.append(pending)
        self._pending_by_gt[lookup.gt].append(pending)
        # ... but a GT of no partner that has never delivered a message counts now
        if not lookup.from_partner and lookup.gt not in self._delivered:
            pending.counted = True
            return self._count(lookup)
        return []

    def _deliver(self, event: Deliver) -> None:
        self._delivered[event.gt] = event.time
        if event.gt in self._pending_by_gt:  # only a pending SRI-SM needs the time
            self._deliveries.setdefault(event.gt, deque()).append(event.time)

    def _was_delivered(self, lookup: Lookup) -> bool:
        """Did the GT deliver a message within the follow-up window of ``lookup``?

        SRI-SMs of one GT are judged oldest first, so a delivery before this
        lookup is of no use to the later ones either and is dropped."""
        times = self._deliveries.get(lookup.gt)
        if not times:
            return False
        while times and times[0] < lookup.time:
            times.popleft()
        return bool(times) and times[0] <= lookup.time + self.policy.thresholds.sri_sm_followup_s

    def _count(self, lookup: Lookup) -> list[Finding]:
        window = self.policy.thresholds.fan_out_window_s
        until = self._probing.get(lookup.gt)
        if until is not None and lookup.time <= until:
            self._probing[lookup.gt] = lookup.time + window
            return [finding("SIG-FAN-OUT", lookup.evidence, "continues a probe reported before")]
        seen = self._seen[lookup.gt]
        seen.append(lookup)
        while seen and seen[0].time < lookup.time - window:
            seen.popleft()
        distinct = {item.subscriber for item in seen}
        if len(distinct) < self.policy.thresholds.fan_out_subscribers:
            return []
        frames = sorted(item.evidence.frame for item in seen)
        seen.clear()  # the burst is reported once; each later lookup in the window joins it
        self._probing[lookup.gt] = lookup.time + window
        return [
            finding(
                "SIG-FAN-OUT",
                lookup.evidence,
                f"{len(distinct)} subscribers looked up in {window:,.0f} s",
                frames,
            )
        ]

    def expire(self, now: float) -> list[Finding]:
        """Judge the SRI-SMs whose follow-up window ended before ``now``."""
        out: list[Finding] = []
        followup = self.policy.thresholds.sri_sm_followup_s
        while self._pending and self._pending[0].lookup.time < now - followup:
            pending = self._pending.popleft()
            lookup = pending.lookup
            delivered = self._was_delivered(lookup)
            same_gt = self._pending_by_gt[lookup.gt]
            same_gt.popleft()
            if not same_gt:
                del self._pending_by_gt[lookup.gt]
                self._deliveries.pop(lookup.gt, None)
            if delivered:
                continue
            out.append(
                finding(
                    "SIG-SRISM-NO-MT",
                    lookup.evidence,
                    f"no MT-ForwardSM from {lookup.gt} within {followup:.0f} s",
                )
            )
            if not pending.counted:
                out.extend(self._count(lookup))
        if len(self._delivered) > 100_000:
            self._delivered = {k: v for k, v in self._delivered.items() if v >= now - followup}
        if len(self._seen) > 100_000:
            window = self.policy.thresholds.fan_out_window_s
            self._seen = defaultdict(
                deque, {k: v for k, v in self._seen.items() if v and v[-1].time >= now - window}
            )
        if len(self._probing) > 100_000:
            self._probing = {k: v for k, v in self._probing.items() if v >= now}
        return out

    def finish(self) -> list[Finding]:
        """Resolve what the input decides; an SRI-SM too close to the end to tell
        whether a delivery followed is counted in ``undecided``, not reported."""
        out = self.expire(self._last_time)
        self.undecided += len(self._pending)
        self._pending.clear()
        self._pending_by_gt.clear()
        self._deliveries.clear()
        return out


@dataclass
class Screen:
    """Both stages in one process, records fed in time order."""

    policy: Policy
    pseudonym: Pseudonymiser
    inspector: Inspector = field(init=False)
    tracker: Tracker = field(init=False)

    def __post_init__(self) -> None:
        self.inspector = Inspector(self.policy, self.pseudonym)
        self.tracker = Tracker(self.policy)

    @property
    def activity(self) -> dict[str, Activity]:
        return self.inspector.activity

    @property
    def undecided(self) -> int:
        return self.tracker.undecided

    def feed(self, record: Record) -> list[Finding]:
        found, event = self.inspector.inspect(record)
        if event is not None:
            found.extend(self.tracker.apply(event))
        return found

    def finish(self) -> list[Finding]:
        return self.tracker.finish()


def screen(records: Iterable[Record], engine: Screen) -> Iterator[Finding]:
    """Findings over records in time order (read ``engine``'s counters after)."""
    for record in records:
        yield from engine.feed(record)
    yield from engine.finish()
