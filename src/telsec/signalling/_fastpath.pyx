# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled fast path of the signalling decoder, for screening.

It reads the pcap records of a chunk and decodes, in C, the plain and common
case: Ethernet / Linux cooked / raw IP, IPv4 or IPv6, SCTP with whole DATA
chunks, M3UA DATA carrying SCCP UDT/XUDT(S), ITU TCAP Begin/Continue/End of a
MAP dialogue with definite lengths, and Diameter over SCTP.  For each TCAP
component (or Diameter message) it writes one row of the fields that the
screening rules use; strings (GTs, IMSIs, realms ...) are interned as ids.

Anything else, including every malformed or unusual frame, is *declined*: the
frame is handed back and the reference decoder (:mod:`.decoder`, which is the
one checked against tshark) decodes it, counts its skip reasons and keeps what
is good in it.  The fast path never decides a frame the reference decoder
would decide differently: ``tests/signalling/test_fastpath.py`` compares the
two on every frame of the shared and generated captures and on mutated frames.

Every read is bounds-checked by hand against the end of its container.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy as np

cdef enum:
    MAX_FRAME = 262144
    MAX_NIBBLES = 40
    MAX_SPEC_STEPS = 6
    MAX_SPECS = 8
    MAX_OPCODE = 256

# tracked MAP parameter names (their column in a row); anything else is walked only
cdef enum:
    P_IMSI = 0
    P_MSISDN = 1
    P_VLR = 2
    P_MSC = 3
    P_SC = 4
    P_TRACKED = 5

PROTOCOL_MAP = 1
PROTOCOL_DIAMETER = 2

cdef struct Row:
    int64_t frame
    double time
    int64_t opc
    int64_t opcode
    int64_t command_code
    int32_t calling_gt
    int32_t called_gt
    int32_t imsi
    int32_t msisdn
    int32_t vlr_number
    int32_t msc_number
    int32_t service_centre
    int32_t origin_realm
    int32_t visited_plmn
    uint8_t protocol
    uint8_t operation

#: Column names of a row, in the order of the struct.
ROW_FIELDS = (
    "frame", "time", "opc", "opcode", "command_code", "calling_gt", "called_gt", "imsi",
    "msisdn", "vlr_number", "msc_number", "service_centre", "origin_realm", "visited_plmn",
    "protocol", "operation",
)
cdef Row _probe
ROW_DTYPE = np.dtype({
    "names": list(ROW_FIELDS),
    "formats": ["<i8", "<f8", "<i8", "<i8", "<i8"] + ["<i4"] * 9 + ["u1", "u1"],
    "offsets": [
        <Py_ssize_t>(<char*>&_probe.frame - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.time - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.opc - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.opcode - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.command_code - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.calling_gt - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.called_gt - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.imsi - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.msisdn - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.vlr_number - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.msc_number - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.service_centre - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.origin_realm - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.visited_plmn - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.protocol - <char*>&_probe),
        <Py_ssize_t>(<char*>&_probe.operation - <char*>&_probe),
    ],
    "itemsize": sizeof(Row),
})

cdef const char* HEX = b"0123456789abcdef"


# -- strings as ids ------------------------------------------------------------------


cdef class Interner:
    """Strings as small integer ids: ``strings[id]``.

    Digit strings of up to 15 nibbles (GTs, IMSIs, MSISDNs) are found by a
    64-bit key in an open-addressing table without making a Python string;
    other strings go through a dict.  The Python side interns the strings of
    records the reference decoder made with :meth:`text`, into the same ids."""

    cdef uint64_t* keys
    cdef int32_t* ids
    cdef Py_ssize_t capacity
    cdef Py_ssize_t used
    cdef public list strings
    cdef dict by_text

    def __cinit__(self):
        self.capacity = 1 << 12
        self.used = 0
        self.keys = <uint64_t*>malloc(self.capacity * sizeof(uint64_t))
        self.ids = <int32_t*>malloc(self.capacity * sizeof(int32_t))
        if self.keys == NULL or self.ids == NULL:
            raise MemoryError()
        memset(self.keys, 0, self.capacity * sizeof(uint64_t))
        self.strings = []
        self.by_text = {}

    def __dealloc__(self):
        free(self.keys)
        free(self.ids)

    cdef void _grow(self) except *:
        cdef Py_ssize_t old = self.capacity, i, slot
        cdef uint64_t* keys = self.keys
        cdef int32_t* ids = self.ids
        cdef uint64_t* new_keys = <uint64_t*>malloc(2 * old * sizeof(uint64_t))
        cdef int32_t* new_ids = <int32_t*>malloc(2 * old * sizeof(int32_t))
        if new_keys == NULL or new_ids == NULL:
            free(new_keys)
            free(new_ids)
            raise MemoryError()
        memset(new_keys, 0, 2 * old * sizeof(uint64_t))
        self.capacity = 2 * old
        for i in range(old):
            if keys[i]:
                slot = self._slot(new_keys, keys[i])
                new_keys[slot] = keys[i]
                new_ids[slot] = ids[i]
        free(keys)
        free(ids)
        self.keys = new_keys
        self.ids = new_ids

    cdef inline Py_ssize_t _slot(self, uint64_t* keys, uint64_t key) noexcept:
        cdef uint64_t mask = <uint64_t>(self.capacity - 1)
        # mix every bit of the key into the low ones (splitmix64's finaliser): the
        # digits that tell subscribers apart are the last ones, in the key's top bits
        cdef uint64_t slot = key ^ (key >> 30)
        slot *= <uint64_t>0xBF58476D1CE4E5B9
        slot ^= slot >> 27
        slot *= <uint64_t>0x94D049BB133111EB
        slot = (slot ^ (slot >> 31)) & mask
        while keys[slot] and keys[slot] != key:
            slot = (slot + 1) & mask
        return <Py_ssize_t>slot

    cdef int32_t _keyed(self, uint64_t key, const uint8_t* nibbles, int count) except -2:
        cdef Py_ssize_t slot = self._slot(self.keys, key)
        cdef int32_t found
        if self.keys[slot] == key:
            return self.ids[slot]
        found = len(self.strings)
        self.strings.append(_nibble_text(nibbles, count))
        self.keys[slot] = key
        self.ids[slot] = found
        self.used += 1
        if self.used * 2 > self.capacity:
            self._grow()
        return found

    cdef int32_t nibbles(self, const uint8_t* nibbles, int count) except -2:
        """The id of the string of these nibble values (0-15, as 0-9a-f)."""
        cdef uint64_t key
        cdef int i
        if count < 1 or count > 15:
            return self.text(_nibble_text(nibbles, count))
        key = <uint64_t>count << 60
        for i in range(count):
            key |= <uint64_t>nibbles[i] << (4 * i)
        return self._keyed(key, nibbles, count)

    cpdef int32_t text(self, str value) except -2:
        """The id of ``value``."""
        cdef uint8_t nib[15]
        cdef Py_ssize_t count = len(value), i
        cdef Py_UCS4 ch
        cdef int code
        cdef int32_t found
        if 1 <= count <= 15:
            for i in range(count):
                ch = value[i]
                code = <int>ch
                if 0x30 <= code <= 0x39:  # 0-9
                    nib[i] = <uint8_t>(code - 0x30)
                elif 0x61 <= code <= 0x66:  # a-f
                    nib[i] = <uint8_t>(code - 0x61 + 10)
                else:
                    break
            else:
                return self.nibbles(nib, <int>count)
        known = self.by_text.get(value)
        if known is not None:
            return <int32_t>known
        found = len(self.strings)
        self.strings.append(value)
        self.by_text[value] = found
        return found


