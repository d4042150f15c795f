# cython: language_level=3, cdivision=True
"""The stateful screening rules, compiled: they see every event of a scan in
time order, or every event of their part of it (one subscriber's mobility is in
one part, one GT's lookups and deliveries in one part: ``Events.partition``).

* the velocity test (FS.11/FS.19 category 3): a subscriber located too far from
  their last trusted location too soon;
* an SRI-SM not followed by a delivery from the same GT within the follow-up
  window;
* one GT looking up many distinct subscribers within the fan-out window.

Events come as columns (:class:`~telsec.signalling.findings.Events`).  State is
bounded: at most ``max_subscribers`` locations (the least recently moved go
first), and the per-GT tables drop what has expired beyond 100,000 GTs.
"""

from collections import deque

from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc

from telsec.signalling.findings import (
    CHECK,
    FROM_PARTNER,
    LOCATE,
    LOOKUP,
    SRI_SM_QUERY,
    RULES,
    TRUSTED,
    Finding,
    finding,
)
from telsec.signalling.geo import distance_km

#: Beyond this many GTs, the tables of deliveries, lookups and probes drop what has expired.
cdef Py_ssize_t PRUNE_AT = 100_000
#: SRI-SMs awaiting judgement at most; beyond, the oldest is left undecided, as at
#: the end of a capture (time that does not advance, zeroed timestamps, would
#: otherwise keep every SRI-SM of the capture waiting).
cdef Py_ssize_t MAX_PENDING = 1_000_000
#: A GT's lookups kept for the fan-out rule at most (the oldest go first).
cdef Py_ssize_t MAX_RECENT = 100_000
#: GTs each table keeps at most, live or not (the least recently active go first).
cdef Py_ssize_t MAX_GTS = 1_000_000


cdef class _Pruning:
    """When a table of GTs is pruned: past ``PRUNE_AT`` entries (or ``most``, if
    lower), once it has doubled since it was last pruned or ``horizon`` seconds of
    capture have passed (entries may have expired since), and whenever it holds
    more than ``most``.  Pruning whenever it was past the bound rebuilt a table of
    live entries at every event: a capture with more GTs active at once than the
    bound made the screen quadratic."""

    cdef Py_ssize_t floor
    cdef Py_ssize_t most
    cdef Py_ssize_t size
    cdef double time
    cdef double horizon

    def __cinit__(self, double horizon, Py_ssize_t most):
        self.floor = min(PRUNE_AT, most)
        self.most = most
        self.size = self.floor
        self.time = float("-inf")
        self.horizon = horizon

    cdef inline bint due(self, Py_ssize_t length, double now):
        return length > self.size or (length > self.floor and now >= self.time)

    cdef inline void done(self, Py_ssize_t length, double now):
        self.size = min(max(self.floor, 2 * length), self.most)
        self.time = now + self.horizon


