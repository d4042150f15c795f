"""Pseudonyms: the documented construction, exactly, and what it promises."""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from telsec import privacy
from telsec._keyed import KeyedCache, siphash24
from telsec.privacy import Pseudonymiser

KEY = b"a shared coalition key, 32 bytes"


def _documented(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256(key, "kind:value"), its first 10 bytes in lower-case base32."""
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest()
    return f"{kind}-" + base64.b32encode(digest[:10]).decode().lower()


@given(st.sampled_from(["imsi", "msisdn", "reporter"]), st.text(min_size=1, max_size=40))
def test_pseudonyms_are_the_documented_hmac(kind: str, value: str) -> None:
    # members match subscribers by pseudonym: its construction must never drift
    assert Pseudonymiser(KEY)(kind, value) == _documented(KEY, kind, value)


def test_a_known_pseudonym() -> None:
    assert _documented(KEY, "imsi", "234150000000001") == Pseudonymiser(KEY)(
        "imsi", "234150000000001"
    )
    assert Pseudonymiser(KEY)("imsi", "234150000000001") != Pseudonymiser(KEY)(
        "msisdn", "234150000000001"
    )
    assert Pseudonymiser(KEY)("imsi", "") is None
    assert Pseudonymiser(KEY)("imsi", None) is None


@given(
    st.sampled_from(["imsi", "msisdn"]),
    st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40),
    st.binary(min_size=16, max_size=100),
)
def test_pseudonyms_of_many_values_are_each_ones_pseudonym(
    kind: str, values: list[str | None], key: bytes
) -> None:
    # keys longer than SHA-256's 64-byte block are hashed first (RFC 2104)
    many = Pseudonymiser(key).pseudonyms(kind, values)
    assert many == [_documented(key, kind, v) if v else None for v in values]


# -- match keys (SipHash-2-4) -----------------------------------------------------------


def _siphash24(key: bytes, data: bytes) -> int:
    """SipHash-2-4 as the paper (Aumasson, Bernstein 2012) specifies it, slowly."""
    mask = (1 << 64) - 1

    def rotl(x: int, b: int) -> int:
        return ((x << b) | (x >> (64 - b))) & mask

    k0, k1 = int.from_bytes(key[:8], "little"), int.from_bytes(key[8:], "little")
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261,
         k1 ^ 0x7465646279746573]  # fmt: skip

    def rounds(n: int) -> None:
        for _ in range(n):
            v[0] = (v[0] + v[1]) & mask
            v[1] = rotl(v[1], 13) ^ v[0]
            v[0] = rotl(v[0], 32)
            v[2] = (v[2] + v[3]) & mask
            v[3] = rotl(v[3], 16) ^ v[2]
            v[0] = (v[0] + v[3]) & mask
            v[3] = rotl(v[3], 21) ^ v[0]
            v[2] = (v[2] + v[1]) & mask
            v[1] = rotl(v[1], 17) ^ v[2]
            v[2] = rotl(v[2], 32)

    padded = data + bytes(7 - len(data) % 8) + bytes([len(data) & 0xFF])
    for at in range(0, len(padded), 8):
        m = int.from_bytes(padded[at : at + 8], "little")
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def test_siphash_matches_the_papers_test_vectors() -> None:
    key = bytes(range(16))
    assert siphash24(key, b"") == 0x726FDB47DD0E0E31  # first entry of the reference vectors
    assert siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5  # the paper's appendix A
    assert _siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5


@given(st.binary(min_size=16, max_size=16), st.binary(max_size=80))
def test_siphash_is_the_specified_function(key: bytes, data: bytes) -> None:
    assert siphash24(key, data) == _siphash24(key, data)


@given(st.lists(st.text(max_size=20), max_size=30), st.data())
def test_match_keys_tell_values_apart_and_never_reveal_none(
    strings: list[str], data: st.DataObject
) -> None:
    ids = np.array(
        data.draw(st.lists(st.integers(-1, len(strings) - 1), max_size=50)), dtype=np.int32
    )
    keys = Pseudonymiser(KEY).match_keys("imsi", strings, ids).tolist()
    for index, key in zip(ids.tolist(), keys, strict=True):
        if index < 0 or not strings[index]:
            assert key == 0
        else:
            assert key != 0
            assert key == _signed(_siphash24(_match_key("imsi"), strings[index].encode())) or (
                key == 1 and _siphash24(_match_key("imsi"), strings[index].encode()) == 0
            )


def test_match_keys_depend_on_the_kind_and_the_key() -> None:
    strings, ids = ["234150000000001"], np.array([0], dtype=np.int32)
    imsi = Pseudonymiser(KEY).match_keys("imsi", strings, ids)[0]
    assert imsi == Pseudonymiser(KEY).match_keys("imsi", strings, ids)[0]
    assert imsi != Pseudonymiser(KEY).match_keys("msisdn", strings, ids)[0]
    assert (
        imsi
        != Pseudonymiser(b"another key of 32 bytes, at all").match_keys("imsi", strings, ids)[0]
    )


def _match_key(kind: str) -> bytes:
    return hmac.new(KEY, f"telsec match key:{kind}".encode(), hashlib.sha256).digest()[:16]


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@pytest.mark.parametrize("size", [16, 63, 64, 65, 200])
def test_keys_of_every_length_around_the_hash_block(size: int) -> None:
    key = bytes(range(256))[:size]
    values = ["234150000000001", "447700900123"]
    assert Pseudonymiser(key).pseudonyms("imsi", values) == [
        _documented(key, "imsi", v) for v in values
    ]


def test_pseudonyms_survive_the_cache_emptying_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(privacy, "_CACHED", 3)
    pseudonymiser = Pseudonymiser(KEY)
    for values in (["1", "2"], ["1", "3", "4"], ["4", "5", "1", None, "6"], ["1"]):
        assert pseudonymiser.pseudonyms("msisdn", values) == [
            _documented(KEY, "msisdn", v) if v else None for v in values
        ]
        assert pseudonymiser("msisdn", values[0]) == _documented(KEY, "msisdn", values[0])


def test_a_pickled_pseudonymiser_keeps_its_key_and_each_process_its_cache() -> None:
    """Workers receive the pseudonymiser with every chunk: unpickled again, it is the
    process's own for that key, whose cache the earlier chunks filled."""
    key = b"a key for the pickling test 0123"
    sent = pickle.dumps(Pseudonymiser(key))
    first, second = pickle.loads(sent), pickle.loads(sent)
    assert first is second
    assert first("imsi", "234150000000001") == _documented(key, "imsi", "234150000000001")
    other = pickle.loads(pickle.dumps(Pseudonymiser(KEY)))
    assert other is not first
    assert other("imsi", "234150000000001") == _documented(KEY, "imsi", "234150000000001")


def test_the_processs_pseudonymisers_are_a_handful(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(privacy, "_UNPICKLED", {})
    keys = [f"key number {n:02d} for the bound test".encode() for n in range(20)]
    for key in keys:
        pickle.loads(pickle.dumps(Pseudonymiser(key)))
    assert 0 < len(privacy._UNPICKLED) <= privacy._UNPICKLED_KEYS
    assert keys[-1] in privacy._UNPICKLED


# -- pseudonyms by match key -------------------------------------------------------------


@given(
    st.lists(st.lists(st.one_of(st.none(), st.sampled_from(["", "1", "22", "333", "4444",
                                                             "55555", "666666"])),
                      max_size=30), max_size=6),
    st.integers(min_value=1, max_value=8),
)  # fmt: skip
def test_pseudonyms_by_match_key_are_each_rows_pseudonym(
    batches: list[list[str | None]], cached: int
) -> None:
    """Batch after batch, with a cache small enough to empty itself: each row gets
    its identity's documented pseudonym (none where it has none)."""
    pseudonymiser = Pseudonymiser(KEY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(privacy, "_CACHED", cached)
        for values in batches:
            strings = sorted({v for v in values if v is not None})
            ids = np.array([strings.index(v) if v is not None else -1 for v in values], np.int32)
            keys = pseudonymiser.match_keys("imsi", strings, ids)
            distinct, index = pseudonymiser.pseudonyms_of_keys("imsi", keys, strings, ids)
            assert len(set(distinct)) == len(distinct)
            assert [distinct[i] if i >= 0 else None for i in index.tolist()] == [
                _documented(KEY, "imsi", v) if v else None for v in values
            ]


def test_the_keyed_cache_holds_what_it_was_given_up_to_its_capacity() -> None:
    cache = KeyedCache(3)
    keys = np.array([5, -7, 1 << 40], dtype=np.int64)
    cache.put_many(keys, ["a", "b", "c"])
    cache.put_many(keys[:1], ["a2"])  # a key again: replaced, not counted twice
    assert len(cache) == 3
    # colliding slots (equal low bits) are probed past
    assert cache.get_many(np.array([5, 6, -7, 0, 1 << 40, 5 + (1 << 20)], dtype=np.int64)) == [
        "a2", None, "b", None, "c", None
    ]  # fmt: skip
    with pytest.raises(OverflowError):
        cache.put_many(np.array([9], dtype=np.int64), ["d"])
    with pytest.raises(ValueError):
        cache.put_many(np.array([0], dtype=np.int64), ["zero"])
    cache.clear()
    assert len(cache) == 0 and cache.get_many(keys) == [None, None, None]