cdef str _nibble_text(const uint8_t* nibbles, int count):
    cdef bytearray out = bytearray(count)
    cdef int i
    for i in range(count):
        out[i] = HEX[nibbles[i]]
    return out.decode("ascii")


cdef int32_t _digits(Interner strings, const uint8_t* d, Py_ssize_t start, Py_ssize_t end,
                     bint odd, bint tbcd) except -2:
    """Semi-octet digits of d[start:end], low nibble first: SCCP (an odd count drops
    the last nibble) or TBCD (a final 0xF is a filler).  -1 when too long to be real."""
    cdef uint8_t nib[MAX_NIBBLES]
    cdef int count = 0
    cdef Py_ssize_t i
    if (end - start) * 2 > MAX_NIBBLES:
        return -3
    for i in range(start, end):
        nib[count] = d[i] & 0x0F
        nib[count + 1] = d[i] >> 4
        count += 2
    if tbcd:
        if count and nib[count - 1] == 0x0F:
            count -= 1
    elif odd and count:
        count -= 1
    return strings.nibbles(nib, count)


# -- rows -------------------------------------------------------------------------


cdef inline void _blank(Row* row, int64_t frame, double time) noexcept nogil:
    """A row of a frame with nothing known yet (-1: none)."""
    memset(row, 0, sizeof(Row))
    row.frame = frame
    row.time = time
    row.opc = -1
    row.opcode = -1
    row.command_code = -1
    row.calling_gt = -1
    row.called_gt = -1
    row.imsi = -1
    row.msisdn = -1
    row.vlr_number = -1
    row.msc_number = -1
    row.service_centre = -1
    row.origin_realm = -1
    row.visited_plmn = -1


cdef class RowBuffer:
    """Rows as they are decoded; :meth:`array` gives them as a NumPy array."""

    cdef Row* data
    cdef Py_ssize_t count
    cdef Py_ssize_t capacity

    def __cinit__(self, Py_ssize_t capacity=1024):
        self.capacity = max(capacity, 64)
        self.count = 0
        self.data = <Row*>malloc(self.capacity * sizeof(Row))
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.data)

    cdef Row* _add(self, int64_t frame, double time) except NULL:
        cdef Row* grown
        cdef Row* row
        if self.count == self.capacity:
            grown = <Row*>realloc(self.data, 2 * self.capacity * sizeof(Row))
            if grown == NULL:
                raise MemoryError()
            self.data = grown
            self.capacity *= 2
        row = &self.data[self.count]
        self.count += 1
        _blank(row, frame, time)
        return row

    def __len__(self):
        return self.count

    def add(self, int64_t frame, double time, int protocol, bint operation, int64_t opc,
            int64_t opcode, int64_t command_code, int32_t calling_gt, int32_t called_gt,
            int32_t imsi, int32_t msisdn, int32_t vlr_number, int32_t msc_number,
            int32_t service_centre, int32_t origin_realm, int32_t visited_plmn):
        """One row from Python (a record of the reference decoder)."""
        cdef Row* row = self._add(frame, time)
        row.protocol = <uint8_t>protocol
        row.operation = operation
        row.opc = opc
        row.opcode = opcode
        row.command_code = command_code
        row.calling_gt = calling_gt
        row.called_gt = called_gt
        row.imsi = imsi
        row.msisdn = msisdn
        row.vlr_number = vlr_number
        row.msc_number = msc_number
        row.service_centre = service_centre
        row.origin_realm = origin_realm
        row.visited_plmn = visited_plmn

    def array(self):
        cdef unsigned char[::1] view
        out = np.empty(self.count, dtype=ROW_DTYPE)
        if self.count:
            view = out.view(np.uint8).reshape(-1)
            memcpy(&view[0], self.data, self.count * sizeof(Row))
        return out


