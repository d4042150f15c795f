"""Stateless, signed ``next`` tokens.

A token carries the position reached (the last ``date_added`` served), the
organisation it was issued to, a digest of the endpoint and filters it was
issued for, and an expiry, all signed with HMAC-SHA256 under the node's key
(kept in the database, so every worker and replica can continue any token).
On use it is checked against the caller and the filters of the new request;
the caller's permissions are applied afresh to every page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Any

import orjson
from sqlalchemy import Engine, select

from telsec.stix.timestamps import now_us
from telsec.storage.db import write_transaction
from telsec.storage.models import Setting

TOKEN_LIFETIME_US = 24 * 3600 * 1_000_000
_KEY_SETTING = "pagination_key"


class PaginationError(ValueError):
    """A ``next`` token that is malformed, forged, expired or not the caller's."""


def node_key(engine: Engine, override: str | None = None) -> bytes:
    """The node's signing key, created on first use and shared through the database."""
    if override:
        return hashlib.sha256(override.encode()).digest()
    with write_transaction(engine) as conn:
        insert_new = _insert_if_absent(conn.dialect.name)
        # Workers starting together: the first insert wins, everyone reads it.
        conn.execute(
            insert_new(Setting)
            .values(key=_KEY_SETTING, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        value = conn.execute(select(Setting.value).where(Setting.key == _KEY_SETTING)).scalar_one()
    return bytes.fromhex(value)


def _insert_if_absent(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _digest(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def derive(self, purpose: str) -> bytes:
        """A key for another use (``purpose``) derived from the node key."""
        return hmac.new(self._key, b"derive\0" + purpose.encode(), hashlib.sha256).digest()

    def issue(self, *, org_id: int, fingerprint: str, position_us: int) -> str:
        payload = orjson.dumps(
            {
                "o": org_id,
                "f": hashlib.sha256(fingerprint.encode()).hexdigest()[:32],
                "p": position_us,
                "x": now_us() + TOKEN_LIFETIME_US,
            }
        )
        return _b64(payload) + "." + _b64(self._digest(payload))

    def position(self, token: str, *, org_id: int, fingerprint: str) -> int:
        """The position a valid token resumes from; raises :class:`PaginationError`."""
        if len(token) > 512 or token.count(".") != 1:
            raise PaginationError("the next token is malformed")
        encoded, signature = token.split(".")
        try:
            payload = _unb64(encoded)
            given = _unb64(signature)
        except (binascii.Error, ValueError):
            raise PaginationError("the next token is malformed") from None
        if not hmac.compare_digest(given, self._digest(payload)):
            raise PaginationError("the next token was not issued by this server")
        data = orjson.loads(payload)
        if data.get("o") != org_id:
            raise PaginationError("the next token was issued to another caller")
        if data.get("f") != hashlib.sha256(fingerprint.encode()).hexdigest()[:32]:
            raise PaginationError(
                "the next token belongs to a different request: repeat the same endpoint "
                "and filters, changing only limit"
            )
        if not isinstance(data.get("x"), int) or data["x"] < now_us():
            raise PaginationError("the next token has expired; start again without it")
        position = data.get("p")
        if not isinstance(position, int):
            raise PaginationError("the next token is malformed")
        return position


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("bad base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
