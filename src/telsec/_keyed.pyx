# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Keyed hashes for :mod:`telsec.privacy`, compiled: SipHash-2-4 (Aumasson and
Bernstein, 2012), a keyed 64-bit hash of short strings, for
:meth:`~telsec.privacy.Pseudonymiser.match_keys`; and the loop that makes the
text of many HMAC pseudonyms at once (the HMAC itself is ``hashlib``'s).

Screening needs to tell subscribers apart (the same one seen again, how many
distinct ones a GT probed) without carrying their identities between
processes; SipHash is the keyed function made for that: fast on short inputs,
and without the key its outputs reveal nothing of them.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

import numpy as np

from cpython.unicode cimport PyUnicode_AsUTF8AndSize


cdef inline uint64_t _rotl(uint64_t x, int b) noexcept nogil:
    return (x << b) | (x >> (64 - b))


cdef inline uint64_t _le64(const uint8_t* p) noexcept nogil:
    return (<uint64_t>p[0] | (<uint64_t>p[1] << 8) | (<uint64_t>p[2] << 16)
            | (<uint64_t>p[3] << 24) | (<uint64_t>p[4] << 32) | (<uint64_t>p[5] << 40)
            | (<uint64_t>p[6] << 48) | (<uint64_t>p[7] << 56))


cdef struct _State:
    uint64_t v0
    uint64_t v1
    uint64_t v2
    uint64_t v3


cdef inline void _round(_State* s) noexcept nogil:
    s.v0 += s.v1
    s.v1 = _rotl(s.v1, 13)
    s.v1 ^= s.v0
    s.v0 = _rotl(s.v0, 32)
    s.v2 += s.v3
    s.v3 = _rotl(s.v3, 16)
    s.v3 ^= s.v2
    s.v0 += s.v3
    s.v3 = _rotl(s.v3, 21)
    s.v3 ^= s.v0
    s.v2 += s.v1
    s.v1 = _rotl(s.v1, 17)
    s.v1 ^= s.v2
    s.v2 = _rotl(s.v2, 32)


cdef uint64_t _siphash24(uint64_t k0, uint64_t k1, const uint8_t* data,
                         Py_ssize_t length) noexcept nogil:
    cdef _State s
    cdef Py_ssize_t whole = length - (length & 7), i
    cdef uint64_t m, last = (<uint64_t>length & 0xFF) << 56
    s.v0 = k0 ^ 0x736F6D6570736575ULL
    s.v1 = k1 ^ 0x646F72616E646F6DULL
    s.v2 = k0 ^ 0x6C7967656E657261ULL
    s.v3 = k1 ^ 0x7465646279746573ULL
    for i in range(0, whole, 8):
        m = _le64(data + i)
        s.v3 ^= m
        _round(&s)
        _round(&s)
        s.v0 ^= m
    for i in range(length & 7):
        last |= <uint64_t>data[whole + i] << (8 * i)
    s.v3 ^= last
    _round(&s)
    _round(&s)
    s.v0 ^= last
    s.v2 ^= 0xFF
    _round(&s)
    _round(&s)
    _round(&s)
    _round(&s)
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3


cdef void _key_words(bytes key, uint64_t* k0, uint64_t* k1) except *:
    if len(key) != 16:
        raise ValueError("a SipHash key is 16 bytes")
    k0[0] = _le64(<const uint8_t*><char*>key)
    k1[0] = _le64((<const uint8_t*><char*>key) + 8)


def siphash24(bytes key, const uint8_t[::1] data) -> int:
    """SipHash-2-4 of ``data`` under the 16-byte ``key``, as an unsigned integer."""
    cdef uint64_t k0, k1
    _key_words(key, &k0, &k1)
    return _siphash24(k0, k1, &data[0] if data.shape[0] else <const uint8_t*>b"", data.shape[0])


def keyed_hashes(bytes key, list strings, ids):
    """For each id, SipHash-2-4 of ``strings[id]`` (UTF-8) as a signed 64-bit
    integer that is never 0; ``0`` where the id is negative (none) or the string
    empty."""
    cdef uint64_t k0, k1, value
    cdef const int32_t[::1] view
    cdef Py_ssize_t i, n, length, size = len(strings)
    cdef int32_t index
    cdef const char* text
    _key_words(key, &k0, &k1)
    view = np.ascontiguousarray(ids, dtype=np.int32)
    n = view.shape[0]
    out = np.zeros(n, dtype=np.int64)
    cdef int64_t[::1] result = out
    for i in range(n):
        index = view[i]
        if index < 0:
            continue
        if index >= size:
            raise IndexError(f"string id {index} out of range")
        text = PyUnicode_AsUTF8AndSize(<str?>strings[index], &length)
        if length == 0:
            continue
        value = _siphash24(k0, k1, <const uint8_t*>text, length)
        result[i] = <int64_t>(value if value else 1)
    return out


# -- the shared pseudonyms' text ---------------------------------------------------

cdef const char* _BASE32 = b"abcdefghijklmnopqrstuvwxyz234567"


def hmac_pseudonyms(inner, outer, str kind, list values) -> list:
    """``kind + "-" + base32(HMAC-SHA256(key, kind + ":" + value)[:10])`` (RFC 4648
    alphabet, lower case) of each value, given the key's HMAC pads already hashed
    (``inner``, ``outer``: ``hashlib`` objects, RFC 2104).  The hashing is
    ``hashlib``'s (OpenSSL); only the loop and the base32 are compiled here."""
    cdef bytes prefix = (kind + ":").encode()
    cdef str head = kind + "-"
    cdef list out = []
    cdef bytes digest
    cdef const uint8_t* d
    cdef char text[16]
    cdef uint64_t high, low
    cdef int i
    for value in values:
        h = inner.copy()
        h.update(prefix + (<str?>value).encode())
        o = outer.copy()
        o.update(h.digest())
        digest = o.digest()
        d = <const uint8_t*>digest
        # the first 80 bits, 5 bits a character: 40 bits from each half
        high = ((<uint64_t>d[0] << 32) | (<uint64_t>d[1] << 24) | (<uint64_t>d[2] << 16)
                | (<uint64_t>d[3] << 8) | d[4])
        low = ((<uint64_t>d[5] << 32) | (<uint64_t>d[6] << 24) | (<uint64_t>d[7] << 16)
               | (<uint64_t>d[8] << 8) | d[9])
        for i in range(8):
            text[i] = _BASE32[(high >> (35 - 5 * i)) & 31]
            text[8 + i] = _BASE32[(low >> (35 - 5 * i)) & 31]
        out.append(head + text[:16].decode("ascii"))
    return out


# -- pseudonyms already made, by match key -----------------------------------------


cdef class KeyedCache:
    """Objects by 64-bit key (never 0), at most ``capacity`` of them.

    An open-addressing table (linear probing, at most half full) for keys that
    are already uniform hashes, such as :func:`keyed_hashes`' (their low bits
    pick the slot): looking up a batch of keys costs a probe or two each, in C,
    where a ``dict`` of Python integers costs a memory round trip per key."""

    cdef int64_t[::1] _keys
    cdef list _values
    cdef Py_ssize_t _mask
    cdef readonly Py_ssize_t size
    cdef readonly Py_ssize_t capacity

    def __init__(self, Py_ssize_t capacity):
        if capacity < 1:
            raise ValueError("a cache holds at least one entry")
        cdef Py_ssize_t slots = 2
        while slots < 2 * capacity:
            slots <<= 1
        self._keys = np.zeros(slots, dtype=np.int64)
        self._values = [None] * slots
        self._mask = slots - 1
        self.capacity = capacity
        self.size = 0

    def __len__(self):
        return self.size

    cdef inline Py_ssize_t _slot(self, int64_t key) noexcept:
        cdef Py_ssize_t at = <Py_ssize_t>(<uint64_t>key & <uint64_t>self._mask)
        while self._keys[at] != 0 and self._keys[at] != key:
            at = (at + 1) & self._mask
        return at

    def get_many(self, const int64_t[::1] keys) -> list:
        """The object of each key (None where there is none, and for key 0)."""
        cdef Py_ssize_t i, at, n = keys.shape[0]
        cdef int64_t key
        cdef list out = [None] * n
        for i in range(n):
            key = keys[i]
            if key == 0:
                continue
            at = self._slot(key)
            if self._keys[at] == key:
                out[i] = self._values[at]
        return out

    def put_many(self, const int64_t[::1] keys, list values) -> None:
        """Hold ``values[i]`` for ``keys[i]`` (key 0 is refused); ``OverflowError``
        beyond the capacity, with the entries before it held."""
        cdef Py_ssize_t i, at, n = keys.shape[0]
        cdef int64_t key
        if len(values) != n:
            raise ValueError("one value per key")
        for i in range(n):
            key = keys[i]
            if key == 0:
                raise ValueError("key 0 is not a key")
            at = self._slot(key)
            if self._keys[at] != key:
                if self.size >= self.capacity:
                    raise OverflowError("the cache is full")
                self._keys[at] = key
                self.size += 1
            self._values[at] = values[i]

    def clear(self) -> None:
        self._keys[:] = 0
        self._values = [None] * (self._mask + 1)
        self.size = 0