cdef inline uint32_t _u32(const uint8_t* d, bint big_endian) noexcept nogil:
    """A 32-bit unsigned integer at ``d``."""
    if big_endian:
        return (<uint32_t>d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]
    return (<uint32_t>d[3] << 24) | (d[2] << 16) | (d[1] << 8) | d[0]


# -- BER ---------------------------------------------------------------------------


cdef inline int _tlv(const uint8_t* d, Py_ssize_t pos, Py_ssize_t end, uint32_t* tag,
                     Py_ssize_t* cs, Py_ssize_t* ce) noexcept nogil:
    """One definite-length element at ``pos``; -1 for anything else (declined)."""
    cdef uint32_t t
    cdef uint8_t b, first
    cdef int i, count
    cdef Py_ssize_t length
    if pos + 2 > end:
        return -1
    t = d[pos]
    pos += 1
    if t == 0:
        return -1  # end-of-contents, or tag 0: the reference decoder decides
    if (t & 0x1F) == 0x1F:
        i = 0
        while True:
            if i == 4 or pos >= end:
                return -1
            b = d[pos]
            t = (t << 8) | b
            pos += 1
            i += 1
            if not b & 0x80:
                break
        if pos >= end:
            return -1
    first = d[pos]
    pos += 1
    if first < 0x80:
        length = first
    elif first == 0x80:
        return -1  # indefinite length
    else:
        count = first & 0x7F
        if count > 4 or pos + count > end:
            return -1
        length = 0
        for i in range(count):
            length = (length << 8) | d[pos + i]
        pos += count
    if pos + length > end:
        return -1
    tag[0] = t
    cs[0] = pos
    ce[0] = pos + length
    return 0


cdef inline int _integer(const uint8_t* d, Py_ssize_t s, Py_ssize_t e, int64_t* value) noexcept nogil:
    cdef int64_t v
    cdef Py_ssize_t i
    if s >= e or e - s > 8:
        return -1
    v = -1 if d[s] & 0x80 else 0
    for i in range(s, e):
        v = (v << 8) | d[i]
    value[0] = v
    return 0


# -- MAP parameter paths, from telsec.signalling.map.PARAMETERS ------------------------


cdef struct Spec:
    int steps
    uint32_t tags[MAX_SPEC_STEPS]
    int nth[MAX_SPEC_STEPS]
    int name      # P_* for a tracked name, -1 for one only walked
    int address   # 1: AddressString (nature octet first), 0: TBCD as is (IMSI)

cdef Spec _specs[MAX_OPCODE][MAX_SPECS]
cdef int _spec_count[MAX_OPCODE]


def _load_specs():
    cdef Spec* spec
    from telsec.signalling import map as gsm_map

    tracked = {"imsi": P_IMSI, "msisdn": P_MSISDN, "vlr_number": P_VLR,
               "msc_number": P_MSC, "service_centre": P_SC}
    for code in range(MAX_OPCODE):
        _spec_count[code] = 0
    for (code, kind), specs in gsm_map.PARAMETERS.items():
        if kind != "arg":
            continue
        if not 0 <= code < MAX_OPCODE or len(specs) > MAX_SPECS:
            raise ValueError(f"MAP parameter table of opcode {code} does not fit the fast path")
        for number, (path, name, decode) in enumerate(specs):
            if len(path) > MAX_SPEC_STEPS:
                raise ValueError(f"MAP parameter path of opcode {code} is too deep")
            spec = &_specs[code][number]
            spec.steps = len(path)
            for depth, step in enumerate(path):
                tag, nth = (step, 0) if isinstance(step, int) else step
                spec.tags[depth] = tag
                spec.nth[depth] = nth
            spec.name = tracked.get(name, -1)
            if spec.name >= 0 and decode not in (gsm_map.address_string, gsm_map.imsi):
                raise ValueError(f"{name} of opcode {code}: unknown value decoder")
            spec.address = 1 if decode is gsm_map.address_string else 0
        _spec_count[code] = len(specs)


_load_specs()


def _check_limits():
    from telsec.packets.capture import MAX_FRAME as READER_MAX_FRAME

    if READER_MAX_FRAME != MAX_FRAME:
        raise ValueError("the fast path and the capture reader disagree on the largest frame")


_check_limits()


cdef int _find(const uint8_t* d, Py_ssize_t start, Py_ssize_t end, Spec* spec,
               Py_ssize_t* fs, Py_ssize_t* fe) noexcept nogil:
    """1 found (content at fs..fe), 0 not there, -1 malformed (declined)."""
    cdef int depth, seen
    cdef uint32_t tag
    cdef Py_ssize_t pos, cs, ce
    cdef bint found
    for depth in range(spec.steps):
        seen = 0
        found = False
        pos = start
        while pos < end:
            if _tlv(d, pos, end, &tag, &cs, &ce) < 0:
                return -1
            pos = ce
            if tag == spec.tags[depth]:
                if seen == spec.nth[depth]:
                    found = True
                    break
                seen += 1
        if not found:
            return 0
        start = cs
        end = ce
    fs[0] = start
    fe[0] = end
    return 1


