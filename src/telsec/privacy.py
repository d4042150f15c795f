"""Pseudonyms for subscriber identities (IMSI, MSISDN, reporters' numbers).

Nothing that leaves a node carries a subscriber identity in clear: it
carries ``HMAC-SHA256(key, kind:value)``, shortened.  Two members that share
a key get the same pseudonym for the same subscriber and can match their
findings; without the key a pseudonym cannot be reversed by enumerating the
(small) IMSI or MSISDN space.

Inside a node, screening only needs to tell subscribers apart (the same one
again, how many distinct ones a GT probed): for that it uses
:meth:`Pseudonymiser.match_keys`, a keyed 64-bit SipHash under a key derived
from the pseudonym key, far cheaper than the HMAC.  Those keys are never
written out; what is written out carries the pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from telsec._keyed import KeyedCache, hmac_pseudonyms, keyed_hashes

KEY_ENV = "TELSEC_PSEUDONYM_KEY"


#: Pseudonyms kept for values seen again (cleared when full).
_CACHED = 100_000


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonym key needs at least 16 bytes")
        self._key = key
        # HMAC (RFC 2104) with the key's padded blocks hashed once, not once per
        # value: the compiled loop of hmac_pseudonyms goes on from them
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        #: kind -> value -> pseudonym, for values seen again (at most _CACHED in all)
        self._known: dict[str, dict[str, str]] = {}
        self._cached = 0
        self._match_keys: dict[str, bytes] = {}
        #: kind -> match key -> pseudonym (at most _CACHED of each kind)
        self._by_key: dict[str, KeyedCache] = {}

    def __reduce__(self) -> tuple[Callable[[bytes], Pseudonymiser], tuple[bytes]]:
        # the cache stays behind; a process that receives the same key again
        # (a worker, with each chunk of a capture) finds its own cache again
        return _for_key, (self._key,)

    def _cache(self, kind: str, adding: int) -> dict[str, str]:
        """The pseudonyms of ``kind`` known so far, with room for ``adding`` more."""
        if self._cached + adding > _CACHED:
            self._known.clear()
            self._cached = 0
        self._cached += adding
        known = self._known.get(kind)
        if known is None:
            known = self._known[kind] = {}
        return known

    def __call__(self, kind: str, value: str | None) -> str | None:
        """``kind`` ("imsi", "msisdn", ...) keeps equal digits of different kinds apart."""
        return self.pseudonyms(kind, (value,))[0]

    def pseudonyms(self, kind: str, values: Sequence[str | None]) -> list[str | None]:
        """``self(kind, value)`` of each value."""
        known = self._known.get(kind, {})
        new = [value for value in dict.fromkeys(values) if value and value not in known]
        made = dict(zip(new, hmac_pseudonyms(self._inner, self._outer, kind, new), strict=True))
        if made:
            self._cache(kind, len(made)).update(made)  # may empty the cache: ``known`` stays
        return [(known.get(value) or made[value]) if value else None for value in values]

    def pseudonyms_of_keys(self, kind: str, keys: np.ndarray, strings: list[str],
                           ids: np.ndarray) -> tuple[list[str], np.ndarray]:  # fmt: skip
        """The pseudonyms of some rows' identities, ``strings[ids]``, told apart by
        their :meth:`match_keys` ``keys`` (0: no identity): ``(distinct pseudonyms,
        each row's index among them or -1)``.

        Known ones are found by their 64-bit key, far cheaper than by their text;
        the screening rules already take equal keys for the same subscriber."""
        if not len(keys):
            return [], np.empty(0, dtype=np.intp)
        distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        zero = int(np.searchsorted(distinct, 0))  # rows without an identity
        if zero < len(distinct) and distinct[zero] == 0:
            distinct, first = np.delete(distinct, zero), np.delete(first, zero)
            inverse = np.where(inverse == zero, -1, inverse - (inverse > zero))
        known = self._by_key.get(kind)
        if known is None:
            known = self._by_key[kind] = KeyedCache(_CACHED)
        found = known.get_many(distinct)
        missing = [number for number, value in enumerate(found) if value is None]
        if missing:
            identities = [strings[i] for i in ids[first[missing]].tolist()]
            made = hmac_pseudonyms(self._inner, self._outer, kind, identities)
            for number, pseudonym in zip(missing, made, strict=True):
                found[number] = pseudonym
            new = np.ascontiguousarray(distinct[missing])
            if known.size + len(made) > known.capacity:
                known.clear()
            if len(made) <= known.capacity:
                known.put_many(new, made)
        return found, inverse

    def match_keys(self, kind: str, strings: list[str], ids: np.ndarray) -> np.ndarray:
        """A keyed 64-bit hash (SipHash-2-4) of ``strings[id]`` for each id, as
        int64, never 0; 0 where the id is -1.  Equal for equal values of a kind
        under the same pseudonym key, so it matches subscribers across processes
        and chunks; not a pseudonym to share (64 bits, and not the HMAC)."""
        key = self._match_keys.get(kind)
        if key is None:
            derived = hmac.digest(self._key, f"telsec match key:{kind}".encode(), "sha256")
            key = self._match_keys[kind] = derived[:16]
        return keyed_hashes(key, strings, ids)


#: This process's pseudonymisers unpickled, by key (a handful at most).
_UNPICKLED: dict[bytes, Pseudonymiser] = {}
_UNPICKLED_KEYS = 8


def _for_key(key: bytes) -> Pseudonymiser:
    """This process's pseudonymiser for ``key``: the one unpickled before, if any."""
    found = _UNPICKLED.get(key)
    if found is None:
        if len(_UNPICKLED) >= _UNPICKLED_KEYS:
            _UNPICKLED.clear()
        found = _UNPICKLED[key] = Pseudonymiser(key)
    return found


def pseudonym_key(data_dir: Path) -> bytes:
    """The key from ``TELSEC_PSEUDONYM_KEY``, else this node's own (created once, mode 0600)."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        return configured.encode()
    path = data_dir / "pseudonym.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
