"""Table definitions.  Every schema change goes through an Alembic migration.

Times are stored as integer microseconds since the Unix epoch (UTC): exact,
sortable, and identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection as _Many
from hashlib import blake2b
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    cast,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class StixBody(TypeDecorator[str]):
    """A STIX object as JSON text: ``TEXT`` on SQLite, ``JSONB`` on PostgreSQL.

    Values go in and come out as JSON text, so the hot paths never decode and
    re-encode objects; on PostgreSQL the column is real JSONB (queryable, and
    checked as JSON by the server): the text is bound with a ``::JSONB`` cast
    and read back cast to text.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(Text())

    def bind_processor(self, dialect: Dialect) -> None:
        return None  # the value is already JSON text

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None

    def column_expression(self, colexpr: Any) -> Any:
        return cast(colexpr, Text)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Setting(Base):
    """Node-wide values, such as the key that signs pagination tokens."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Clock(Base):
    """One row: the last ``date_added`` handed out, so that it strictly increases."""

    __tablename__ = "clock"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_us: Mapped[int] = mapped_column(BigInteger)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    identity_id: Mapped[str] = mapped_column(String(100), unique=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)
    # True for the organisation that stands for a federated peer node: what it
    # pulls from this node and what this node pulls from it go under its name.
    is_peer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    username: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_us: Mapped[int] = mapped_column(BigInteger)


class ApiToken(Base):
    """An API token.  Only the SHA-256 of its secret part is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ApiRoot(Base):
    """A TAXII API root: one trust group (a coalition root, a national root)."""

    __tablename__ = "api_roots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    max_content_length: Mapped[int] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger)