cdef int _map_parameters(const uint8_t* d, Py_ssize_t start, Py_ssize_t end, int64_t opcode,
                         Row* row, Interner strings) except -2:
    """Fill the tracked values of an Invoke's parameter; -1 declines."""
    cdef int i, found
    cdef Py_ssize_t fs, fe
    cdef Spec* spec
    cdef int32_t value
    cdef int32_t got[P_TRACKED]
    cdef uint32_t tag
    cdef Py_ssize_t cs, ce
    if opcode < 0 or opcode >= MAX_OPCODE or _spec_count[opcode] == 0:
        return 0
    # the parameter element itself, as the reference reads it
    if _tlv(d, start, end, &tag, &cs, &ce) < 0:
        return -1
    for i in range(P_TRACKED):
        got[i] = -1
    for i in range(_spec_count[opcode]):
        spec = &_specs[opcode][i]
        if spec.name >= 0 and got[spec.name] >= 0:
            continue
        found = _find(d, start, end, spec, &fs, &fe)
        if found < 0:
            return -1
        if found == 0 or spec.name < 0:
            continue
        if spec.address:
            if fe - fs < 2:
                continue
            value = _digits(strings, d, fs + 1, fe, False, True)
        else:
            if fe == fs:
                continue
            value = _digits(strings, d, fs, fe, False, True)
        if value == -3:
            return -1
        got[spec.name] = value
    row.imsi = got[P_IMSI]
    row.msisdn = got[P_MSISDN]
    row.vlr_number = got[P_VLR]
    row.msc_number = got[P_MSC]
    row.service_centre = got[P_SC]
    return 0


# -- TCAP ---------------------------------------------------------------------------


cdef int _children_ok(const uint8_t* d, Py_ssize_t pos, Py_ssize_t end) noexcept nogil:
    """Every element between pos and end reads; -1 if not."""
    cdef uint32_t tag
    cdef Py_ssize_t cs, ce
    while pos < end:
        if _tlv(d, pos, end, &tag, &cs, &ce) < 0:
            return -1
        pos = ce
    return 0


cdef int _application_context(const uint8_t* d, Py_ssize_t pos, Py_ssize_t end, int depth,
                              Py_ssize_t* acs, Py_ssize_t* ace) noexcept nogil:
    """The last application-context-name OID of a dialogue portion, as the
    reference finds it: EXTERNAL (0x28) / [0] (0xA0) / the dialogue PDU (AARQ,
    AARE or ABRT) / application-context-name [1] (0xA1) / OID, every element of
    each level in turn.  ``acs`` is left alone where there is none; -1 if
    malformed or an unusual dialogue PDU (which the reference labels)."""
    cdef uint32_t tag
    cdef Py_ssize_t s, e
    while pos < end:
        if _tlv(d, pos, end, &tag, &s, &e) < 0:
            return -1
        pos = e
        if depth == 2:
            if tag != 0x60 and tag != 0x61 and tag != 0x64:
                return -1
        elif tag != (0x28 if depth == 0 else 0xA0 if depth == 1 else 0xA1 if depth == 3
                     else 0x06):
            continue
        if depth == 4:
            acs[0] = s
            ace[0] = e
        elif _application_context(d, s, e, depth + 1, acs, ace) < 0:
            return -1
    return 0


cdef inline bint _map_ssn(int ssn) noexcept nogil:
    return ssn == 6 or ssn == 7 or ssn == 8 or ssn == 9 or ssn == 10 or ssn == 145 \
        or ssn == 149 or ssn == 150


cdef int _is_map(const uint8_t* d, Py_ssize_t acs, Py_ssize_t ace, int calling_ssn,
                 int called_ssn) noexcept nogil:
    """1 when the dialogue is MAP, -1 for anything else (CAP, INAP, unknown: declined)."""
    cdef uint8_t arc
    if acs >= 0:
        # 0.4.0.0.1.0.<context>.<version>: 04 00 00 01 00, then one-octet arcs
        if ace - acs < 6 or d[ace - 1] & 0x80:
            return -1
        if d[acs] != 4 or d[acs + 1] != 0 or d[acs + 2] != 0 or d[acs + 3] != 1 \
                or d[acs + 4] != 0:
            return -1
        arc = d[acs + 5]
        if arc & 0x80 or arc == 50 or arc == 51 or arc == 52:
            return -1
        return 1
    if calling_ssn == 146 or called_ssn == 146 or calling_ssn == 12 or called_ssn == 12:
        return -1
    if _map_ssn(calling_ssn) or _map_ssn(called_ssn):
        return 1
    return -1


cdef int _component(const uint8_t* d, uint32_t ctag, Py_ssize_t start, Py_ssize_t end,
                    Row* row, Interner strings) except -2:
    """One component into ``row``; -1 declines."""
    cdef uint32_t tag, first_tag
    cdef Py_ssize_t pos, cs, ce, fs, fe
    cdef Py_ssize_t items_s[4]
    cdef Py_ssize_t items_e[4]
    cdef Py_ssize_t items_start[4]
    cdef uint32_t items_tag[4]
    cdef int count = 0, at
    cdef int64_t value
    # every element of the component reads (the reference lists them all)
    pos = start
    while pos < end:
        if _tlv(d, pos, end, &tag, &cs, &ce) < 0:
            return -1
        if count < 4:
            items_tag[count] = tag
            items_s[count] = cs
            items_e[count] = ce
            items_start[count] = pos
        count += 1
        pos = ce
    if count == 0:
        return -1
    first_tag = items_tag[0]
    if first_tag == 0x02:
        if _integer(d, items_s[0], items_e[0], &value) < 0:
            return -1
    elif first_tag != 0x05 or ctag != 0xA4:
        return -1
    if ctag == 0xA1:  # Invoke: [linkedID], opcode, [parameter]
        at = 1
        if count > at and items_tag[at] == 0x80:
            if _integer(d, items_s[at], items_e[at], &value) < 0:
                return -1
            at += 1
        if count <= at or items_tag[at] != 0x02:
            return -1  # no opcode, a global (OID) opcode or a bad one
        if _integer(d, items_s[at], items_e[at], &value) < 0:
            return -1
        row.opcode = value
        row.operation = 1
        if count > at + 1:
            return _map_parameters(d, items_start[at + 1], items_e[at + 1], value, row,
                                   strings)
        return 0
    if ctag == 0xA2 or ctag == 0xA7:  # ReturnResult: [SEQUENCE { opcode, parameter }]
        if count > 1 and items_tag[1] == 0x30:
            pos = items_s[1]
            fs = -1
            while pos < items_e[1]:
                if _tlv(d, pos, items_e[1], &tag, &cs, &ce) < 0:
                    return -1
                if fs < 0:
                    fs = 0
                    if tag == 0x02:
                        if _integer(d, cs, ce, &value) < 0:
                            return -1
                        row.opcode = value
                    elif tag == 0x06:
                        return -1  # a global opcode
                pos = ce
        return 0
    if ctag == 0xA3:  # ReturnError: errorCode, [parameter]
        if count > 1 and items_tag[1] == 0x02:
            if _integer(d, items_s[1], items_e[1], &value) < 0:
                return -1
        return 0
    # Reject: problem
    if count > 1 and items_e[1] > items_s[1]:
        if _integer(d, items_s[1], items_e[1], &value) < 0:
            return -1
    return 0


