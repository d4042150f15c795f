"""Screening rules for MAP (GSMA FS.11) and Diameter (FS.19) signalling.

The rules themselves, their findings and evidence are in :mod:`.findings`.

Screening runs in two stages, so that it can be spread over processes or a
Dask cluster without losing the order the stateful rules depend on:

* :class:`Inspector` looks at a batch of rows (:mod:`.batch`): the stateless rules
  (category 1 and 2, GT lists, point codes, node addresses, Diameter realms),
  per-source activity counts, and the *events* the stateful rules need, as
  columns (:class:`~.findings.Events`). It runs wherever the capture is decoded.
  Events tell subscribers apart by keyed hashes and carry the evidence a later
  finding reports (with the subscriber's pseudonym), never an identity.
* :class:`~._tracker.Tracker` (compiled) takes the events in time order: the
  velocity test on each subscriber's last trusted location, SRI-SM not followed
  by a delivery, and one GT probing many subscribers.  Its state is bounded.

:class:`Screen` chains the two for one process.  Only messages from outside
the home network that carry an operation (MAP Invoke, Diameter request) are
screened.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numpy as np

from telsec.privacy import Pseudonymiser
from telsec.signalling._tracker import Tracker
from telsec.signalling.batch import DIAMETER, MAP, Batch, batch_of
from telsec.signalling.diameter import command_name
from telsec.signalling.findings import (
    CHECK,
    DELIVER,
    FROM_PARTNER,
    LOCATE,
    LOOKUP,
    SRI_SM_QUERY,
    TRUSTED,
    EventParts,
    Events,
    Evidence,
    EvidenceColumns,
    Finding,
    finding,
)
from telsec.signalling.geo import country_of, country_of_mcc
from telsec.signalling.map import operation_name
from telsec.signalling.policy import Operator, Policy

Record = dict[str, Any]


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


# -- per-source activity and findings ----------------------------------------------

SEVERITY_ORDER = {"low": 1, "medium": 2, "high": 3, "critical": 4}

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
        if subscriber:
            self.add_subscribers((subscriber,))

    def add_subscribers(self, keys: Collection[Any]) -> None:
        """Count distinct subscribers (in ``keys``, repeats allowed), exactly up to
        ``MAX_SUBSCRIBERS_PER_SOURCE``; reaching it sets ``subscribers_capped``."""
        known = self.subscribers
        if self.subscribers_capped:
            return
        if len(known) + len(keys) < MAX_SUBSCRIBERS_PER_SOURCE:
            known.update(keys)
            return
        for key in keys:
            known.add(key)
            if len(known) >= MAX_SUBSCRIBERS_PER_SOURCE:
                self.subscribers_capped = True
                return

    def merge(self, other: Activity) -> None:
        self.messages += other.messages
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.categories.update(other.categories)
        self.operations.update(other.operations)
        self.point_codes |= other.point_codes
        self.add_subscribers(other.subscribers)


#: Distinct flagged frames remembered per source; beyond it, frames are added up.
MAX_FLAGGED_FRAMES = 100_000
#: ... and in all (about 60 bytes each).
MAX_TALLIED_FRAMES = 2_000_000


@dataclass
class _SourceTally:
    rules: Counter[str] = field(default_factory=Counter)
    findings: int = 0
    frames: set[int] = field(default_factory=set)
    overflow: int = 0
    severity: int = 0


@dataclass
class Tally:
    """Findings counted per source as they stream past (memory bounded)."""

    sources: dict[str, _SourceTally] = field(default_factory=lambda: defaultdict(_SourceTally))
    total: int = 0
    #: distinct frames remembered, over all sources
    frames: int = 0

    def add(self, item: Finding) -> None:
        self.add_all((item,))

    def add_all(self, items: Iterable[Finding]) -> None:
        sources, severity_of = self.sources, SEVERITY_ORDER  # read once, not per finding
        for item in items:
            self.total += 1
            source = item.source
            if not source:
                continue
            tally = sources[source]
            tally.findings += 1
            tally.rules[item.rule] += 1
            severity = severity_of[item.severity]
            if severity > tally.severity:
                tally.severity = severity
            held = len(tally.frames)
            if held < MAX_FLAGGED_FRAMES and self.frames < MAX_TALLIED_FRAMES:
                tally.frames.update(item.frames)
                self.frames += len(tally.frames) - held
            else:
                tally.overflow += len(item.frames)

    def merge(self, other: Tally) -> None:
        """Add the counts of ``other`` (the tally of another part of the findings)."""
        self.total += other.total
        sources = self.sources
        for source, more in other.sources.items():
            tally = sources[source]
            tally.findings += more.findings
            tally.rules.update(more.rules)
            tally.severity = max(tally.severity, more.severity)
            tally.overflow += more.overflow
            held = len(tally.frames)
            if held < MAX_FLAGGED_FRAMES and self.frames < MAX_TALLIED_FRAMES:
                tally.frames |= more.frames
                self.frames += len(tally.frames) - held
            else:
                tally.overflow += len(more.frames)


#: Sources summarised one by one (about 1 KB each); a capture of more (spoofed
#: calling GTs, one per message) keeps those with findings first.
MAX_SOURCES = 100_000


@dataclass
class Untracked:
    """What the sources dropped from the per-source summary sent, in all."""

    sources: int = 0
    messages: int = 0


def bound_sources(activity: dict[str, Activity], tally: Tally, untracked: Untracked) -> bool:
    """Keep at most ``MAX_SOURCES`` sources.  Past it, sources without findings go,
    the fewest messages first, down to nine tenths of the bound (so that this runs
    once in a while, not for every new source); sources with findings go only if
    they alone are more than the bound, with their findings counts (``tally.total``
    keeps counting them).  True if any was dropped."""
    if len(activity) <= MAX_SOURCES and len(tally.sources) <= MAX_SOURCES:
        return False
    keep = MAX_SOURCES * 9 // 10
    flagged = tally.sources
    order = sorted(activity.values(), key=lambda a: (a.source in flagged, a.messages, a.source))
    too_many_flagged = sum(1 for source in flagged if source in activity) > MAX_SOURCES
    for dropped in order:
        if len(activity) <= keep or (dropped.source in flagged and not too_many_flagged):
            break
        del activity[dropped.source]
        untracked.sources += 1
        untracked.messages += dropped.messages
    for source in [s for s in flagged if s not in activity]:
        tally.frames -= len(flagged.pop(source).frames)  # no longer summarised
    return True


def merge_activity(into: dict[str, Activity], more: dict[str, Activity]) -> None:
    for source, activity in more.items():
        known = into.get(source)
        if known is None:
            into[source] = activity
        else:
            known.merge(activity)


# -- stage 1: a batch of rows at a time ---------------------------------------------

#: What each MAP operation code and S6a/S6d command code is, as tables (codes
#: outside them: nothing), looked up once per row instead of a set-membership
#: test per question.
_LOOKUP, _DELIVERY, _NODE_IN_SM = 1, 2, 4  # MAP operation codes
_FROM_HOME, _FROM_VISITED, _LOCATION = 1, 2, 4  # Diameter command codes


def _code_table(sets: dict[int, set[int]], size: int, dtype: Any) -> np.ndarray:
    table = np.zeros(size, dtype=dtype)
    for value, codes in sets.items():
        table[sorted(codes)] |= value
    return table


_CATEGORY_OF = _code_table({1: CAT1, 2: CAT2, 3: CAT3}, 256, np.int8)
_KIND_OF = _code_table(
    {_LOOKUP: LOOKUPS, _DELIVERY: {MT_FSM, MO_FSM}, _NODE_IN_SM: {SRI_SM, MT_FSM}}, 256, np.uint8
)
_COMMAND_OF = _code_table(
    {
        _FROM_HOME: DIAMETER_FROM_HOME,
        _FROM_VISITED: DIAMETER_FROM_VISITED,
        _LOCATION: DIAMETER_LOCATION,
    },
    512,
    np.uint8,
)


def _per_code(table: np.ndarray, code: np.ndarray) -> np.ndarray:
    """``table``'s entry for each code (0 for codes outside it)."""
    inside = (code >= 0) & (code < len(table))
    return np.where(inside, table[np.where(inside, code, 0)], 0).astype(table.dtype)