class Collection(Base):
    __tablename__ = "collections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[str] = mapped_column(String(36), unique=True)
    api_root_id: Mapped[int] = mapped_column(ForeignKey("api_roots.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    alias: Mapped[str | None] = mapped_column(String(100), nullable=True)
    default_tlp: Mapped[int] = mapped_column(Integer)
    # True for the collection that holds the node's own vocabulary objects:
    # every authenticated member may read it, nobody may write it over TAXII.
    is_vocabulary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("api_root_id", "alias", name="uq_collections_root_alias"),)


class Grant(Base):
    """Read and write rights of one organisation on one collection."""

    __tablename__ = "grants"
    collection_pk: Mapped[int] = mapped_column(ForeignKey("collections.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    can_read: Mapped[bool] = mapped_column(Boolean, default=False)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    # For a peer node: TLP:AMBER versions of the collection may flow to it
    # (CLEAR and GREEN always do; AMBER+STRICT and RED never).
    share_amber: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


def hash64(text: str) -> int:
    """A signed 64-bit digest (BLAKE2b) of ``text``, for the compact id index.

    Random STIX ids (UUIDv4) land on a random page of any index keyed by them,
    so at a million objects each stored version dirties one index page.  An
    index of two 8-byte integers has a third as many pages as one of the id and
    version texts, and writing a 1,000-object envelope costs a quarter less
    (docs/benchmarks.md).
    """
    digest = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class StixObject(Base):
    """One version of one STIX object in one collection.

    ``version`` is the ``modified`` timestamp (else ``created``; else empty for
    objects that have neither, such as SCOs) normalised to microseconds, so that
    the key (collection, id, version) identifies a version exactly.
    ``id_hash`` and ``version_hash`` are :func:`hash64` of ``stix_id`` and
    ``version``.  The unique index is on them: two versions collide with
    probability 2**-64 per pair (below 1e-7 for a million objects in one
    collection), and the writer refuses a colliding version with its reason
    rather than fail.  Every lookup by id goes through :meth:`has_id` or
    :meth:`has_id_in`, which compare the id text as well.
    ``tlp`` is the marking found on the object (NULL: none, the collection's
    default applies at read time).  ``date_added_us`` is unique and strictly
    increasing because it is handed out from the :class:`Clock` row under the
    write lock (a unique index would only slow every insert down).
    """

    __tablename__ = "stix_objects"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_pk: Mapped[int] = mapped_column(ForeignKey("collections.id"))
    stix_id: Mapped[str] = mapped_column(String(300))
    stix_type: Mapped[str] = mapped_column(String(250))
    version: Mapped[str] = mapped_column(String(32))
    spec_version: Mapped[str] = mapped_column(String(8))
    date_added_us: Mapped[int] = mapped_column(BigInteger)
    is_latest: Mapped[bool] = mapped_column(Boolean)
    is_first: Mapped[bool] = mapped_column(Boolean)
    # The newest non-RED version of an object whose newest version is RED.
    below_red: Mapped[bool] = mapped_column(Boolean, default=False)
    # is_latest or below_red: what the indexes for "last" reads key on.
    maybe_last: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked: Mapped[bool] = mapped_column(Boolean)
    tlp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by_ref: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body: Mapped[str] = mapped_column(StixBody)
    id_hash: Mapped[int] = mapped_column(BigInteger)
    version_hash: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("collection_pk", "id_hash", "version_hash", name="uq_stix_objects_key"),
        Index("ix_stix_objects_added", "collection_pk", "date_added_us"),
        Index("ix_stix_objects_latest", "collection_pk", "maybe_last", "date_added_us"),
        Index("ix_stix_objects_type", "collection_pk", "stix_type", "maybe_last", "date_added_us"),
    )

    @classmethod
    def has_id(cls, stix_id: str) -> ColumnElement[bool]:
        """SQL condition: a version of ``stix_id`` (through the id index)."""
        return and_(cls.id_hash == hash64(stix_id), cls.stix_id == stix_id)

    @classmethod
    def has_id_in(cls, stix_ids: _Many[str]) -> ColumnElement[bool]:
        """SQL condition: a version of one of ``stix_ids`` (through the id index)."""
        return and_(cls.id_hash.in_([hash64(i) for i in stix_ids]), cls.stix_id.in_(list(stix_ids)))


class RedRecipient(Base):
    """An organisation identity entitled to read a TLP:RED object version."""

    __tablename__ = "red_recipients"
    object_seq: Mapped[int] = mapped_column(
        ForeignKey("stix_objects.seq", ondelete="CASCADE"), primary_key=True
    )
    identity_id: Mapped[str] = mapped_column(String(300), primary_key=True)


class Status(Base):
    """A TAXII status resource: the outcome of one POST to a collection."""

    __tablename__ = "statuses"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_root_id: Mapped[int] = mapped_column(ForeignKey("api_roots.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[str] = mapped_column(String(16))
    request_us: Mapped[int] = mapped_column(BigInteger)
    total_count: Mapped[int] = mapped_column(Integer)
    success_count: Mapped[int] = mapped_column(Integer)
    failure_count: Mapped[int] = mapped_column(Integer)
    pending_count: Mapped[int] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text)  # JSON: successes, failures, pendings


class AuditEntry(Base):
    """Append-only record of access to AMBER, AMBER+STRICT and RED objects.

    Triggers installed by the migration refuse UPDATE and DELETE; each entry
    carries the SHA-256 of the previous one so that tampering is evident.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at_us: Mapped[int] = mapped_column(BigInteger)
    org_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    api_root: Mapped[str | None] = mapped_column(String(100), nullable=True)
    collection_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    tlp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    object_count: Mapped[int] = mapped_column(Integer)
    objects: Mapped[str] = mapped_column(Text)  # JSON list of [id, version]
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_at", "at_us"),)


class Peer(Base):
    """Another telsec node (or any TAXII 2.1 server) this node federates with.

    ``org_id`` is the organisation that stands for the peer here: its inbound
    tokens (role ``peer``) and the objects pulled from it are under that name.
    ``token`` is the secret this node presents to the peer; it cannot be
    hashed, since it has to be sent, and is never printed or logged.
    """

    __tablename__ = "peers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    token: Mapped[str | None] = mapped_column(Text, nullable=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    ca_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    cert_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    key_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)


class PeerFeed(Base):
    """One collection pulled from a peer into a local collection, and where it got to.

    ``cursor`` is the peer's ``X-TAXII-Date-Added-Last`` of the last page
    stored, kept as the peer sent it and committed in the same transaction as
    that page's objects: a sync killed half-way resumes where it left off.
    """

    __tablename__ = "peer_feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id", ondelete="CASCADE"))
    remote_collection: Mapped[str] = mapped_column(String(100))
    collection_pk: Mapped[int] = mapped_column(ForeignKey("collections.id"))
    cursor: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cursor_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    objects_url: Mapped[str | None] = mapped_column(String(600), nullable=True)
    last_attempt_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_success_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    stored: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("peer_id", "remote_collection", name="uq_peer_feeds_remote"),
    )


class ConsoleSession(Base):
    """A signed-in web console session.  The cookie carries a random secret; only its
    SHA-256 is stored, so a copy of the database does not let anyone sign in."""

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_us: Mapped[int] = mapped_column(BigInteger)
    last_seen_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int] = mapped_column(BigInteger)
    ended_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