cdef int _tcap(const uint8_t* d, Py_ssize_t length, Row* base, int calling_ssn,
               int called_ssn, RowBuffer rows, Interner strings) except -2:
    """The rows of one TCAP message; -1 declines."""
    cdef uint32_t tag, etag, ctag
    cdef Py_ssize_t start, end, pos, s, e, cpos, cs, ce
    cdef Py_ssize_t acs = -1, ace = -1, comp_s = -1, comp_e = -1
    cdef int64_t value
    cdef int added = 0
    cdef Row* row
    if _tlv(d, 0, length, &tag, &start, &end) < 0:
        return -1
    if tag != 0x62 and tag != 0x64 and tag != 0x65:  # begin, end, continue
        return -1
    pos = start
    while pos < end:
        if _tlv(d, pos, end, &etag, &s, &e) < 0:
            return -1
        pos = e
        if etag == 0x48 or etag == 0x49:  # otid, dtid
            if not 1 <= e - s <= 4:
                return -1
        elif etag == 0x6B:
            acs = -1  # a later dialogue portion replaces what an earlier one said
            if _application_context(d, s, e, 0, &acs, &ace) < 0:
                return -1
        elif etag == 0x4A:
            return -1
        elif etag == 0x6C:
            if comp_s >= 0:
                return -1  # two component portions
            comp_s = s
            comp_e = e
    if _is_map(d, acs, ace, calling_ssn, called_ssn) < 0:
        return -1
    base.protocol = PROTOCOL_MAP
    if comp_s < 0 or comp_s == comp_e:
        row = rows._add(base.frame, base.time)
        row[0] = base[0]
        return 1
    cpos = comp_s
    while cpos < comp_e:
        if _tlv(d, cpos, comp_e, &ctag, &cs, &ce) < 0:
            return -1
        cpos = ce
        if ctag != 0xA1 and ctag != 0xA2 and ctag != 0xA3 and ctag != 0xA4 and ctag != 0xA7:
            return -1
        row = rows._add(base.frame, base.time)
        row[0] = base[0]
        added += 1
        if _component(d, ctag, cs, ce, row, strings) < 0:
            return -1
    return added


# -- SCCP, M3UA ------------------------------------------------------------------------


cdef int _party(const uint8_t* d, Py_ssize_t start, Py_ssize_t end, int* ssn,
                int32_t* digits, Interner strings) except -2:
    """An SCCP party address: its SSN (-1 absent) and GT digits (-1 absent)."""
    cdef uint8_t indicator, gti
    cdef Py_ssize_t pos = start + 1
    cdef bint odd = False
    cdef int need
    ssn[0] = -1
    digits[0] = -1
    if start >= end:
        return -1
    indicator = d[start]
    gti = (indicator >> 2) & 0x0F
    if indicator & 0x01:
        if end < pos + 2:
            return -1
        pos += 2
    if indicator & 0x02:
        if end < pos + 1:
            return -1
        ssn[0] = d[pos]
        pos += 1
    if gti == 0:
        return 0
    if gti == 1:
        if end < pos + 1:
            return -1
        odd = (d[pos] & 0x80) != 0
        pos += 1
    elif gti == 2:
        if end < pos + 1:
            return -1
        pos += 1
    elif gti == 3 or gti == 4:
        need = 2 if gti == 3 else 3
        if end < pos + need:
            return -1
        odd = (d[pos + 1] & 0x0F) == 1
        pos += need
    else:
        return -1
    digits[0] = _digits(strings, d, pos, end, odd, False)
    if digits[0] == -3:
        return -1
    return 0


cdef inline int _variable(const uint8_t* d, Py_ssize_t length, Py_ssize_t pointer_at,
                          Py_ssize_t* s, Py_ssize_t* e) noexcept nogil:
    cdef Py_ssize_t start
    if d[pointer_at] == 0:
        return -1
    start = pointer_at + d[pointer_at]
    if start >= length:
        return -1
    if start + 1 + d[start] > length:
        return -1
    s[0] = start + 1
    e[0] = start + 1 + d[start]
    return 0


cdef int _sccp(const uint8_t* d, Py_ssize_t length, Row* base, RowBuffer rows,
               Interner strings) except -2:
    cdef uint8_t kind
    cdef Py_ssize_t first, s, e
    cdef int calling_ssn, called_ssn
    if length < 1:
        return -1
    kind = d[0]
    if kind == 0x09 or kind == 0x0A:  # UDT, UDTS
        first = 2
    elif kind == 0x11 or kind == 0x12:  # XUDT, XUDTS
        first = 3
    else:
        return -1
    if length < first + 3:
        return -1
    if _variable(d, length, first, &s, &e) < 0:
        return -1
    if _party(d, s, e, &called_ssn, &base.called_gt, strings) < 0:
        return -1
    if _variable(d, length, first + 1, &s, &e) < 0:
        return -1
    if _party(d, s, e, &calling_ssn, &base.calling_gt, strings) < 0:
        return -1
    if _variable(d, length, first + 2, &s, &e) < 0:
        return -1
    return _tcap(d + s, e - s, base, calling_ssn, called_ssn, rows, strings)


