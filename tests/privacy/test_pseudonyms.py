"""Pseudonyms: the documented construction, exactly, and what it promises."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

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
