"""What the screening rules produce and pass between their two stages.

* :data:`RULES`: each rule's id, severity, FS.11 category, explanation and the
  MITRE FiGHT / GSMA MoTIF techniques it evidences;
* :class:`Finding`, made from the :class:`Evidence` of one message;
* :class:`Events`: what the per-message stage (:class:`~.rules.Inspector`) tells
  the stateful one (:class:`~._tracker.Tracker`), as columns.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np
import orjson


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


@dataclass(slots=True)
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
            "source": self.source,
        }

    def __reduce__(self) -> tuple[type[Finding], tuple[Any, ...]]:
        # pickled as its fields in order: findings cross from the workers to the
        # main process, and this is a quarter of the default's cost both ways
        return Finding, _finding_fields(self)


_finding_fields = attrgetter(*(field.name for field in fields(Finding)))


def finding(
    rule_id: str, evidence: Evidence, detail: str, frames: list[int] | None = None
) -> Finding:
    rule = RULES[rule_id]
    frame, time, calling_gt, called_gt, operation, subscriber, origin_realm = evidence
    return Finding(rule.id, rule.severity, rule.category, frames or [frame], time, calling_gt,
                   called_gt, operation, subscriber, detail, rule.techniques,
                   origin_realm)  # fmt: skip


def finding_line(item: Finding) -> bytes:
    """``{"record": "finding", **item.as_dict()}`` as a JSON line, built in one go
    (merging dicts cost a third of the time of writing the line)."""
    line: bytes = orjson.dumps(
        {
            "record": "finding", "rule": item.rule, "severity": item.severity,
            "category": item.category, "frames": item.frames, "time": item.time,
            "calling_gt": item.calling_gt, "called_gt": item.called_gt,
            "origin_realm": item.origin_realm, "operation": item.operation,
            "subscriber": item.subscriber, "detail": item.detail,
            "techniques": item.techniques, "source": item.source,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )  # fmt: skip
    return line


def finding_order(item: Finding) -> tuple[float, int, str]:
    """Where a finding of the stateful rules goes among those one chunk completes:
    by the time and first frame of its message, then rule (the same order however
    the rules' state is split between processes)."""
    return item.time, item.frames[0] if item.frames else -1, item.rule


# -- events: what the stateful rules need to know ------------------------------------


#: Kinds of event (the ``kind`` column of :class:`Events`) ...
LOCATE, LOOKUP, DELIVER = 0, 1, 2
#: ... and their flags.
CHECK, TRUSTED, SRI_SM_QUERY, FROM_PARTNER = 1, 2, 4, 8


class EvidenceColumns(NamedTuple):
    """The :class:`Evidence` of some events, as columns: ``frame`` (-1 for none)
    and ids into the events' ``names`` (-1 for none)."""

    frame: np.ndarray
    calling_gt: np.ndarray
    called_gt: np.ndarray
    operation: np.ndarray
    subscriber: np.ndarray
    origin_realm: np.ndarray


@dataclass
class Events:
    """What the stateful rules need to know, as columns in time order.

    * ``LOCATE``: a mobility message places ``subscriber`` in the country ``place``.
      ``CHECK``: test the velocity (a message from outside); ``TRUSTED``: remember
      the place afterwards (from the home network, or it raised nothing).
    * ``LOOKUP``: a query about ``subscriber`` (SRI-SM, ATI, PSI, SRI ...) from the
      GT ``place``; flagged ``SRI_SM_QUERY`` and ``FROM_PARTNER`` (a roaming partner).
    * ``DELIVER``: the GT ``place`` delivered a short message (MT- or MO-ForwardSM).

    ``subscriber`` is a keyed 64-bit hash of the subscriber's identity
    (:meth:`~telsec.privacy.Pseudonymiser.match_keys`; 0: none), enough to tell
    subscribers apart and nothing more.  ``place`` indexes ``names`` (countries
    and GTs; -1: none).  An event that may raise a finding carries its message's
    evidence in the columns of :class:`EvidenceColumns` (``frame`` -1: none), its
    texts (GTs, operation, the subscriber's pseudonym, realm) in ``names`` too:
    never a subscriber identity.  Columns cross process boundaries far more
    cheaply than objects."""

    kind: np.ndarray
    time: np.ndarray
    subscriber: np.ndarray
    place: np.ndarray
    flags: np.ndarray
    proof: EvidenceColumns
    names: list[str]

    def __len__(self) -> int:
        return len(self.kind)

    def partition(self, parts: int) -> list[Events]:
        """The events split ``parts`` ways, each part in time order, so that each
        stateful rule finds all it needs in one part: mobility by subscriber (the
        velocity test), lookups and deliveries by GT (fan-out, SRI-SM follow-up).
        The part of a GT is a CRC of its digits, the same in every process."""
        if parts <= 1:
            return [self]
        part = (self.subscriber % parts).astype(np.int32)
        by_gt = self.kind != LOCATE
        if by_gt.any():
            places = self.place[by_gt]
            names = self.names
            crc = np.zeros(len(names), dtype=np.int32)  # the part of each GT named
            for at in _used(len(names), places).tolist():
                crc[at] = zlib.crc32(names[at].encode("utf-8", "surrogatepass")) % parts
            part[by_gt] = crc[places]
        return [self.take(part == each) for each in range(parts)]

    def take(self, rows: np.ndarray) -> Events:
        """The events ``rows`` selects (a mask or indexes), with only their names."""
        proof = self.proof
        columns = [column[rows] for column in (self.place, *proof[1:])]
        used = _used(len(self.names), *columns)
        renumber = np.full(len(self.names) + 1, -1, dtype=np.int32)  # [-1]: none stays none
        renumber[used] = np.arange(len(used), dtype=np.int32)
        place, *texts = (renumber[column] for column in columns)
        names = self.names
        return Events(self.kind[rows], self.time[rows], self.subscriber[rows], place,
                      self.flags[rows], EvidenceColumns(proof.frame[rows], *texts),
                      [names[at] for at in used.tolist()])  # fmt: skip

    def evidence(self, index: int) -> Evidence | None:
        """The evidence of event ``index``, if it has any."""
        proof = self.proof
        frame = int(proof.frame[index])
        if frame < 0:
            return None

        def text(column: np.ndarray) -> str | None:
            at = int(column[index])
            return None if at < 0 else self.names[at]

        return Evidence(frame, float(self.time[index]), text(proof.calling_gt),
                        text(proof.called_gt), text(proof.operation), text(proof.subscriber),
                        text(proof.origin_realm))  # fmt: skip


def _used(size: int, *columns: np.ndarray) -> np.ndarray:
    """The ids (in [0, ``size``), -1: none) that ``columns`` hold, ascending: one pass
    over each column (with ``np.unique``, which sorts, splitting the 1M-message
    capture's events two ways took 0.11 s instead of 0.074 s)."""
    present = np.zeros(size + 1, dtype=bool)  # [-1]: none
    for column in columns:
        present[column] = True
    used: np.ndarray = np.flatnonzero(present[:size])
    return used


class EventParts:
    """Events gathered in pieces, then put in row order as :class:`Events`."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []
        #: Texts of places and evidence; :meth:`name` gives their ids.
        self.names: list[str] = []
        self._ids: dict[str, int] = {}

    def name(self, text: str | None) -> int:
        """The id of ``text`` in :attr:`names` (-1 for None)."""
        if text is None:
            return -1
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = len(self.names)
            self.names.append(text)
        return found

    def extend(self, texts: Sequence[str | None]) -> np.ndarray:
        """Ids of ``texts`` (-1 for None) added to :attr:`names` as they are: for
        texts that are new (pseudonyms), without looking for them first."""
        first = len(self.names)
        present = [text for text in texts if text is not None]
        self.names.extend(present)
        ids = np.full(len(texts), -1, dtype=np.int32)
        ids[[text is not None for text in texts]] = np.arange(first, first + len(present))
        return ids

    def add(self, rows: np.ndarray, kind: int, time: np.ndarray, subscriber: np.ndarray,
            place: np.ndarray, flags: np.ndarray | int,
            evidence: EvidenceColumns | None = None) -> None:  # fmt: skip
        """Events of some batch ``rows``: ``subscriber`` keys (0: none), ``place`` ids
        (:meth:`name`), and, for events that may raise a finding, their evidence."""
        count = len(rows)
        if not count:
            return
        if evidence is None:
            none = np.full(count, -1, dtype=np.int32)
            evidence = EvidenceColumns(none.astype(np.int64), none, none, none, none, none)
        self.parts.append((
            np.asarray(rows, dtype=np.int64),
            np.full(count, kind, dtype=np.uint8),
            np.asarray(time, dtype=np.float64),
            np.asarray(subscriber, dtype=np.int64),
            np.asarray(place, dtype=np.int32),
            np.broadcast_to(np.asarray(flags, dtype=np.uint8), (count,)),
            np.asarray(evidence.frame, dtype=np.int64),
            *(np.asarray(column, dtype=np.int32) for column in evidence[1:]),
        ))  # fmt: skip

    def events(self) -> Events:
        columns = len(EvidenceColumns._fields) + 6
        if not self.parts:
            return Events(np.empty(0, np.uint8), np.empty(0, np.float64), np.empty(0, np.int64),
                          np.empty(0, np.int32), np.empty(0, np.uint8),
                          EvidenceColumns(np.empty(0, np.int64),
                                          *(np.empty(0, np.int32) for _ in range(5))),
                          self.names)  # fmt: skip
        rows, *rest = (
            np.concatenate([part[column] for part in self.parts]) for column in range(columns)
        )
        order = np.argsort(rows, kind="stable")
        kind, time, subscriber, place, flags, *proof = (column[order] for column in rest)
        return Events(kind, time, subscriber, place, flags, EvidenceColumns(*proof), self.names)
