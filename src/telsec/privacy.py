"""Pseudonyms for subscriber identities (IMSI, MSISDN, reporters' numbers).

Nothing that leaves a node carries a subscriber identity in clear: it
carries ``HMAC-SHA256(key, kind:value)``, shortened.  Two members that share
a key get the same pseudonym for the same subscriber and can match their
findings; without the key a pseudonym cannot be reversed by enumerating the
(small) IMSI or MSISDN space.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "TELSEC_PSEUDONYM_KEY"


#: Base32 (RFC 4648, lower case) of every 10-bit value: two characters each.
_BASE32_PAIRS = [
    base64.b32encode((value << 30).to_bytes(5, "big")).decode()[:2].lower() for value in range(1024)
]


def _base32_80(digest: bytes) -> str:
    """``base64.b32encode(digest[:10]).decode().lower()``, without its per-call cost."""
    n = int.from_bytes(digest[:10], "big")
    t = _BASE32_PAIRS
    return (
        t[n >> 70] + t[(n >> 60) & 1023] + t[(n >> 50) & 1023] + t[(n >> 40) & 1023]
        + t[(n >> 30) & 1023] + t[(n >> 20) & 1023] + t[(n >> 10) & 1023] + t[n & 1023]
    )  # fmt: skip


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonym key needs at least 16 bytes")
        self._key = key
        self._known: dict[tuple[str, str], str] = {}

    def __getstate__(self) -> dict[str, bytes]:
        return {"key": self._key}  # the cache stays behind

    def __setstate__(self, state: dict[str, bytes]) -> None:
        self.__init__(state["key"])  # type: ignore[misc]

    def __call__(self, kind: str, value: str | None) -> str | None:
        """``kind`` ("imsi", "msisdn", ...) keeps equal digits of different kinds apart."""
        if not value:
            return None
        known = self._known.get((kind, value))
        if known is not None:
            return known
        digest = hmac.digest(self._key, f"{kind}:{value}".encode(), "sha256")
        pseudonym = f"{kind}-" + _base32_80(digest)
        if len(self._known) >= 100_000:
            self._known.clear()
        self._known[(kind, value)] = pseudonym
        return pseudonym


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
