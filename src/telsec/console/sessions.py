"""Console sign-in: server-side sessions and CSRF tokens.

The session cookie holds a random 256-bit secret; the database keeps only its
SHA-256, so sessions are revocable (sign-out, a deactivated user) and a copy of
the database does not let anyone in.  The CSRF token of a session is an HMAC
of its secret under the node key: it is never stored, is different for every
session, and is checked on every form post (with ``SameSite=Strict`` cookies
as a second line).  The user is looked up on every request, so deactivating a
user or changing their role takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from telsec.members.auth import Principal
from telsec.stix.timestamps import now_us
from telsec.storage.db import read_transaction, write_transaction
from telsec.storage.models import ConsoleSession, Organisation, User

COOKIE = "telsec_session"
#: a session ends this long after sign-in, whatever happens
LIFETIME_US = 12 * 3600 * 1_000_000
#: ... or after this long without a request
IDLE_US = 60 * 60 * 1_000_000
#: last_seen is written at most this often (not on every request)
_TOUCH_US = 60 * 1_000_000


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, and the CSRF token their forms must carry."""

    principal: Principal
    username: str
    csrf: str
    org_country: str | None


class Sessions:
    """Creates, checks and ends console sessions."""

    def __init__(self, engine: Engine, key: bytes) -> None:
        self._engine = engine
        self._key = key

    def csrf_for(self, secret: str) -> str:
        return hmac.new(self._key, b"csrf\0" + secret.encode(), hashlib.sha256).hexdigest()

    def start(self, username: str) -> str:
        """A new session for ``username`` (already authenticated); returns the cookie value."""
        secret = secrets.token_urlsafe(32)
        now = now_us()
        with write_transaction(self._engine) as conn:
            user_id = conn.execute(select(User.id).where(User.username == username)).scalar_one()
            conn.execute(
                insert(ConsoleSession).values(
                    secret_sha256=_digest(secret),
                    user_id=user_id,
                    created_us=now,
                    last_seen_us=now,
                    expires_us=now + LIFETIME_US,
                )
            )
        return secret

    def check(self, secret: str | None) -> SignedIn | None:
        """The signed-in user of a cookie value, or None (unknown, ended, expired, idle,
        or the user deactivated)."""
        if not secret or len(secret) > 100:
            return None
        now = now_us()
        with read_transaction(self._engine) as conn:
            row = conn.execute(
                select(
                    ConsoleSession.id,
                    ConsoleSession.last_seen_us,
                    ConsoleSession.expires_us,
                    ConsoleSession.ended_us,
                    User.username,
                    User.role,
                    User.active,
                    Organisation.id.label("org_id"),
                    Organisation.name,
                    Organisation.identity_id,
                    Organisation.country,
                )
                .join(User, User.id == ConsoleSession.user_id)
                .join(Organisation, Organisation.id == User.org_id)
                .where(ConsoleSession.secret_sha256 == _digest(secret))
            ).first()
        if row is None or row.ended_us is not None or not row.active:
            return None
        if row.expires_us <= now or row.last_seen_us + IDLE_US <= now:
            return None
        if now - row.last_seen_us > _TOUCH_US:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    update(ConsoleSession)
                    .where(ConsoleSession.id == row.id)
                    .values(last_seen_us=now)
                )
        principal = Principal(
            row.org_id, row.name, row.identity_id, row.role, f"user:{row.username}"
        )
        return SignedIn(principal, row.username, self.csrf_for(secret), row.country)

    def end(self, secret: str) -> None:
        with write_transaction(self._engine) as conn:
            conn.execute(
                update(ConsoleSession)
                .where(ConsoleSession.secret_sha256 == _digest(secret))
                .values(ended_us=now_us())
            )
