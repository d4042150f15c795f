"""What the screening rules produce and pass between their two stages.

* :data:`RULES`: each rule's id, severity, FS.11 category, explanation and the
  MITRE FiGHT / GSMA MoTIF techniques it evidences;
* :class:`Finding`, made from the :class:`Evidence` of one message;
* :class:`Events`: what the per-message stage (:class:`~.rules.Inspector`) tells
  the stateful one (:class:`~._tracker.Tracker`), as columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np


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


#: Kinds of event (the ``kind`` column of :class:`Events`) ...
LOCATE, LOOKUP, DELIVER = 0, 1, 2
#: ... and their flags.
CHECK, TRUSTED, SRI_SM_QUERY, FROM_PARTNER = 1, 2, 4, 8


@dataclass
class Events:
    """What the stateful rules need to know, as columns in time order.

    * ``LOCATE``: a mobility message places ``subscriber`` in the country ``place``.
      ``CHECK``: test the velocity (a message from outside); ``TRUSTED``: remember
      the place afterwards (from the home network, or it raised nothing).
    * ``LOOKUP``: a query about ``subscriber`` (SRI-SM, ATI, PSI, SRI ...) from the
      GT ``place``; flagged ``SRI_SM_QUERY`` and ``FROM_PARTNER`` (a roaming partner).
    * ``DELIVER``: the GT ``place`` delivered a short message (MT- or MO-ForwardSM).

    ``subscriber`` and ``place`` index ``names`` (pseudonyms, countries and GTs,
    never a subscriber identity; -1: none); ``evidence`` indexes ``evidences``
    (-1: none).  Columns cross process boundaries far more cheaply than objects."""

    kind: np.ndarray
    time: np.ndarray
    subscriber: np.ndarray
    place: np.ndarray
    flags: np.ndarray
    evidence: np.ndarray
    names: list[str]
    evidences: list[Evidence]

    def __len__(self) -> int:
        return len(self.kind)


class EventParts:
    """Events gathered in pieces, then put in row order as :class:`Events`."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []
        #: Evidence of the events, indexed by the parts' ``evidence``.
        self.evidences: list[Evidence] = []

    def add(self, rows: np.ndarray, kind: int, time: np.ndarray, subscriber: np.ndarray,
            place: np.ndarray, flags: np.ndarray | int,
            evidence: np.ndarray | None = None) -> None:  # fmt: skip
        """Events of some batch ``rows`` (``subscriber`` and ``place``: object arrays
        of strings or None; ``evidence``: indexes into :attr:`evidences`, or none)."""
        count = len(rows)
        if not count:
            return
        self.parts.append((
            np.asarray(rows, dtype=np.int64),
            np.full(count, kind, dtype=np.uint8),
            np.asarray(time, dtype=np.float64),
            np.asarray(subscriber, dtype=object),
            np.asarray(place, dtype=object),
            np.broadcast_to(np.asarray(flags, dtype=np.uint8), (count,)),
            np.full(count, -1, dtype=np.int32) if evidence is None else evidence,
        ))  # fmt: skip

    def events(self) -> Events:
        if not self.parts:
            empty = np.empty(0, dtype=np.int32)
            return Events(empty.astype(np.uint8), empty.astype(np.float64), empty, empty,
                          empty.astype(np.uint8), empty, [], [])  # fmt: skip
        rows, kind, time, subscriber, place, flags, evidence = (
            np.concatenate([part[column] for part in self.parts]) for column in range(7)
        )
        order = np.argsort(rows, kind="stable")
        index: dict[str | None, int] = {None: -1}
        names: list[str] = []

        def name_ids(values: np.ndarray) -> np.ndarray:
            out = []
            for value in values.tolist():
                found = index.get(value)
                if found is None:
                    found = index[value] = len(names)
                    names.append(value)
                out.append(found)
            return np.array(out, dtype=np.int32)

        return Events(kind[order], time[order], name_ids(subscriber[order]),
                      name_ids(place[order]), flags[order], evidence[order], names,
                      self.evidences)  # fmt: skip
