"""Administration of members, tokens, API roots, collections and grants.

Every function takes an :class:`~sqlalchemy.Engine` and does one thing in its
own transaction.  Errors a person can fix raise :class:`MembersError` with a
message that says how.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from telsec.members.passwords import hash_password
from telsec.stix.ids import organisation_identity_id
from telsec.stix.timestamps import now_us
from telsec.stix.tlp import Tlp
from telsec.storage.db import read_transaction, write_transaction
from telsec.storage.models import (
    ApiRoot,
    ApiToken,
    Collection,
    Grant,
    Organisation,
    User,
)

ROLES = ("reader", "contributor", "admin")
#: The role of a federated peer node's tokens: read-only, TLP-capped, audited.
PEER_ROLE = "peer"
TOKEN_PREFIX = "tsk_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_MAX_CONTENT_LENGTH = 64 * 1024 * 1024
_ROOT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class MembersError(ValueError):
    """An administrative request that cannot be carried out, and why."""


@dataclass(frozen=True)
class OrgInfo:
    id: int
    name: str
    identity_id: str
    country: str | None
    is_peer: bool = False


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    org: str
    role: str
    label: str
    created_us: int
    expires_us: int | None
    revoked_us: int | None


@dataclass(frozen=True)
class CollectionInfo:
    pk: int
    id: str
    api_root: str
    title: str
    description: str
    alias: str | None
    default_tlp: Tlp
    readers: tuple[str, ...]
    writers: tuple[str, ...]
    is_vocabulary: bool


def check_role(role: str, *, peer_ok: bool = False) -> str:
    if role == PEER_ROLE and peer_ok:
        return role
    if role not in ROLES:
        raise MembersError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def add_organisation(engine: Engine, name: str, country: str | None = None) -> OrgInfo:
    name = name.strip()
    if not name or len(name) > 200:
        raise MembersError("an organisation needs a name of 1 to 200 characters")
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise MembersError(
            f"country must be an ISO 3166-1 alpha-2 code such as GB, not {country!r}"
        )
    identity = organisation_identity_id(name)
    try:
        with write_transaction(engine) as conn:
            pk = conn.execute(
                insert(Organisation).values(
                    name=name, identity_id=identity, country=country, created_us=now_us()
                )
            ).inserted_primary_key
    except IntegrityError:
        raise MembersError(f"organisation {name!r} already exists") from None
    assert pk is not None
    return OrgInfo(id=int(pk[0]), name=name, identity_id=identity, country=country)


def list_organisations(engine: Engine) -> list[OrgInfo]:
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(
                Organisation.id, Organisation.name, Organisation.identity_id, Organisation.country
            ).order_by(Organisation.name)
        ).all()
    return [
        OrgInfo(id=r.id, name=r.name, identity_id=r.identity_id, country=r.country) for r in rows
    ]


def find_organisation(engine: Engine, name: str) -> OrgInfo:
    with read_transaction(engine) as conn:
        row = conn.execute(
            select(
                Organisation.id,
                Organisation.name,
                Organisation.identity_id,
                Organisation.country,
                Organisation.is_peer,
            ).where(Organisation.name == name)
        ).first()
    if row is None:
        raise MembersError(f"no organisation named {name!r} (see `telsec admin org list`)")
    return OrgInfo(
        id=row.id,
        name=row.name,
        identity_id=row.identity_id,
        country=row.country,
        is_peer=bool(row.is_peer),
    )


def add_user(engine: Engine, username: str, org: str, role: str, password: str) -> None:
    check_role(role)
    if len(password) < 12:
        raise MembersError("passwords must be at least 12 characters long")
    organisation = find_organisation(engine, org)
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(User).values(
                    org_id=organisation.id,
                    username=username,
                    password_hash=hash_password(password),
                    role=role,
                    active=True,
                    created_us=now_us(),
                )
            )
    except IntegrityError:
        raise MembersError(f"user {username!r} already exists") from None


@dataclass(frozen=True)
class UserInfo:
    username: str
    org: str
    role: str
    active: bool
    created_us: int


def list_users(engine: Engine) -> list[UserInfo]:
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(User.username, Organisation.name, User.role, User.active, User.created_us)
            .join(Organisation, Organisation.id == User.org_id)
            .order_by(Organisation.name, User.username)
        ).all()
    return [UserInfo(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]


def set_password(engine: Engine, username: str, password: str) -> None:
    if len(password) < 12:
        raise MembersError("passwords must be at least 12 characters long")
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(User)
            .where(User.username == username)
            .values(password_hash=hash_password(password))
        )
    if result.rowcount == 0:
        raise MembersError(f"no user named {username!r}")


def set_user_active(engine: Engine, username: str, active: bool) -> None:
    with write_transaction(engine) as conn:
        result = conn.execute(update(User).where(User.username == username).values(active=active))
    if result.rowcount == 0:
        raise MembersError(f"no user named {username!r}")


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``tsk_<id>_<secret>`` -> (id, secret), or None when malformed."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    parts = token[len(TOKEN_PREFIX) :].split("_", 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def issue_token(
    engine: Engine,
    org: str,
    role: str,
    *,
    label: str = "",
    expires_in_days: float | None = None,
    username: str | None = None,
) -> tuple[str, TokenInfo]:
    """Create a token and return it (the only time its secret is seen) with its record."""
    check_role(role, peer_ok=True)
    organisation = find_organisation(engine, org)
    if (role == PEER_ROLE) != organisation.is_peer:
        raise MembersError(
            "a peer node's organisation takes tokens of role peer, and only it does "
            "(peers are added with `telsec federation peer add`)"
        )
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    created = now_us()
    expires = None if expires_in_days is None else created + int(expires_in_days * 86400e6)
    with write_transaction(engine) as conn:
        user_id = None
        if username is not None:
            user_id = conn.execute(
                select(User.id).where(User.username == username, User.org_id == organisation.id)
            ).scalar()
            if user_id is None:
                raise MembersError(f"no user {username!r} in organisation {org!r}")
        conn.execute(
            insert(ApiToken).values(
                token_id=token_id,
                secret_sha256=token_digest(secret),
                org_id=organisation.id,
                user_id=user_id,
                role=role,
                label=label,
                created_us=created,
                expires_us=expires,
                revoked_us=None,
            )
        )
    info = TokenInfo(token_id, organisation.name, role, label, created, expires, None)
    return f"{TOKEN_PREFIX}{token_id}_{secret}", info


def revoke_token(engine: Engine, token_or_id: str) -> str:
    """Revoke a token given either its id or the whole token; returns the id."""
    parts = split_token(token_or_id)
    token_id = parts[0] if parts else token_or_id
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(ApiToken)
            .where(ApiToken.token_id == token_id, ApiToken.revoked_us.is_(None))
            .values(revoked_us=now_us())
        )
    if result.rowcount == 0:
        raise MembersError(f"no active token with id {token_id!r} (see `telsec admin token list`)")
    return token_id


def list_tokens(engine: Engine) -> list[TokenInfo]:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        rows = session.execute(
            select(ApiToken, Organisation.name)
            .join(Organisation, Organisation.id == ApiToken.org_id)
            .order_by(ApiToken.created_us)
        ).all()
    return [
        TokenInfo(t.token_id, name, t.role, t.label, t.created_us, t.expires_us, t.revoked_us)
        for t, name in rows
    ]


#: first path segments the node itself answers (TAXII discovery, the API docs and the
#: web console): no API root may take one of these names
RESERVED_ROOT_NAMES = frozenset(
    {"taxii2", "docs", "openapi.json", "login", "logout", "objects", "global-titles", "map",
     "campaigns", "upload", "admin", "static"}
)  # fmt: skip


def ensure_api_root(
    engine: Engine,
    name: str,
    *,
    title: str | None = None,
    description: str = "",
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
) -> int:
    """The primary key of API root ``name``, created if new."""
    if not _ROOT_NAME.match(name):
        raise MembersError(
            f"API root name {name!r} must be lowercase letters, digits, '-' or '_' "
            "(it becomes a URL path segment)"
        )
    if name in RESERVED_ROOT_NAMES:
        raise MembersError(f"API root name {name!r} is taken by the node's own pages")
    with write_transaction(engine) as conn:
        pk = conn.execute(select(ApiRoot.id).where(ApiRoot.name == name)).scalar()
        if pk is not None:
            return int(pk)
        result = conn.execute(
            insert(ApiRoot).values(
                name=name,
                title=title or name,
                description=description,
                max_content_length=max_content_length,
                created_us=now_us(),
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])


def add_collection(
    engine: Engine,
    root: str,
    title: str,
    *,
    read: list[str],
    write: list[str],
    default_tlp: Tlp = Tlp.AMBER,
    description: str = "",
    alias: str | None = None,
    collection_id: str | None = None,
    is_vocabulary: bool = False,
) -> CollectionInfo:
    """Create a collection in ``root`` (created if new) with its grants."""
    orgs = {name: find_organisation(engine, name) for name in {*read, *write}}
    root_pk = ensure_api_root(engine, root)
    cid = collection_id or str(uuid.uuid4())
    try:
        uuid.UUID(cid)
    except ValueError:
        raise MembersError(f"collection id {cid!r} is not a UUID") from None
    try:
        with write_transaction(engine) as conn:
            pk = conn.execute(
                insert(Collection).values(
                    collection_id=cid,
                    api_root_id=root_pk,
                    title=title,
                    description=description,
                    alias=alias,
                    default_tlp=int(default_tlp),
                    is_vocabulary=is_vocabulary,
                    created_us=now_us(),
                )
            ).inserted_primary_key
            assert pk is not None
            for name, org in orgs.items():
                conn.execute(
                    insert(Grant).values(
                        collection_pk=pk[0],
                        org_id=org.id,
                        can_read=name in read,
                        can_write=name in write,
                    )
                )
    except IntegrityError:
        raise MembersError(f"collection {cid} or alias {alias!r} already exists") from None
    return get_collection(engine, cid)


def set_grant(engine: Engine, collection_id: str, org: str, *, read: bool, write: bool) -> None:
    organisation = find_organisation(engine, org)
    info = get_collection(engine, collection_id)
    with write_transaction(engine) as conn:
        conn.execute(
            delete(Grant).where(Grant.collection_pk == info.pk, Grant.org_id == organisation.id)
        )
        if read or write:
            conn.execute(
                insert(Grant).values(
                    collection_pk=info.pk, org_id=organisation.id, can_read=read, can_write=write
                )
            )


def get_collection(engine: Engine, collection_id: str) -> CollectionInfo:
    for info in list_collections(engine):
        if info.id == collection_id or (info.alias is not None and info.alias == collection_id):
            return info
    raise MembersError(f"no collection {collection_id!r} (see `telsec admin collection list`)")


def list_collections(engine: Engine, root: str | None = None) -> list[CollectionInfo]:
    from sqlalchemy.orm import Session

    query = select(Collection, ApiRoot.name).join(ApiRoot, ApiRoot.id == Collection.api_root_id)
    if root is not None:
        query = query.where(ApiRoot.name == root)
    with Session(engine) as session:
        collections = [
            (c, name) for c, name in session.execute(query.order_by(ApiRoot.name, Collection.id))
        ]
    with read_transaction(engine) as conn:
        grants = conn.execute(
            select(Grant.collection_pk, Organisation.name, Grant.can_read, Grant.can_write).join(
                Organisation, Organisation.id == Grant.org_id
            )
        ).all()
    readers: dict[int, list[str]] = {}
    writers: dict[int, list[str]] = {}
    for pk, name, can_read, can_write in grants:
        if can_read:
            readers.setdefault(pk, []).append(name)
        if can_write:
            writers.setdefault(pk, []).append(name)
    return [
        CollectionInfo(
            pk=c.id,
            id=c.collection_id,
            api_root=root_name,
            title=c.title,
            description=c.description,
            alias=c.alias,
            default_tlp=Tlp(c.default_tlp),
            readers=tuple(sorted(readers.get(c.id, []))),
            writers=tuple(sorted(writers.get(c.id, []))),
            is_vocabulary=c.is_vocabulary,
        )
        for c, root_name in collections
    ]