cdef int _m3ua(const uint8_t* d, Py_ssize_t length, Row* base, RowBuffer rows,
               Interner strings) except -2:
    cdef Py_ssize_t size, pos, plen
    cdef uint32_t tag
    if length < 8 or d[0] != 1 or d[2] != 1 or d[3] != 1:
        return -1
    size = _u32(d + 4, True)
    if size < 8 or size > length:
        return -1
    pos = 8
    while pos + 4 <= size:
        tag = (d[pos] << 8) | d[pos + 1]
        plen = (d[pos + 2] << 8) | d[pos + 3]
        if plen < 4 or pos + plen > size:
            return -1
        if tag == 0x0210:
            if plen < 16 or d[pos + 12] != 3:  # SI 3: SCCP
                return -1
            base.opc = _u32(d + pos + 4, True)
            return _sccp(d + pos + 16, plen - 16, base, rows, strings)
        pos += (plen + 3) & ~3
    return -1


# -- Diameter -------------------------------------------------------------------------


cdef struct Avps:
    Py_ssize_t realm_s
    Py_ssize_t realm_e
    Py_ssize_t user_s
    Py_ssize_t user_e
    int plmn[6]
    bint has_plmn


cdef int _avps(const uint8_t* d, Py_ssize_t pos, Py_ssize_t end, Avps* out,
               int depth) noexcept nogil:
    cdef uint32_t code
    cdef uint8_t flags
    cdef Py_ssize_t length, header, vs, i
    cdef int digit[6]
    while pos + 8 <= end:
        code = _u32(d + pos, True)
        flags = d[pos + 4]
        length = (d[pos + 5] << 16) | (d[pos + 6] << 8) | d[pos + 7]
        header = 12 if flags & 0x80 else 8
        if length < header or pos + length > end:
            return -1
        vs = pos + header
        if code == 296 and header == 8 and out.realm_s < 0:
            out.realm_s = vs
            out.realm_e = pos + length
        elif code == 1 and out.user_s < 0:
            out.user_s = vs
            out.user_e = pos + length
        elif code == 1407 and length - header == 3:
            digit[0] = d[vs] & 0x0F
            digit[1] = d[vs] >> 4
            digit[2] = d[vs + 1] & 0x0F
            digit[3] = d[vs + 2] & 0x0F
            digit[4] = d[vs + 2] >> 4
            digit[5] = d[vs + 1] >> 4
            if digit[0] <= 9 and digit[1] <= 9 and digit[2] <= 9 and digit[3] <= 9 \
                    and digit[4] <= 9:
                if digit[5] != 0x0F and digit[5] > 9:
                    return -1  # the reference would print a two-digit "digit"
                for i in range(6):
                    out.plmn[i] = digit[i]
                out.has_plmn = True
        elif code == 297 and depth < 2:
            if _avps(d, vs, pos + length, out, depth + 1) < 0:
                return -1
        pos += (length + 3) & ~3
    return 0


cdef bint _ascii(const uint8_t* d, Py_ssize_t s, Py_ssize_t e) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(s, e):
        if d[i] >= 0x80:
            return False
    return True


cdef int _diameter(const uint8_t* d, Py_ssize_t size, Row* base, RowBuffer rows,
                   Interner strings) except -2:
    cdef Py_ssize_t pos = 0, length, i, local
    cdef Avps avps
    cdef Row* row
    cdef int added = 0
    cdef uint8_t nib[15]
    cdef char plmn_text[8]
    cdef int n
    while pos < size:
        if size - pos < 20 or d[pos] != 1:
            return -1
        length = (d[pos + 1] << 16) | (d[pos + 2] << 8) | d[pos + 3]
        if length < 20 or length % 4 or length > size - pos:
            return -1
        avps.realm_s = -1
        avps.user_s = -1
        avps.has_plmn = False
        if _avps(d, pos + 20, pos + length, &avps, 0) < 0:
            return -1
        row = rows._add(base.frame, base.time)
        added += 1
        row.protocol = PROTOCOL_DIAMETER
        row.operation = 1 if d[pos + 4] & 0x80 else 0
        row.command_code = (d[pos + 5] << 16) | (d[pos + 6] << 8) | d[pos + 7]
        if avps.realm_s >= 0:
            if not _ascii(d, avps.realm_s, avps.realm_e):
                return -1
            row.origin_realm = strings.text(
                (<const char*>d)[avps.realm_s:avps.realm_e].decode("ascii"))
        if avps.user_s >= 0:
            if not _ascii(d, avps.user_s, avps.user_e):
                return -1
            local = avps.user_s
            while local < avps.user_e and d[local] != 0x40:  # '@'
                local += 1
            n = <int>(local - avps.user_s)
            if 6 <= n <= 15:
                for i in range(n):
                    if not 0x30 <= d[avps.user_s + i] <= 0x39:
                        break
                    nib[i] = d[avps.user_s + i] - 0x30
                else:
                    row.imsi = strings.nibbles(nib, n)
        if avps.has_plmn:
            n = 0
            for i in range(3):
                plmn_text[n] = 0x30 + avps.plmn[i]
                n += 1
            plmn_text[n] = 0x2D  # '-'
            n += 1
            plmn_text[n] = 0x30 + avps.plmn[3]
            plmn_text[n + 1] = 0x30 + avps.plmn[4]
            n += 2
            if avps.plmn[5] != 0x0F:
                plmn_text[n] = 0x30 + avps.plmn[5]
                n += 1
            row.visited_plmn = strings.text(plmn_text[:n].decode("ascii"))
        pos += length
    return added


