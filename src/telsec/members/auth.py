"""Turning a request's credentials into a :class:`Principal`.

Three schemes are accepted, as TAXII clients use all of them:
``Authorization: Bearer <token>``, ``Authorization: Token <token>`` and HTTP
Basic with a user's name and password (or any user name and an API token as
the password).  Token secrets are compared by SHA-256 digest in constant time.
Successful password checks are cached for a short while, since scrypt is
deliberately slow; token checks always go to the database, so a revoked token
stops working at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select

from telsec.members.passwords import verify_password
from telsec.members.service import PEER_ROLE, split_token, token_digest
from telsec.stix.timestamps import now_us
from telsec.storage.db import read_transaction
from telsec.storage.models import ApiToken, Organisation, User

PASSWORD_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Principal:
    """Who is asking: an organisation acting through a token or a user, with a role."""

    org_id: int
    org_name: str
    org_identity: str
    role: str
    actor: str  # "token:<id>" or "user:<name>", for the audit log

    @property
    def can_write(self) -> bool:
        return self.role in ("contributor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_peer(self) -> bool:
        """A federated node pulling from this one (see :mod:`telsec.federation`)."""
        return self.role == PEER_ROLE


class Authenticator:
    """Checks credentials against the node's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._password_cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal for an ``Authorization`` header value, or None."""
        if not authorization or "\x00" in authorization:
            return None
        scheme, _, credentials = authorization.strip().partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme in ("bearer", "token"):
            return self.from_token(credentials)
        if scheme == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            username, sep, password = decoded.partition(":")
            if not sep or "\x00" in decoded:
                return None
            if split_token(password) is not None:
                return self.from_token(password)
            return self.from_password(username, password)
        return None

    def from_token(self, token: str) -> Principal | None:
        parts = split_token(token)
        if parts is None:
            return None
        token_id, secret = parts
        with read_transaction(self._engine) as conn:
            row = conn.execute(
                select(
                    ApiToken.secret_sha256,
                    ApiToken.role,
                    ApiToken.expires_us,
                    ApiToken.revoked_us,
                    Organisation.id,
                    Organisation.name,
                    Organisation.identity_id,
                )
                .join(Organisation, Organisation.id == ApiToken.org_id)
                .where(ApiToken.token_id == token_id)
            ).first()
        if row is None:
            return None
        if not hmac.compare_digest(row.secret_sha256, token_digest(secret)):
            return None
        if row.revoked_us is not None:
            return None
        if row.expires_us is not None and row.expires_us <= now_us():
            return None
        return Principal(row.id, row.name, row.identity_id, row.role, f"token:{token_id}")

    def from_password(self, username: str, password: str) -> Principal | None:
        key = hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._password_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        with read_transaction(self._engine) as conn:
            row = conn.execute(
                select(
                    User.password_hash,
                    User.role,
                    User.active,
                    Organisation.id,
                    Organisation.name,
                    Organisation.identity_id,
                )
                .join(Organisation, Organisation.id == User.org_id)
                .where(User.username == username)
            ).first()
        if row is None or not row.active or not verify_password(password, row.password_hash):
            return None
        principal = Principal(row.id, row.name, row.identity_id, row.role, f"user:{username}")
        with self._lock:
            if len(self._password_cache) > 10_000:
                self._password_cache.clear()
            self._password_cache[key] = (now + PASSWORD_CACHE_SECONDS, principal)
        return principal