cdef dict _newest(dict table, Py_ssize_t most, object when):
    """``table`` itself if it holds at most ``most`` entries; else nine tenths of
    that many, those whose ``when(value)`` is latest (what was active last)."""
    if len(table) <= most:
        return table
    keep = sorted(table.items(), key=lambda item: when(item[1]), reverse=True)
    return dict(keep[: most * 9 // 10])


cdef inline object _name(list names, int at):
    return None if at < 0 else names[at]


# -- where subscribers are: a bounded table, least recently moved forgotten first --------


cdef struct _Located:
    int64_t subscriber
    double time
    int32_t country
    #: neighbours in the order of moves (pool indexes, -1: none)
    int32_t older
    int32_t newer


cdef class _Locations:
    """Subscriber key -> (time, country id) of the last trusted location, in C: an
    open-addressing table of indexes into a pool of entries that are also linked
    in the order they last moved.  Beyond ``limit`` entries the least recently
    moved is forgotten (what an ``OrderedDict`` with ``move_to_end`` and
    ``popitem(last=False)`` would do, without a Python object per subscriber)."""

    cdef _Located* pool
    cdef int32_t* table
    cdef Py_ssize_t pool_size
    cdef Py_ssize_t table_size
    cdef readonly Py_ssize_t count
    cdef Py_ssize_t limit
    cdef int32_t oldest
    cdef int32_t newest

    def __cinit__(self, Py_ssize_t limit):
        self.limit = limit
        self.count = 0
        self.oldest = self.newest = -1
        self.pool_size = 1024
        self.table_size = 2048
        self.pool = <_Located*>malloc(self.pool_size * sizeof(_Located))
        self.table = <int32_t*>malloc(self.table_size * sizeof(int32_t))
        if self.pool == NULL or self.table == NULL:
            raise MemoryError()
        for i in range(self.table_size):
            self.table[i] = -1

    def __dealloc__(self):
        free(self.pool)
        free(self.table)

    cdef inline Py_ssize_t _home(self, int64_t subscriber) noexcept:
        # the keys are already keyed hashes: mix them a little more and take the top bits
        return <Py_ssize_t>(((<uint64_t>subscriber) * <uint64_t>0x9E3779B97F4A7C15) >> 32) & (
            self.table_size - 1)

    cdef Py_ssize_t _slot(self, int64_t subscriber) noexcept:
        """The slot holding ``subscriber``, or the empty slot where it would go."""
        cdef Py_ssize_t slot = self._home(subscriber)
        cdef int32_t at
        while True:
            at = self.table[slot]
            if at < 0 or self.pool[at].subscriber == subscriber:
                return slot
            slot = (slot + 1) & (self.table_size - 1)

    cdef void _grow_table(self) except *:
        cdef Py_ssize_t i, slot
        cdef int32_t at
        free(self.table)
        self.table_size *= 2
        self.table = <int32_t*>malloc(self.table_size * sizeof(int32_t))
        if self.table == NULL:
            raise MemoryError()
        for i in range(self.table_size):
            self.table[i] = -1
        at = self.oldest
        while at >= 0:
            self.table[self._slot(self.pool[at].subscriber)] = at
            at = self.pool[at].newer

    cdef void _remove_slot(self, Py_ssize_t slot) noexcept:
        """Empty ``slot``, moving back the entries after it that probed past it."""
        cdef Py_ssize_t mask = self.table_size - 1, hole = slot, nxt = slot, home
        cdef int32_t at
        while True:
            nxt = (nxt + 1) & mask
            at = self.table[nxt]
            if at < 0:
                break
            home = self._home(self.pool[at].subscriber)
            # may the entry at nxt move into the hole? only if its home is not in (hole, nxt]
            if (nxt > hole and (home <= hole or home > nxt)) or (
                    nxt < hole and (home <= hole and home > nxt)):
                self.table[hole] = at
                hole = nxt
        self.table[hole] = -1

    cdef inline void _unlink(self, int32_t at) noexcept:
        cdef _Located* entry = &self.pool[at]
        if entry.older >= 0:
            self.pool[entry.older].newer = entry.newer
        else:
            self.oldest = entry.newer
        if entry.newer >= 0:
            self.pool[entry.newer].older = entry.older
        else:
            self.newest = entry.older

    cdef inline void _link_newest(self, int32_t at) noexcept:
        self.pool[at].older = self.newest
        self.pool[at].newer = -1
        if self.newest >= 0:
            self.pool[self.newest].newer = at
        else:
            self.oldest = at
        self.newest = at

    cdef void remember(self, int64_t subscriber, double time, int32_t country) except *:
        cdef Py_ssize_t slot
        cdef int32_t at
        if self.limit <= 0:
            return
        slot = self._slot(subscriber)
        at = self.table[slot]
        if at >= 0:
            self._unlink(at)
        else:
            if self.count >= self.limit:  # forget the least recently moved, reuse its entry
                at = self.oldest
                self._unlink(at)
                self._remove_slot(self._slot(self.pool[at].subscriber))
                self.count -= 1
            else:
                if self.count == self.pool_size:
                    self._grow_pool()
                at = <int32_t>self.count
            self.pool[at].subscriber = subscriber
            self.count += 1
            if 2 * self.count > self.table_size:
                self._grow_table()  # puts every linked entry back: this one is not linked yet
            self.table[self._slot(subscriber)] = at
        self.pool[at].time = time
        self.pool[at].country = country
        self._link_newest(at)

    cdef void _grow_pool(self) except *:
        cdef _Located* bigger = <_Located*>realloc(self.pool, 2 * self.pool_size * sizeof(_Located))
        if bigger == NULL:
            raise MemoryError()
        self.pool = bigger
        self.pool_size *= 2

    cdef bint find(self, int64_t subscriber, double* time, int32_t* country) noexcept:
        cdef int32_t at = self.table[self._slot(subscriber)]
        if at < 0:
            return False
        time[0] = self.pool[at].time
        country[0] = self.pool[at].country
        return True


cdef class _Lookup:
    """A query about ``subscriber`` (SRI-SM, ATI, PSI, SRI ...) from ``gt``, with the
    parts of its evidence (made into an :class:`Evidence` only for a finding)."""

    cdef readonly double time
    cdef readonly str gt
    cdef readonly int64_t subscriber
    cdef readonly bint is_sri_sm
    cdef readonly bint from_partner
    cdef readonly int64_t frame
    cdef object calling_gt, called_gt, operation, pseudonym, origin_realm

    cdef object finding(self, str rule_id, str detail, list frames=None):
        """The finding ``rule_id`` on this lookup: :func:`~.findings.finding` of its
        evidence, made at once (a quarter of the time: the tracker makes most findings)."""
        rule = RULES[rule_id]
        return Finding(rule.id, rule.severity, rule.category,
                       frames if frames else [self.frame], self.time, self.calling_gt,
                       self.called_gt, self.operation, self.pseudonym, detail, rule.techniques,
                       self.origin_realm)


cdef _Lookup _new_lookup(double time, str gt, int64_t subscriber, bint is_sri_sm,
                         bint from_partner, int64_t frame, calling_gt, called_gt, operation,
                         pseudonym, origin_realm):
    cdef _Lookup lookup = _Lookup.__new__(_Lookup)
    lookup.time = time
    lookup.gt = gt
    lookup.subscriber = subscriber
    lookup.is_sri_sm = is_sri_sm
    lookup.from_partner = from_partner
    lookup.frame = frame
    lookup.calling_gt = calling_gt
    lookup.called_gt = called_gt
    lookup.operation = operation
    lookup.pseudonym = pseudonym
    lookup.origin_realm = origin_realm
    return lookup


cdef class _Recent:
    """A GT's lookups within the fan-out window, oldest first, and how many of them
    name each subscriber: the distinct subscribers are counted as lookups come and
    go, not recounted over the window at each lookup (a GT asking about one
    subscriber again and again made that quadratic)."""

    cdef object lookups
    cdef dict per_subscriber

    def __cinit__(self):
        self.lookups = deque()
        self.per_subscriber = {}

    cdef void add(self, _Lookup lookup, Py_ssize_t most) except *:
        self.lookups.append(lookup)
        self.per_subscriber[lookup.subscriber] = self.per_subscriber.get(lookup.subscriber, 0) + 1
        if len(self.lookups) > most:
            self._drop_first()

    cdef void drop_before(self, double start) except *:
        while self.lookups and (<_Lookup>self.lookups[0]).time < start:
            self._drop_first()

    cdef void _drop_first(self) except *:
        cdef _Lookup first = self.lookups.popleft()
        left = self.per_subscriber[first.subscriber] - 1
        if left:
            self.per_subscriber[first.subscriber] = left
        else:
            del self.per_subscriber[first.subscriber]

    cdef double last_time(self):
        return (<_Lookup>self.lookups[-1]).time if self.lookups else float("-inf")

    def newest(self):
        """The time of the latest lookup kept (for ordering GTs by activity)."""
        return self.last_time()

    cdef void clear(self):
        self.lookups.clear()
        self.per_subscriber.clear()


cdef class _Pending:
    """An SRI-SM awaiting its judgement; ``counted`` once it joined the fan-out count."""

    cdef _Lookup lookup
    cdef bint counted

    def __init__(self, _Lookup lookup):
        self.lookup = lookup
        self.counted = False


cdef class Tracker:
    """The stateful rules over events in time order; bounded memory."""

    cdef readonly object policy
    cdef readonly Py_ssize_t max_subscribers
    cdef readonly Py_ssize_t max_pending
    cdef readonly Py_ssize_t max_recent
    cdef readonly Py_ssize_t max_gts
    #: SRI-SMs whose follow-up window had not passed when the input ended.
    cdef public Py_ssize_t undecided
    #: subscriber key -> (time, country) of the last trusted location
    cdef _Locations _location
    #: countries by id (the location table keeps ids), and the distances between them
    cdef dict _country_ids
    cdef list _countries
    cdef dict _distances
    #: SRI-SMs awaiting judgement, oldest first
    cdef object _pending
    #: GT -> its SRI-SMs awaiting judgement (oldest first)
    cdef dict _pending_by_gt
    #: GT -> times of its deliveries that a pending SRI-SM may still need
    cdef dict _deliveries
    #: GT -> time of its latest MT/MO-ForwardSM
    cdef dict _delivered
    #: GT -> its lookups within the fan-out window (_Recent)
    cdef dict _seen
    #: GT -> end of the window in which its next lookup continues a reported probe
    cdef dict _probing
    cdef _Pruning _prune_delivered, _prune_seen, _prune_probing
    cdef double _last_time
    cdef double _followup
    cdef double _window
    cdef double _max_speed
    cdef Py_ssize_t _fan_out

    def __init__(self, policy, Py_ssize_t max_subscribers=1_000_000,
                 Py_ssize_t max_pending=MAX_PENDING, Py_ssize_t max_recent=MAX_RECENT,
                 Py_ssize_t max_gts=MAX_GTS):
        thresholds = policy.thresholds
        self.policy = policy
        self.max_subscribers = max_subscribers
        self.max_pending = max_pending
        self.max_recent = max_recent
        self.max_gts = max_gts
        self.undecided = 0
        self._location = _Locations(max_subscribers)
        self._country_ids = {}
        self._countries = []
        self._distances = {}
        self._pending = deque()
        self._pending_by_gt = {}
        self._deliveries = {}
        self._delivered = {}
        self._seen = {}
        self._probing = {}
        self._last_time = float("-inf")
        self._followup = thresholds.sri_sm_followup_s
        self._window = thresholds.fan_out_window_s
        self._max_speed = thresholds.max_speed_kmh
        self._fan_out = thresholds.fan_out_subscribers
        self._prune_delivered = _Pruning(self._followup, max_gts)
        self._prune_seen = _Pruning(self._window, max_gts)
        self._prune_probing = _Pruning(self._window, max_gts)

    def apply(self, events):
        """Findings these events complete (including older ones now resolved)."""
        cdef list out = []
        cdef list names = events.names
        cdef const unsigned char[:] kinds = events.kind
        cdef const double[:] times = events.time
        cdef const int64_t[:] subscribers = events.subscriber
        cdef const int[:] places = events.place
        cdef const unsigned char[:] flags = events.flags
        proof = events.proof
        cdef const int64_t[:] frames = proof.frame
        cdef const int[:] callings = proof.calling_gt
        cdef const int[:] calleds = proof.called_gt
        cdef const int[:] operations = proof.operation
        cdef const int[:] pseudonyms = proof.subscriber
        cdef const int[:] realms = proof.origin_realm
        cdef Py_ssize_t i
        cdef double time
        cdef unsigned char kind, flag
        for i in range(kinds.shape[0]):
            time = times[i]
            if time > self._last_time:
                self._last_time = time
            # most events find nothing to judge or prune: skip the call (the same result)
            if (
                (self._pending and (<_Pending>self._pending[0]).lookup.time < time - self._followup)
                or self._prune_delivered.due(len(self._delivered), time)
                or self._prune_seen.due(len(self._seen), time)
                or self._prune_probing.due(len(self._probing), time)
            ):
                out.extend(self.expire(time))
            kind = kinds[i]
            flag = flags[i]
            if kind == LOCATE:
                if flag & CHECK and frames[i] >= 0:
                    detail = self._velocity(time, subscribers[i], names[places[i]])
                    if detail is not None:
                        out.append(finding("SIG-CAT3-VELOCITY", events.evidence(i), detail))
                        continue
                if flag & TRUSTED:
                    self._remember(time, subscribers[i], names[places[i]])
            elif kind == LOOKUP:
                self._lookup(_new_lookup(
                    time, names[places[i]], subscribers[i], flag & SRI_SM_QUERY,
                    flag & FROM_PARTNER, frames[i], _name(names, callings[i]),
                    _name(names, calleds[i]), _name(names, operations[i]),
                    _name(names, pseudonyms[i]), _name(names, realms[i]),
                ), out)
            else:
                self._deliver(time, names[places[i]])
        return out

    # -- where subscribers are -------------------------------------------------------

    cdef int32_t _country(self, str name) except -1:
        found = self._country_ids.get(name)
        if found is None:
            found = self._country_ids[name] = len(self._countries)
            self._countries.append(name)
        return found

    cdef void _remember(self, double time, int64_t subscriber, str country) except *:
        self._location.remember(subscriber, time, self._country(country))

    cdef object _velocity(self, double time, int64_t subscriber, str country):
        """What is implausible about the move to ``country``, or None."""
        cdef double then, hours, speed
        cdef int32_t before, here
        if not self._location.find(subscriber, &then, &before):
            return None
        here = self._country(country)
        pair = (<int64_t>before << 32) | here
        km = self._distances.get(pair, False)
        if km is False:
            km = self._distances[pair] = distance_km(self._countries[before], country)
        if not km:
            return None
        hours = max(time - then, 1.0) / 3600
        speed = km / hours
        if speed <= self._max_speed:
            return None
        there = self._countries[before]
        return f"{there} -> {country}: {km:,.0f} km in {hours * 60:,.0f} min ({speed:,.0f} km/h)"

    # -- lookups, fan-out, SRI-SM without delivery -----------------------------------

    cdef void _lookup(self, _Lookup lookup, list out) except *:
        cdef _Pending pending
        if not lookup.is_sri_sm:
            self._count(lookup, out)
            return
        pending = _Pending(lookup)
        # judged once its follow-up window has passed ...
        self._pending.append(pending)
        same_gt = self._pending_by_gt.get(lookup.gt)
        if same_gt is None:
            same_gt = self._pending_by_gt[lookup.gt] = deque()
        same_gt.append(pending)
        if len(self._pending) > self.max_pending:
            self._give_up_oldest()
        # ... but a GT of no partner that has never delivered a message counts now
        if not lookup.from_partner and lookup.gt not in self._delivered:
            pending.counted = True
            self._count(lookup, out)

    cdef void _give_up_oldest(self) except *:
        """The oldest SRI-SM awaiting judgement, left undecided."""
        cdef _Pending pending = self._pending.popleft()
        gt = pending.lookup.gt
        same_gt = self._pending_by_gt[gt]
        same_gt.popleft()
        if not same_gt:
            del self._pending_by_gt[gt]
            self._deliveries.pop(gt, None)
        self.undecided += 1

    cdef void _deliver(self, double time, str gt) except *:
        self._delivered[gt] = time
        if gt in self._pending_by_gt:  # only a pending SRI-SM needs the time
            times = self._deliveries.get(gt)
            if times is None:
                times = self._deliveries[gt] = deque()
            if not times or times[-1] != time:  # a time again tells nothing more
                times.append(time)

    cdef bint _was_delivered(self, _Lookup lookup) except -1:
        """Did the GT deliver a message within the follow-up window of ``lookup``?

        SRI-SMs of one GT are judged oldest first, so a delivery before this
        lookup is of no use to the later ones either and is dropped."""
        times = self._deliveries.get(lookup.gt)
        if not times:
            return False
        while times and times[0] < lookup.time:
            times.popleft()
        return bool(times) and times[0] <= lookup.time + self._followup

    cdef void _count(self, _Lookup lookup, list out) except *:
        cdef double window = self._window
        until = self._probing.get(lookup.gt)
        if until is not None and lookup.time <= until:
            self._probing[lookup.gt] = lookup.time + window
            out.append(lookup.finding("SIG-FAN-OUT", "continues a probe reported before"))
            return
        cdef _Recent seen = self._seen.get(lookup.gt)
        cdef Py_ssize_t distinct
        if seen is None:
            seen = self._seen[lookup.gt] = _Recent()
        seen.add(lookup, self.max_recent)
        seen.drop_before(lookup.time - window)
        distinct = len(seen.per_subscriber)
        if distinct < self._fan_out:
            return
        frames = sorted(item.frame for item in seen.lookups)
        seen.clear()  # the burst is reported once; each later lookup in the window joins it
        self._probing[lookup.gt] = lookup.time + window
        out.append(lookup.finding(
            "SIG-FAN-OUT", f"{distinct} subscribers looked up in {window:,.0f} s", frames
        ))

    def expire(self, double now):
        """Judge the SRI-SMs whose follow-up window ended before ``now``."""
        cdef list out = []
        cdef _Pending pending
        cdef _Lookup lookup
        cdef double followup = self._followup
        cdef bint delivered
        while self._pending and (<_Pending>self._pending[0]).lookup.time < now - followup:
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
            out.append(lookup.finding(
                "SIG-SRISM-NO-MT", f"no MT-ForwardSM from {lookup.gt} within {followup:.0f} s"
            ))
            if not pending.counted:
                self._count(lookup, out)
        # expired entries go; past max_gts live ones too, the least recently active
        # first (only when capture time stands still or a flood of GTs is live)
        cdef Py_ssize_t most = self.max_gts
        if self._prune_delivered.due(len(self._delivered), now):
            self._delivered = _newest(
                {k: v for k, v in self._delivered.items() if v >= now - followup}, most, float
            )
            self._prune_delivered.done(len(self._delivered), now)
        if self._prune_seen.due(len(self._seen), now):
            window = self._window
            self._seen = _newest(
                {k: v for k, v in self._seen.items() if (<_Recent>v).last_time() >= now - window},
                most,
                _Recent.newest,
            )
            self._prune_seen.done(len(self._seen), now)
        if self._prune_probing.due(len(self._probing), now):
            self._probing = _newest(
                {k: v for k, v in self._probing.items() if v >= now}, most, float
            )
            self._prune_probing.done(len(self._probing), now)
        return out

    def advance(self, double now):
        """Capture time has reached ``now`` (a chunk's latest, which the events of
        this tracker's part may not show): judge what that decides."""
        if now > self._last_time:
            self._last_time = now
        return self.expire(now)

    def sizes(self):
        """How many entries each table holds (memory stays bounded: for diagnostics)."""
        return {
            "locations": self._location.count,
            "pending": len(self._pending),
            "delivered": len(self._delivered),
            "seen": len(self._seen),
            "probing": len(self._probing),
            "delivery times": sum(len(times) for times in self._deliveries.values()),
            "recent lookups": sum(len((<_Recent>recent).lookups) for recent in self._seen.values()),
        }

    def finish(self):
        """Resolve what the input decides; an SRI-SM too close to the end to tell
        whether a delivery followed is counted in ``undecided``, not reported."""
        out = self.expire(self._last_time)
        self.undecided += len(self._pending)
        self._pending.clear()
        self._pending_by_gt.clear()
        self._deliveries.clear()
        return out