# -- link, IP, SCTP -------------------------------------------------------------------


cdef int _frame(const uint8_t* d, Py_ssize_t size, int linktype, int64_t frame, double time,
                RowBuffer rows, Interner strings) except -2:
    """The rows of one frame (> 0), or -1: declined, for the reference decoder."""
    cdef Py_ssize_t pos = 0, header, total, end, cpos, clen
    cdef int ethertype, nxt, added = 0, result
    cdef uint32_t ppid
    cdef int sport, dport
    cdef uint8_t ctype, flags
    cdef Row base
    # link layer
    if linktype == 1:
        if size < 14:
            return -1
        ethertype = (d[12] << 8) | d[13]
        pos = 14
        while ethertype == 0x8100 or ethertype == 0x88A8 or ethertype == 0x9100:
            if size < pos + 4:
                return -1
            ethertype = (d[pos + 2] << 8) | d[pos + 3]
            pos += 4
        if ethertype != 0x0800 and ethertype != 0x86DD:
            return -1
    elif linktype == 113:
        if size < 16:
            return -1
        pos = 16
    elif linktype == 276:
        if size < 20:
            return -1
        pos = 20
    elif linktype == 12 or linktype == 14 or linktype == 101 or linktype == 228 \
            or linktype == 229:
        pos = 0
    elif linktype == 0:
        if size < 4:
            return -1
        pos = 4
    else:
        return -1
    if linktype == 113 or linktype == 276:
        ethertype = (d[14] << 8) | d[15] if linktype == 113 else (d[0] << 8) | d[1]
        if ethertype != 0x0800 and ethertype != 0x86DD:
            return -1
    # IP
    if pos >= size:
        return -1
    if d[pos] >> 4 == 4:
        if size - pos < 20:
            return -1
        header = (d[pos] & 0x0F) * 4
        total = (d[pos + 2] << 8) | d[pos + 3]
        if header < 20 or total < header or size - pos < header:
            return -1
        if (d[pos + 6] & 0x20) or ((d[pos + 6] & 0x1F) << 8 | d[pos + 7]):
            return -1
        if total > size - pos:
            return -1
        nxt = d[pos + 9]
        end = pos + total
        pos += header
    elif d[pos] >> 4 == 6:
        if size - pos < 40:
            return -1
        total = (d[pos + 4] << 8) | d[pos + 5]
        if 40 + total > size - pos:
            return -1
        nxt = d[pos + 6]
        end = pos + 40 + total
        pos += 40
        while nxt == 0 or nxt == 43 or nxt == 60 or nxt == 44:
            if nxt == 44 or pos + 8 > end:
                return -1
            nxt = d[pos]
            pos += (d[pos + 1] + 1) * 8
        if pos > end:
            return -1
    else:
        return -1
    if nxt != 132:
        return -1
    # SCTP
    if end - pos < 12:
        return -1
    sport = (d[pos] << 8) | d[pos + 1]
    dport = (d[pos + 2] << 8) | d[pos + 3]
    cpos = pos + 12
    while cpos + 4 <= end:
        ctype = d[cpos]
        clen = (d[cpos + 2] << 8) | d[cpos + 3]
        if clen < 4 or cpos + clen > end:
            return -1
        if ctype == 0:
            if clen < 16:
                return -1
            flags = d[cpos + 1]
            if flags & 0x03 != 0x03:
                return -1  # a fragment: reassembled by the reference decoder
            ppid = _u32(d + cpos + 12, True)
            if ppid == 0:
                if dport == 2905 or (dport not in (2904, 3565, 3868) and sport == 2905):
                    ppid = 3
                elif dport == 3868 or (dport not in (2904, 3565, 2905) and sport == 3868):
                    ppid = 46
            _blank(&base, frame, time)
            if ppid == 3:
                result = _m3ua(d + cpos + 16, clen - 16, &base, rows, strings)
            elif ppid == 46 or ppid == 47:
                result = _diameter(d + cpos + 16, clen - 16, &base, rows, strings)
            else:
                return -1
            if result <= 0:
                return -1
            added += result
        cpos += (clen + 3) & ~3
    return added if added > 0 else -1


cdef bint _decoded(const uint8_t* d, Py_ssize_t size, int linktype, int64_t frame,
                   double time, RowBuffer rows, Interner strings) except -1:
    """Decode one frame into ``rows``; False if declined (the rows it wrote dropped)."""
    cdef Py_ssize_t before = rows.count
    if size == 0 or _frame(d, size, linktype, frame, time, rows, strings) < 0:
        rows.count = before
        return False
    return True


def decode_frame(const uint8_t[::1] data, int linktype, int64_t frame, double time,
                 Interner strings, RowBuffer rows):
    """Decode one frame into ``rows``; False if declined (nothing added)."""
    return _decoded(&data[0] if data.shape[0] else NULL, data.shape[0], linktype, frame, time,
                    rows, strings)


