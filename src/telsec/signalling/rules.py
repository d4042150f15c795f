"""Screening rules for MAP signalling (GSMA FS.11) and GT misuse.

Each rule has an id, a severity, an FS.11 category where one applies, an
explanation, and the MITRE FiGHT techniques it evidences.  :class:`Screen`
runs them over records in time order: stateless checks per message, and the
stateful ones (velocity, fan-out, SRI-SM without delivery) with bounded state.
Only messages that arrive from outside the home network (calling GT not
ours) and open or carry an operation (Invoke) are screened.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from telsec.privacy import Pseudonymiser
from telsec.signalling.geo import country_of, distance_km
from telsec.signalling.policy import Policy

Record = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str  # low | medium | high | critical
    category: str | None
    techniques: tuple[str, ...]
    explanation: str


# FiGHT techniques (https://fight.mitre.org): FGT1430 Location tracking,
# FGT5019 SMS interception / MitM, FGT1499 Network DoS, FGT1592 gather victim
# identity, FGT5029 Spoof GT (as packaged in telsec.stix.techniques).
RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("SIG-CAT1", "FS.11 category 1 operation from outside the home network", "high",
             "FS.11-cat1", ("FGT1430", "FGT1592"),
             "Operations such as anyTimeInterrogation, sendRoutingInfo, sendIMSI and "
             "provideSubscriberLocation are only used inside a network; arriving over the "
             "interconnect they are a location or identity query by a third party."),
        Rule("SIG-CAT2", "FS.11 category 2 operation not from the subscriber's home network",
             "high", "FS.11-cat2", ("FGT1430", "FGT5019", "FGT1499"),
             "insertSubscriberData, deleteSubscriberData, cancelLocation, provideSubscriberInfo, "
             "provideRoamingNumber ... may only come from the subscriber's home network; this "
             "one names a subscriber whose home is not the calling network."),
        Rule("SIG-CAT3-VELOCITY", "FS.11 category 3: implausible change of location", "high",
             "FS.11-cat3", ("FGT5019", "FGT1499"),
             "The subscriber was last seen in another country too recently to have travelled "
             "here: a location update, authentication or purge from a network it cannot be in."),
        Rule("SIG-NO-AGREEMENT", "Mobility or subscriber operation from a network with no "
             "roaming agreement", "medium", "FS.11-cat3", ("FGT5019",),
             "The calling GT belongs to neither the home network nor any roaming partner in the "
             "policy."),
        Rule("SIG-GT-LEASED", "Traffic from a leased or prohibited GT range", "high", None,
             ("FGT5029", "FGT1430"),
             "The calling GT lies in a range the policy lists as leased or prohibited (GT "
             "leasing is how third parties get interconnect access)."),
        Rule("SIG-GT-DENY", "Traffic from a denied GT", "critical", None, ("FGT5029",),
             "The calling GT is on the policy's deny list."),
        Rule("SIG-GT-POINT-CODE", "Known GT from an unexpected point code", "high", None,
             ("FGT5029",),
             "The calling GT belongs to a roaming partner, but the message entered through a "
             "point code that partner does not use: a spoofed calling GT."),
        Rule("SIG-NODE-MISMATCH", "SCCP calling GT disagrees with the MAP node address",
             "high", None, ("FGT5029", "FGT5019"),
             "The VLR/MSC number (updateLocation) or service centre (SRI-SM, MT-ForwardSM) "
             "inside the MAP message belongs to a different network than the SCCP calling GT."),
        Rule("SIG-SRISM-NO-MT", "SRI-SM not followed by an MT-ForwardSM", "medium", None,
             ("FGT1430", "FGT1592"),
             "A sendRoutingInfoForSM that delivers no message is a lookup of the subscriber's "
             "IMSI and serving MSC, the first step of tracking and interception."),
        Rule("SIG-FAN-OUT", "One GT probing many subscribers", "high", None,
             ("FGT1430", "FGT1592"),
             "The calling GT looked up more distinct subscribers in the window than the policy "
             "allows (SRI-SM without delivery, ATI, PSI, SRI, sendIMSI)."),
    )
}  # fmt: skip

CAT1 = {71, 22, 58, 83, 85, 62, 65, 24}  # ATI, SRI, sendIMSI, PSL, SRI-LCS, ATSI, ATM, SRI-GPRS
CAT2 = {7, 8, 3, 70, 4, 5, 50}  # ISD, DSD, CL, PSI, PRN, NSDM, activateTraceMode
CAT3 = {2, 23, 56, 67, 10, 57, 9}  # UL, UGL, SAI, purgeMS, registerSS, restoreData, sendParams
LOOKUPS = {45, 22, 71, 70, 58, 24, 85}
SRI_SM, MT_FSM, MO_FSM, UL = 45, 44, 46, 2


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "category": self.category,
            "frames": self.frames,
            "time": self.time,
            "calling_gt": self.calling_gt,
            "called_gt": self.called_gt,
            "operation": self.operation,
            "subscriber": self.subscriber,
            "detail": self.detail,
            "techniques": list(self.techniques),
        }


@dataclass
class _Lookup:
    time: float
    frame: int
    gt: str
    subscriber: str
    record: Record
    counted: bool = False


@dataclass
class Screen:
    """Runs every rule over records fed in time order; bounded memory."""

    policy: Policy
    pseudonym: Pseudonymiser
    max_subscribers: int = 1_000_000
    _location: OrderedDict[str, tuple[float, str]] = field(default_factory=OrderedDict)
    _pending: deque[_Lookup] = field(default_factory=deque)
    #: calling GT -> time of its latest MT/MO-ForwardSM
    _delivered: dict[str, float] = field(default_factory=dict)
    _orphans: dict[str, deque[_Lookup]] = field(default_factory=lambda: defaultdict(deque))
    _last_time: float = float("-inf")
    #: SRI-SMs whose follow-up window had not passed when the input ended.
    undecided: int = 0

    def _finding(
        self, rule_id: str, record: Record, detail: str, frames: list[int] | None = None
    ) -> Finding:
        rule = RULES[rule_id]
        subscriber = self.pseudonym("imsi", record.get("imsi")) or self.pseudonym(
            "msisdn", record.get("msisdn")
        )
        return Finding(
            rule.id,
            rule.severity,
            rule.category,
            frames or [record["frame"]],
            record["time"],
            record.get("calling_gt"),
            record.get("called_gt"),
            record.get("operation"),
            subscriber,
            detail,
            rule.techniques,
        )

    def feed(self, record: Record) -> list[Finding]:
        """Findings that this record completes (including older ones now resolved)."""
        self._last_time = max(self._last_time, record["time"])
        out = self._expire(record["time"])
        if record.get("protocol") != "map" or record.get("component") != "invoke":
            return out
        opcode = record.get("opcode")
        calling = record.get("calling_gt")
        policy = self.policy
        if policy.is_home_gt(calling):
            if opcode in CAT3:
                self._remember(record)
            return out
        if calling in policy.allow_gts:
            return out
        already = len(out)
        if calling in policy.deny_gts:
            out.append(self._finding("SIG-GT-DENY", record, f"GT {calling} is denied"))
        if policy.is_leased(calling):
            out.append(self._finding("SIG-GT-LEASED", record, f"GT {calling} is in a leased range"))
        operator = policy.operator_of_gt(calling)
        if (
            operator is not None
            and operator.point_codes
            and record.get("opc") not in (operator.point_codes)
        ):
            out.append(
                self._finding(
                    "SIG-GT-POINT-CODE",
                    record,
                    f"GT of {operator.name} from point code {record.get('opc')}, expected "
                    f"{', '.join(map(str, operator.point_codes))}",
                )
            )
        if opcode in CAT1:
            out.append(
                self._finding("SIG-CAT1", record, f"{record.get('operation')} from {calling}")
            )
        elif opcode in CAT2:
            home = policy.operator_of_imsi(record.get("imsi"))
            if record.get("imsi") and home is not operator:
                out.append(
                    self._finding(
                        "SIG-CAT2",
                        record,
                        f"{record.get('operation')} for a subscriber of "
                        f"{home.name if home else 'an unknown network'} from "
                        f"{operator.name if operator else 'an unknown network'}",
                    )
                )
        if opcode in CAT3 and operator is None:
            out.append(
                self._finding(
                    "SIG-NO-AGREEMENT", record, f"{record.get('operation')} from {calling}"
                )
            )
        if opcode in CAT3:
            velocity = self._velocity(record)
            if velocity:
                out.append(velocity)
        out.extend(self._node_mismatch(record, opcode, operator))
        if opcode in CAT3 and len(out) == already:
            # only an unremarkable message moves the subscriber: a hijack attempt
            # must not make the subscriber's real network look implausible
            self._remember(record)
        if opcode in LOOKUPS and not (
            operator is not None and policy.operator_of_imsi(record.get("imsi")) is operator
        ):  # a network asking about its own subscriber is not probing
            out.extend(self._lookup(record, opcode))
        elif opcode in (MT_FSM, MO_FSM) and calling and record.get("imsi"):
            self._delivered[calling] = record["time"]
        return out

    # -- state: where subscribers are ------------------------------------------------

    @staticmethod
    def _country(record: Record) -> str | None:
        """Where a mobility message puts the subscriber: its VLR's (or sender's) country."""
        return country_of(record.get("vlr_number") or record.get("calling_gt"))

    def _remember(self, record: Record) -> None:
        imsi, where = record.get("imsi"), self._country(record)
        if not imsi or not where:
            return
        self._location[imsi] = (record["time"], where)
        self._location.move_to_end(imsi)
        if len(self._location) > self.max_subscribers:
            self._location.popitem(last=False)

    def _velocity(self, record: Record) -> Finding | None:
        imsi = record.get("imsi")
        where = self._country(record)
        if not imsi or not where:
            return None
        before = self._location.get(imsi)
        if before is None:
            return None
        then, there = before
        km = distance_km(there, where)
        if not km:
            return None
        hours = max(record["time"] - then, 1.0) / 3600
        speed = km / hours
        if speed <= self.policy.thresholds.max_speed_kmh:
            return None
        return self._finding(
            "SIG-CAT3-VELOCITY",
            record,
            f"{there} -> {where}: {km:,.0f} km in {hours * 60:,.0f} min ({speed:,.0f} km/h)",
        )

    # -- GT consistency ----------------------------------------------------------------

    def _node_mismatch(self, record: Record, opcode: int | None, operator: Any) -> list[Finding]:
        calling = record.get("calling_gt")
        if opcode == UL:
            node = record.get("vlr_number") or record.get("msc_number")
        elif opcode in (SRI_SM, MT_FSM):
            node = record.get("service_centre")
        else:
            return []
        if not node or not calling or node == calling:
            return []
        node_operator = self.policy.operator_of_gt(node)
        same = (node_operator is operator and operator is not None) or (
            operator is None and country_of(node) == country_of(calling) and node[:6] == calling[:6]
        )
        if same:
            return []
        return [
            self._finding(
                "SIG-NODE-MISMATCH", record, f"SCCP calling GT {calling}, MAP node address {node}"
            )
        ]

    # -- lookups, fan-out, SRI-SM without delivery -------------------------------------

    def _lookup(self, record: Record, opcode: int) -> list[Finding]:
        subscriber = record.get("msisdn") or record.get("imsi")
        calling = record.get("calling_gt")
        if not subscriber or not calling:
            return []
        lookup = _Lookup(record["time"], record["frame"], calling, subscriber, record)
        if opcode != SRI_SM:
            return self._count(lookup)
        # judged once its follow-up window has passed ...
        self._pending.append(lookup)
        # ... but a GT of no partner that has never delivered a message counts now
        if self.policy.operator_of_gt(calling) is None and not self._has_delivered(calling):
            lookup.counted = True
            return self._count(lookup)
        return []

    def _has_delivered(self, gt: str) -> bool:
        return gt in self._delivered

    def _count(self, lookup: _Lookup) -> list[Finding]:
        window = self.policy.thresholds.fan_out_window_s
        seen = self._orphans[lookup.gt]
        seen.append(lookup)
        while seen and seen[0].time < lookup.time - window:
            seen.popleft()
        distinct = {item.subscriber for item in seen}
        if len(distinct) < self.policy.thresholds.fan_out_subscribers:
            return []
        frames = sorted(item.frame for item in seen)
        seen.clear()  # each burst is reported once; later lookups start a new count
        return [
            self._finding(
                "SIG-FAN-OUT",
                lookup.record,
                f"{len(distinct)} subscribers looked up in {window:,.0f} s",
                frames,
            )
        ]

    def _expire(self, now: float) -> list[Finding]:
        out: list[Finding] = []
        followup = self.policy.thresholds.sri_sm_followup_s
        while self._pending and self._pending[0].time < now - followup:
            lookup = self._pending.popleft()
            delivered = self._delivered.get(lookup.gt)
            if delivered is not None and delivered >= lookup.time:
                continue  # the GT delivered after the lookup (the latest delivery is kept)
            out.append(
                self._finding(
                    "SIG-SRISM-NO-MT",
                    lookup.record,
                    f"no MT-ForwardSM from {lookup.gt} within {followup:.0f} s",
                )
            )
            if not lookup.counted:
                out.extend(self._count(lookup))
        if len(self._delivered) > 100_000:
            self._delivered = {k: v for k, v in self._delivered.items() if v >= now - followup}
        return out

    def finish(self) -> list[Finding]:
        """Resolve what the input decides; an SRI-SM too close to the end to tell
        whether a delivery followed is counted in ``undecided``, not reported."""
        out = self._expire(self._last_time)
        self.undecided += len(self._pending)
        self._pending.clear()
        return out


def screen(
    records: Iterator[Record],
    policy: Policy,
    pseudonym: Pseudonymiser,
    engine: Screen | None = None,
) -> Iterator[Finding]:
    """Findings over records in time order (pass ``engine`` to read its counters after)."""
    engine = engine or Screen(policy, pseudonym)
    for record in records:
        yield from engine.feed(record)
    yield from engine.finish()