_CATEGORY_NAMES = ("other", "cat1", "cat2", "cat3")


def _factorize(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``ids`` (each in [-1, size)), ascending, and each row's
    index among them: ``np.unique(ids, return_inverse=True)`` without sorting."""
    shifted = ids.astype(np.intp) + 1
    present = np.zeros(size + 1, dtype=bool)
    present[shifted] = True
    slots = np.flatnonzero(present)
    rank = np.cumsum(present, dtype=np.intp) - 1
    return slots - 1, rank[shifted]


#: Codes below this are told apart by counting, not sorting.
_SMALL_CODES = 1 << 16


class _Distinct:
    """A column's distinct values, so that anything of a value is computed once per
    batch: the distinct strings of a column of string ids (None for -1), or the
    distinct codes of a column of codes."""

    def __init__(self, column: np.ndarray, strings: list[str] | None = None) -> None:
        self._inverse: np.ndarray
        if strings is None:
            if len(column) and column.min() >= -1 and column.max() < _SMALL_CODES:
                distinct, self._inverse = _factorize(column, int(column.max()) + 1)
            else:
                distinct, self._inverse = np.unique(column, return_inverse=True)
            self.values: list[Any] = distinct.tolist()
        else:
            distinct, self._inverse = _factorize(column, len(strings))
            self.values = [strings[i] if i >= 0 else None for i in distinct.tolist()]

    def map(self, function: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
        """``function`` of each row's value."""
        return self.spread([function(value) for value in self.values], dtype)

    def spread(self, results: list[Any], dtype: Any = object) -> np.ndarray:
        """Each row's entry of ``results`` (one per distinct value, in :attr:`values` order)."""
        table = np.empty(len(self.values), dtype=dtype)
        table[:] = results
        spread: np.ndarray = table[self._inverse]
        return spread


def _first_seen(group: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (group, value) pairs, in the order of their first row, with the
    number of rows of each: ``(rows where each pair first appears, counts)``.
    Groups are below 2**31, values 32-bit codes."""
    pair = group.astype(np.int64) << 32 | (value.astype(np.int64) & 0xFFFFFFFF)
    _, first, counts = np.unique(pair, return_index=True, return_counts=True)
    by_row = np.argsort(first)  # rows are distinct
    return first[by_row], counts[by_row]


class _Rows:
    """Some rows of a batch, read a column at a time: indexing the structured
    array itself would copy every field of every row."""

    def __init__(self, rows: np.ndarray, index: np.ndarray) -> None:
        self._rows, self._index = rows, index
        self._columns: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, name: str) -> np.ndarray:
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = self._rows[name][self._index]
        return column


@dataclass
class Inspector:
    """Stateless rules, activity counts and events, a batch of rows at a time."""

    policy: Policy
    pseudonym: Pseudonymiser
    activity: dict[str, Activity] = field(default_factory=dict)

    def __post_init__(self) -> None:
        policy = self.policy
        # operators by index (-1: none), so that rows compare them as integers
        self._operators: tuple[Operator, ...] = (policy.home, *policy.partners)
        index = {id(op): number for number, op in enumerate(self._operators)}

        def number(op: Operator | None) -> int:
            return -1 if op is None else index[id(op)]

        # the same few GTs, realms and IMSI ranges come back batch after batch
        self._home_gt = lru_cache(maxsize=65536)(policy.is_home_gt)
        self._leased = lru_cache(maxsize=65536)(policy.is_leased)
        self._home_realm = lru_cache(maxsize=4096)(policy.is_home_realm)
        self._gt_operator = lru_cache(maxsize=65536)(lambda gt: number(policy.operator_of_gt(gt)))
        self._realm_operator = lru_cache(maxsize=4096)(
            lambda realm: number(policy.operator_of_realm(realm))
        )
        # an IMSI's network is in its first 5 or 6 digits (MCC, MNC)
        plmn_operator = lru_cache(maxsize=4096)(lambda p: number(policy.operator_of_imsi(p)))
        self._imsi_operator: Callable[[str | None], int] = lambda imsi: (
            plmn_operator(imsi[:6]) if imsi else -1
        )

        # the point codes each operator's GTs may come from, as (operator << 32 | code)
        self._lists_point_codes = np.array([bool(op.point_codes) for op in self._operators])
        self._point_codes = np.array(
            sorted(number << 32 | code for number, op in enumerate(self._operators)
                   for code in op.point_codes), dtype=np.int64,
        )  # fmt: skip

    def _operator(self, number: int) -> Operator | None:
        return None if number < 0 else self._operators[number]

    def inspect(self, record: Record) -> tuple[list[Finding], Events]:
        """The findings one record raises by itself, and the event it adds, if any."""
        return self.inspect_batch(batch_of([record]))

    def inspect_batch(self, batch: Batch) -> tuple[list[Finding], Events]:
        """The findings the rows raise by themselves, and their events, in row order.

        Only operations are screened (MAP Invokes, Diameter requests of S6a/S6d)."""
        rows = batch.rows
        operation = rows["operation"] == 1
        protocol = rows["protocol"]
        found: list[tuple[int, Finding]] = []
        events = EventParts()
        map_rows = np.flatnonzero(operation & (protocol == MAP))
        diameter_rows = np.flatnonzero(
            operation & (protocol == DIAMETER) & (_per_code(_COMMAND_OF, rows["command_code"]) != 0)
        )
        if len(map_rows):
            self._map(batch, map_rows, found, events)
        if len(diameter_rows):
            self._diameter(batch, diameter_rows, found, events)
            if len(map_rows):  # back into row order (stable: a row's findings keep theirs)
                found.sort(key=itemgetter(0))
        return [f for _, f in found], events.events()

    def _pseudonym_ids(self, kind: str, keys: np.ndarray, strings: list[str],
                       identity: np.ndarray, events: EventParts) -> np.ndarray:  # fmt: skip
        """The ids in ``events.names`` of the pseudonyms of some identities (their
        match ``keys``; -1: none)."""
        pseudonyms, index = self.pseudonym.pseudonyms_of_keys(kind, keys, strings, identity)
        ids: np.ndarray = np.append(events.extend(pseudonyms), np.int32(-1))  # -1: none
        each: np.ndarray = ids[index]
        return each

    # -- activity ---------------------------------------------------------------------

    def _count(self, kind: str, strings: list[str], source: np.ndarray, time: np.ndarray,
               category: np.ndarray, code: np.ndarray, name_of: Callable[[int], str | None],
               opc: np.ndarray, subscriber: np.ndarray) -> None:  # fmt: skip
        """Add rows to the activity of their sources (ids of non-empty strings):
        ``code`` of their operation, ``subscriber`` keys (0: none)."""
        if not len(source):
            return
        distinct, inverse = _factorize(source, len(strings))
        first = np.full(len(distinct), np.inf)
        last = np.full(len(distinct), -np.inf)
        np.minimum.at(first, inverse, time)
        np.maximum.at(last, inverse, time)
        messages = np.bincount(inverse, minlength=len(distinct))
        per_category = np.bincount(inverse * 4 + category, minlength=4 * len(distinct)).reshape(
            -1, 4
        )
        chunk: list[Activity] = []
        for number, source_id in enumerate(distinct.tolist()):
            activity = Activity(strings[source_id], kind, float(first[number]),
                                float(last[number]), int(messages[number]))  # fmt: skip
            for code_number, count in enumerate(per_category[number].tolist()):
                if count:
                    activity.categories[_CATEGORY_NAMES[code_number]] = count
            chunk.append(activity)
        # operations counted in the order they first appear (ties of most_common)
        at, counts = _first_seen(inverse, code)
        codes = code[at].tolist()
        names = {value: name_of(value) or "?" for value in set(codes)}
        for number, value, count in zip(inverse[at].tolist(), codes, counts.tolist(), strict=True):
            chunk[number].operations[names[value]] += count
        has_opc = opc >= 0  # point codes are 14 or 24 bits
        for pair in np.unique(inverse[has_opc].astype(np.int64) << 32 | opc[has_opc]).tolist():
            chunk[pair >> 32].point_codes.add(pair & 0xFFFFFFFF)
        # distinct subscribers of each source (each source's rows in row order)
        with_subscriber = np.flatnonzero(subscriber != 0)
        by_source = with_subscriber[np.argsort(inverse[with_subscriber], kind="stable")]
        bounds = np.flatnonzero(np.diff(inverse[by_source])) + 1
        for piece in np.split(by_source, bounds) if len(by_source) else ():
            chunk[int(inverse[piece[0]])].add_subscribers(subscriber[piece].tolist())
        merge_activity(self.activity, {activity.source: activity for activity in chunk})

    # -- MAP (FS.11) ----------------------------------------------------------------------

    def _map(self, batch: Batch, index: np.ndarray, found: list[tuple[int, Finding]],
             events: EventParts) -> None:  # fmt: skip
        rows = _Rows(batch.rows, index)
        strings = batch.strings
        calling = rows["calling_gt"]
        opcode = rows["opcode"]
        imsi, msisdn = rows["imsi"], rows["msisdn"]
        time = rows["time"]
        category = _per_code(_CATEGORY_OF, opcode)
        kind = _per_code(_KIND_OF, opcode)
        looks_up = (kind & _LOOKUP) != 0
        callings = _Distinct(calling, strings)
        home = callings.map(self._home_gt, bool)
        imsi_key = self.pseudonym.match_keys("imsi", strings, imsi)
        msisdn_key = self.pseudonym.match_keys("msisdn", strings, msisdn)

        # where a mobility message puts the subscriber: its VLR's (or the sender's) country
        vlr = rows["vlr_number"]
        country = _Distinct(np.where(vlr >= 0, vlr, calling), strings).map(
            lambda gt: events.name(country_of(gt)), np.int32
        )
        located = (category == 3) & (imsi >= 0) & (country >= 0)

        # to the home network's own GTs: only where its subscribers are
        moved = home & located
        events.add(index[moved], LOCATE, time[moved], imsi_key[moved], country[moved], TRUSTED)

        # from elsewhere: counted, then screened
        outside = ~home
        subscriber = np.where(imsi_key != 0, imsi_key, msisdn_key)
        named = callings.map(bool, bool)  # a GT with digits
        counted = np.flatnonzero(outside & named)
        self._count("gt", strings, calling[counted], time[counted], category[counted],
                    opcode[counted], operation_name, rows["opc"][counted],
                    subscriber[counted])  # fmt: skip
        allowed = callings.map(lambda gt: gt in self.policy.allow_gts, bool)
        screened = outside & ~allowed
        if not screened.any():
            return
        operator = callings.map(self._gt_operator, np.int64)
        opc = rows["opc"]
        denied = callings.map(lambda gt: gt in self.policy.deny_gts, bool)
        leased = callings.map(self._leased, bool)
        point_code = self._unexpected_point_code(operator, opc)
        # the subscriber's network, where a rule asks: category 2, and lookups by a partner
        asked = (imsi >= 0) & ((category == 2) | ((operator >= 0) & looks_up))
        home_operator = np.full(len(rows), -1, dtype=np.int64)
        home_operator[asked] = _Distinct(imsi[asked], strings).map(self._imsi_operator, np.int64)
        cat2 = (category == 2) & (imsi >= 0) & (home_operator != operator)
        no_agreement = (category == 3) & (operator < 0)
        node_in_ul = np.where(vlr >= 0, vlr, rows["msc_number"])
        node_in_sm = np.where((kind & _NODE_IN_SM) != 0, rows["service_centre"], -1)
        node = np.where(opcode == UL, node_in_ul, node_in_sm)
        mismatch = self._node_mismatch(strings, node, calling, named)
        raised = denied | leased | point_code | (category == 1) | cat2 | no_agreement | mismatch
        # only an unremarkable message moves the subscriber: a hijack attempt must
        # not make the subscriber's real network look implausible
        located &= screened
        # a network asking about its own subscriber is not probing
        key = np.where(msisdn_key != 0, msisdn_key, subscriber)
        own = (operator >= 0) & (home_operator == operator)
        lookup = screened & looks_up & (key != 0) & named & ~own
        delivery = screened & ((kind & _DELIVERY) != 0) & named & (imsi >= 0)

        # evidence of the messages that raise a finding now or may raise one later
        proven = np.flatnonzero(screened & (raised | located | lookup))
        pseudonym = np.full(len(rows), -1, dtype=np.int32)
        by_imsi = proven[imsi_key[proven] != 0]
        by_msisdn = proven[imsi_key[proven] == 0]
        pseudonym[by_imsi] = self._pseudonym_ids("imsi", imsi_key[by_imsi], strings, imsi[by_imsi],
                                                 events)  # fmt: skip
        pseudonym[by_msisdn] = self._pseudonym_ids("msisdn", msisdn_key[by_msisdn], strings,
                                                   msisdn[by_msisdn], events)  # fmt: skip
        calling_name = callings.map(events.name, np.int32)
        called_name = np.full(len(rows), -1, dtype=np.int32)
        called_name[proven] = _Distinct(rows["called_gt"][proven], strings).map(
            events.name, np.int32
        )
        operation_names, operation = _names_of(opcode, operation_name, events)
        proof = EvidenceColumns(rows["frame"], calling_name, called_name, operation, pseudonym,
                                np.full(len(rows), -1, dtype=np.int32))  # fmt: skip

        # the findings of each message by itself (the loop reads plain lists:
        # indexing NumPy arrays one element at a time is slow)
        work = np.flatnonzero(screened & raised)
        columns = (
            index, rows["frame"], time, calling, rows["called_gt"], operation_names, pseudonym,
            operator, home_operator, opc, node,
        )  # fmt: skip
        rules = (denied, leased, point_code, category == 1, cat2, no_agreement, mismatch)
        hits = np.stack([hit[work] for hit in rules], axis=1).tolist()
        names = events.names
        for (at, frame, when, gt_id, called_id, name, who, op_number, home_number, code,
             node_id), row_hits in zip(
            zip(*(column[work].tolist() for column in columns), strict=True), hits, strict=True
        ):  # fmt: skip
            gt = _text(strings, gt_id)
            evidence = Evidence(frame, when, gt, _text(strings, called_id), name, _text(names, who))
            out = self._map_findings(evidence, gt, name, row_hits, op_number, home_number, code,
                                     _text(strings, node_id))  # fmt: skip
            found.extend((at, f) for f in out)

        trusted = np.where(raised, 0, TRUSTED)
        events.add(index[located], LOCATE, time[located], imsi_key[located], country[located],
                   (CHECK | trusted[located]), _rows_of(proof, located))  # fmt: skip
        sri_sm = np.where(opcode == SRI_SM, SRI_SM_QUERY, 0)
        partner = np.where(operator >= 0, FROM_PARTNER, 0)
        events.add(index[lookup], LOOKUP, time[lookup], key[lookup], calling_name[lookup],
                   (sri_sm | partner)[lookup], _rows_of(proof, lookup))  # fmt: skip
        events.add(index[delivery], DELIVER, time[delivery], np.zeros(int(delivery.sum())),
                   calling_name[delivery], 0)  # fmt: skip

    def _map_findings(self, evidence: Evidence, gt: str | None, name: str, hits: list[bool],
                      op_number: int, home_number: int, code: int,
                      node: str | None) -> list[Finding]:  # fmt: skip
        """The stateless MAP findings of one message, in rule order."""
        denied, leased, point_code, cat1, cat2, no_agreement, mismatch = hits
        out: list[Finding] = []
        if not any(hits):
            return out
        op = self._operator(op_number)
        if denied:
            out.append(finding("SIG-GT-DENY", evidence, f"GT {gt} is denied"))
        if leased:
            out.append(finding("SIG-GT-LEASED", evidence, f"GT {gt} is in a leased range"))
        if point_code:
            assert op is not None
            out.append(finding(
                "SIG-GT-POINT-CODE", evidence,
                f"GT of {op.name} from point code {code if code >= 0 else None}, "
                f"expected {', '.join(map(str, op.point_codes))}",
            ))  # fmt: skip
        if cat1:
            out.append(finding("SIG-CAT1", evidence, f"{name} from {gt}"))
        elif cat2:
            home_op = self._operator(home_number)
            out.append(finding(
                "SIG-CAT2", evidence,
                f"{name} for a subscriber of {home_op.name if home_op else 'an unknown network'} "
                f"from {op.name if op else 'an unknown network'}",
            ))  # fmt: skip
        if no_agreement:
            out.append(finding("SIG-NO-AGREEMENT", evidence, f"{name} from {gt}"))
        if mismatch:
            out.append(finding(
                "SIG-NODE-MISMATCH", evidence, f"SCCP calling GT {gt}, MAP node address {node}"
            ))  # fmt: skip
        return out

    def _unexpected_point_code(self, operator: np.ndarray, opc: np.ndarray) -> np.ndarray:
        """The GT's operator lists its point codes, and the message came from another."""
        out = np.zeros(len(opc), dtype=bool)
        known = np.flatnonzero(operator >= 0)
        rows = known[self._lists_point_codes[operator[known]]]
        pairs = operator[rows] << 32 | (opc[rows] & 0xFFFFFFFF)  # opc -1: none, listed by nobody
        out[rows] = ~np.isin(pairs, self._point_codes)
        return out

    def _node_mismatch(self, strings: list[str], node: np.ndarray, calling: np.ndarray,
                       named: np.ndarray) -> np.ndarray:  # fmt: skip
        """The MAP node address belongs to another network than the calling GT."""
        candidates = (node >= 0) & named & (node != calling)
        out = np.zeros(len(node), dtype=bool)
        if candidates.any():
            pairs = np.stack([node[candidates], calling[candidates]], axis=1)
            distinct, inverse = np.unique(pairs, axis=0, return_inverse=True)
            verdicts = np.array([self._different_network(strings[n], strings[c])
                                 for n, c in distinct.tolist()], dtype=bool)  # fmt: skip
            out[candidates] = verdicts[inverse.reshape(-1)]
        return out

    def _different_network(self, node: str, calling: str) -> bool:
        node_operator = self._gt_operator(node)
        operator = self._gt_operator(calling)
        same = (node_operator == operator and operator >= 0) or (
            operator < 0 and country_of(node) == country_of(calling) and node[:6] == calling[:6]
        )
        return not same

    # -- Diameter S6a/S6d (FS.19) ------------------------------------------------------

    def _diameter(self, batch: Batch, index: np.ndarray, found: list[tuple[int, Finding]],
                  events: EventParts) -> None:  # fmt: skip
        rows = _Rows(batch.rows, index)
        strings = batch.strings
        realm, imsi, visited = rows["origin_realm"], rows["imsi"], rows["visited_plmn"]
        command, time = rows["command_code"], rows["time"]
        realms, imsis, visiteds = (_Distinct(c, strings) for c in (realm, imsi, visited))
        home = realms.map(self._home_realm, bool)
        imsi_key = self.pseudonym.match_keys("imsi", strings, imsi)
        kind = _per_code(_COMMAND_OF, command)
        from_home = (kind & _FROM_HOME) != 0
        category = np.where(from_home, 2, 3)
        counted = np.flatnonzero(~home & realms.map(bool, bool))
        self._count("realm", strings, realm[counted], time[counted], category[counted],
                    command[counted], _request_name, np.full(len(counted), -1, dtype=np.int64),
                    imsi_key[counted])  # fmt: skip

        # where ULR and AIR put the subscriber: the country of the visited PLMN
        has_imsi, has_visited = imsis.map(bool, bool), visiteds.map(bool, bool)
        country = visiteds.map(
            lambda plmn: events.name(country_of_mcc(plmn[:3]) if plmn else None), np.int32
        )
        located = ((kind & _LOCATION) != 0) & has_imsi & has_visited & (country >= 0)
        moved = home & located
        events.add(index[moved], LOCATE, time[moved], imsi_key[moved], country[moved], TRUSTED)

        # from elsewhere
        outside = ~home
        operator = realms.map(self._realm_operator, np.int64)
        home_operator = imsis.map(self._imsi_operator, np.int64)
        # IDR, CLR, DSR only from the HSS of the subscriber's home network
        home_realm = outside & from_home & has_imsi
        genuine = np.where(home_operator >= 0, operator == home_operator, False)
        unknown = np.flatnonzero(home_realm & (home_operator < 0))
        if len(unknown):
            pairs = _Distinct(realm[unknown].astype(np.int64) << 32 | imsi[unknown])
            genuine[unknown] = pairs.map(
                lambda pair: _imsi_of_realm(strings[pair & 0xFFFFFFFF], _text(strings, pair >> 32)),
                bool,
            )
        home_realm &= ~genuine
        # ULR, AIR, PUR, NOR from a roaming partner, which names itself as the visited PLMN
        from_visited = outside & ((kind & _FROM_VISITED) != 0)
        no_agreement = from_visited & (operator < 0)
        claims = np.flatnonzero(from_visited & ((kind & _LOCATION) != 0) & has_visited)
        visited_plmn = np.zeros(len(rows), dtype=bool)
        if len(claims):
            pairs = _Distinct(realm[claims].astype(np.int64) << 32 | visited[claims])
            visited_plmn[claims] = pairs.map(
                lambda pair: self._foreign_plmn(
                    int(pair >> 32), strings, strings[pair & 0xFFFFFFFF]
                ),
                bool,
            )
        raised = home_realm | no_agreement | visited_plmn
        located &= outside & (imsi_key != 0)

        proven = np.flatnonzero(outside & (raised | located))
        pseudonym = np.full(len(rows), -1, dtype=np.int32)
        pseudonym[proven] = self._pseudonym_ids("imsi", imsi_key[proven], strings, imsi[proven],
                                                events)  # fmt: skip
        names, operation = _names_of(command, _request_name, events)
        realm_name = realms.map(events.name, np.int32)
        none = np.full(len(rows), -1, dtype=np.int32)
        proof = EvidenceColumns(rows["frame"], none, none, operation, pseudonym, realm_name)

        work = np.flatnonzero(raised)
        columns = (index, rows["frame"], time, names, pseudonym, realm, imsi, visited,
                   home_operator, home_realm, no_agreement, visited_plmn)  # fmt: skip
        for (at, frame, when, name, who, realm_id, imsi_id, visited_id, home_number,
             wrong_home, no_partner, wrong_plmn) in zip(
            *(column[work].tolist() for column in columns), strict=True
        ):  # fmt: skip
            text = _text(strings, realm_id)
            evidence = Evidence(frame, when, None, None, name, _text(events.names, who), text)
            if wrong_home:
                home_op = self._operator(home_number)
                network = home_op.name if home_op else strings[imsi_id][:5]
                found.append((at, finding(
                    "SIG-DIA-HOME-REALM", evidence,
                    f"{name} for a subscriber of {network} from realm {text}",
                )))  # fmt: skip
            if no_partner:
                found.append((at, finding("SIG-DIA-NO-AGREEMENT", evidence,
                                          f"{name} from realm {text}")))  # fmt: skip
            if wrong_plmn:
                found.append((at, finding(
                    "SIG-DIA-VISITED-PLMN", evidence,
                    f"{name} from realm {text} claims visited PLMN {strings[visited_id]}",
                )))  # fmt: skip
        flags = CHECK | np.where(raised, 0, TRUSTED)
        events.add(index[located], LOCATE, time[located], imsi_key[located], country[located],
                   flags[located], _rows_of(proof, located))  # fmt: skip

    def _foreign_plmn(self, realm_id: int, strings: list[str], visited: str) -> bool:
        """A Visited-PLMN-Id that is not the network of the realm that sent it."""
        realm = _text(strings, realm_id)
        operator = self._operator(self._realm_operator(realm))
        sender_plmn = realm_plmn(realm)
        plmns = operator.plmns if operator else ((sender_plmn,) if sender_plmn else ())
        return bool(plmns) and visited not in plmns


def _names_of(codes: np.ndarray, name_of: Callable[[int], str | None],
              events: EventParts) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each row's operation name, and its id in ``events.names``."""
    distinct = _Distinct(codes)
    texts = [name_of(code) for code in distinct.values]
    return distinct.spread(texts), distinct.spread([events.name(t) for t in texts], np.int32)


def _request_name(code: int) -> str:
    return command_name(code, True)


def _imsi_of_realm(imsi: str, realm: str | None) -> bool:
    """The IMSI belongs to the PLMN the realm names (for networks not in the policy)."""
    plmn = realm_plmn(realm)
    return plmn is not None and imsi_in_plmn(imsi, plmn)


def _rows_of(proof: EvidenceColumns, rows: np.ndarray) -> EvidenceColumns:
    return EvidenceColumns(*(column[rows] for column in proof))


def _text(strings: list[str], index: int) -> str | None:
    return None if index < 0 else strings[index]


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
        found, events = self.inspector.inspect(record)
        found.extend(self.tracker.apply(events))
        return found

    def finish(self) -> list[Finding]:
        return self.tracker.finish()


def screen(records: Iterable[Record], engine: Screen) -> Iterator[Finding]:
    """Findings over records in time order (read ``engine``'s counters after)."""
    for record in records:
        yield from engine.feed(record)
    yield from engine.finish()