def decode_pcap(const uint8_t[::1] data, bint big_endian, bint nanoseconds, int linktype,
                int64_t first_frame, Interner strings, RowBuffer rows, decline):
    """Decode the pcap records in ``data`` (no file header) into ``rows``.

    ``decline(frame, time, start, end, linktype)`` is called, in frame order, for
    each frame the fast path hands back (its bytes are ``data[start:end]``); it
    may add rows of its own.  Returns ``(frames, stop)``: the number of frames read
    and where reading stopped: ``len(data)`` unless the rest is damaged (a
    record too long or cut short), which the reference reader then reports.
    """
    cdef Py_ssize_t size = data.shape[0], pos = 0
    cdef const uint8_t* d = &data[0] if size else NULL
    cdef uint32_t seconds, fraction, incl
    cdef int64_t frame = first_frame - 1
    cdef double time, divisor = 1e9 if nanoseconds else 1e6
    while size - pos >= 16:
        seconds = _u32(d + pos, big_endian)
        fraction = _u32(d + pos + 4, big_endian)
        incl = _u32(d + pos + 8, big_endian)
        if incl > MAX_FRAME or incl > size - pos - 16:
            break
        frame += 1
        time = <double>seconds + <double>fraction / divisor
        if not _decoded(d + pos + 16, incl, linktype, frame, time, rows, strings):
            decline(frame, time, pos + 16, pos + 16 + incl, linktype)
        pos += 16 + incl
    return frame - first_frame + 1, pos


def pcap_walk(const uint8_t[::1] data, bint big_endian, Py_ssize_t limit, bint at_end):
    """Walk whole pcap records from the start of ``data`` (a block of a file).

    Stops at the first record boundary at or past ``limit``, before a record
    whose length is impossible (``damaged``), or before a record that runs past
    the block unless the block ends the file (``at_end``: the record is then
    walked over, past the end, as a file cut short has it).  Returns
    ``(offset, frames, damaged)``.
    """
    cdef Py_ssize_t size = data.shape[0], pos = 0
    cdef int64_t frames = 0
    cdef uint32_t incl
    cdef const uint8_t* d = &data[0] if size else NULL
    while size - pos >= 16:
        if pos >= limit:
            break
        incl = _u32(d + pos + 8, big_endian)
        if incl > MAX_FRAME:
            return pos, frames, True
        if incl > size - pos - 16 and not at_end:
            break
        pos += 16 + incl
        frames += 1
    return pos, frames, False


#: What stopped :func:`pcapng_walk`.
PCAPNG_MORE = 0      # the limit, the end of the data, or a block running past it
PCAPNG_HEADER = 1    # a section header or interface description block, at ``offset``
PCAPNG_DAMAGED = 2   # a block length that cannot be


def pcapng_walk(const uint8_t[::1] data, bint big_endian, Py_ssize_t limit, bint at_end):
    """Walk pcapng blocks from the start of ``data`` (a block of a file), counting
    packet blocks, as the chunker does.

    Stops at a packet block at or past ``limit``, at a section header or interface
    description (the chunker keeps those), before a block that runs past the data
    (damaged if ``at_end``), or at an impossible length.  Returns ``(offset,
    frames, state)`` with ``state`` one of ``PCAPNG_*``.
    """
    cdef Py_ssize_t size = data.shape[0], pos = 0
    cdef int64_t frames = 0
    cdef uint32_t block_type, length
    cdef const uint8_t* d = &data[0] if size else NULL
    while size - pos >= 12:
        block_type = _u32(d + pos, big_endian)
        if block_type == 0x0A0D0D0A or block_type == 1:
            return pos, frames, PCAPNG_HEADER
        length = _u32(d + pos + 4, big_endian)
        if length < 12 or length % 4:
            return pos, frames, PCAPNG_DAMAGED
        if length > size - pos:
            return pos, frames, PCAPNG_DAMAGED if at_end else PCAPNG_MORE
        if block_type == 2 or block_type == 3 or block_type == 6:
            if pos >= limit:
                break
            frames += 1
        pos += length
    return pos, frames, PCAPNG_MORE


def decode_pcapng(const uint8_t[::1] data, bint big_endian, list interfaces, int64_t first_frame,
                  Interner strings, RowBuffer rows, decline):
    """Decode the Enhanced Packet Blocks at the start of ``data`` (a run of pcapng
    blocks after a section's header) into ``rows``, as :func:`decode_pcap` does.

    ``interfaces`` are the section's ``(linktype, seconds per tick)``.  Stops at
    the first block that is not an enhanced packet or an ignorable block
    (statistics, name resolution, custom), or that is damaged; the reference
    reader takes it from there.  Returns ``(frames, stop)``.
    """
    cdef Py_ssize_t size = data.shape[0], pos = 0, body
    cdef const uint8_t* d = &data[0] if size else NULL
    cdef uint32_t block_type, length, iface, caplen
    cdef uint64_t ticks
    cdef int64_t frame = first_frame - 1
    cdef double time, tick
    cdef int linktype
    cdef Py_ssize_t count = len(interfaces)
    while size - pos >= 12:
        block_type = _u32(d + pos, big_endian)
        length = _u32(d + pos + 4, big_endian)
        if length < 12 or length % 4 or length > MAX_FRAME + 1024 or length > size - pos:
            break
        if block_type == 6:
            body = pos + 8
            if length < 32:
                break  # too short for its fields: the reference reader reports it
            iface = _u32(d + body, big_endian)
            caplen = _u32(d + body + 12, big_endian)
            if iface >= count or 20 + <Py_ssize_t>caplen > length - 12:
                break
            linktype, tick = interfaces[iface]
            ticks = (<uint64_t>_u32(d + body + 4, big_endian) << 32) | _u32(d + body + 8, big_endian)
            time = <double>ticks * tick
            frame += 1
            if not _decoded(d + body + 20, caplen, linktype, frame, time, rows, strings):
                decline(frame, time, body + 20, body + 20 + caplen, linktype)
        elif block_type in (0x0A0D0D0A, 1, 2, 3):
            break  # a new section or interface, or an older packet block
        pos += length
    return frame - first_frame + 1, pos
