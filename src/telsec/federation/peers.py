"""The peer register: who this node federates with, and what it pulls from each.

Adding a peer creates the organisation that stands for it on this node (its
objects are stored under that name, and its own pulls authenticate as it), a
read grant on the local collection (with AMBER if ``forward_amber``), one
feed per remote collection, and an inbound token (role ``peer``) to hand to
the peer's operator.  The token this node presents to the peer is kept to be
sent, so it cannot be hashed; it is never listed, printed or logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telsec.members.service import (
    PEER_ROLE,
    MembersError,
    add_organisation,
    find_organisation,
    get_collection,
    issue_token,
)
from telsec.stix.timestamps import now_us
from telsec.storage.db import read_transaction, write_transaction
from telsec.storage.models import ApiToken, Collection, Grant, Organisation, Peer, PeerFeed

PEER_ORG_PREFIX = "peer:"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


class FederationError(ValueError):
    """A peer cannot be added, changed or found; the message says why."""


@dataclass(frozen=True)
class Tls:
    """How this node authenticates a peer's server and itself to it (mutual TLS)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True)
class FeedInfo:
    id: int
    remote_collection: str
    local_collection: str  # the local collection's id
    local_alias: str | None
    local_pk: int
    cursor: str | None
    cursor_us: int | None
    objects_url: str | None
    last_attempt_us: int | None
    last_success_us: int | None
    last_error: str | None
    stored: int
    duplicates: int
    rejected: int


@dataclass(frozen=True)
class PeerInfo:
    id: int
    name: str
    url: str
    has_token: bool
    org_id: int
    org_name: str
    tls: Tls
    feeds: tuple[FeedInfo, ...]


@dataclass(frozen=True)
class PeerSecret:
    """What a sync needs to reach a peer (never printed)."""

    name: str
    url: str
    token: str | None
    org_id: int
    org_name: str
    org_identity: str
    tls: Tls


def peer_org_name(name: str) -> str:
    return PEER_ORG_PREFIX + name


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise FederationError(
            f"peer name {name!r}: use 1-63 lower-case letters, digits, '.', '_' or '-'"
        )
    return name


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FederationError(f"peer URL {url!r}: give the node's base URL, http(s)://host:port")
    return url.rstrip("/")


def _check_tls(tls: Tls) -> Tls:
    if (tls.cert_file is None) != (tls.key_file is None):
        raise FederationError("a client certificate needs both --cert and --key")
    for path in (tls.ca_file, tls.cert_file, tls.key_file):
        if path is not None and not Path(path).is_file():
            raise FederationError(f"{path}: no such file")
    return Tls(
        *(
            None if p is None else str(Path(p).resolve())
            for p in (tls.ca_file, tls.cert_file, tls.key_file)
        )
    )


def add_peer(
    engine: Engine,
    name: str,
    url: str,
    *,
    token: str | None,
    pull: list[str],
    into: str,
    forward_amber: bool = False,
    tls: Tls | None = None,
    country: str | None = None,
) -> tuple[PeerInfo, str]:
    """Register a peer; returns it and the inbound token to give its operator."""
    check_name(name)
    url = check_url(url)
    tls = _check_tls(tls or Tls())
    # no collections to pull: the peer only pulls from this node
    remote = [c.strip() for c in pull if c.strip()]
    if any(len(c) > 100 for c in remote):
        raise FederationError("a collection id or alias has at most 100 characters")
    try:
        local = get_collection(engine, into)
    except MembersError:
        raise FederationError(
            f"no local collection {into!r} (see `telsec admin collection list`)"
        ) from None
    if local.is_vocabulary:
        raise FederationError("the vocabulary collection is the node's own; pull into another")
    with read_transaction(engine) as conn:
        if conn.execute(select(Peer.id).where(Peer.name == name)).first() is not None:
            raise FederationError(f"peer {name!r} already exists (remove it first)")
    try:
        org = find_organisation(engine, peer_org_name(name))
    except MembersError:
        org = add_organisation(engine, peer_org_name(name), country)
    else:
        # a peer removed and added again keeps its organisation (the provenance
        # of what was pulled from it before)
        if not org.is_peer:
            raise FederationError(
                f"the organisation {org.name!r} exists and is not a peer's; rename it first"
            )
    try:
        with write_transaction(engine) as conn:
            conn.execute(update(Organisation).where(Organisation.id == org.id).values(is_peer=True))
            peer_pk = conn.execute(
                insert(Peer).values(
                    name=name,
                    url=url,
                    token=token or None,
                    org_id=org.id,
                    ca_file=tls.ca_file,
                    cert_file=tls.cert_file,
                    key_file=tls.key_file,
                    created_us=now_us(),
                )
            ).inserted_primary_key
            assert peer_pk is not None
            conn.execute(
                insert(Grant).values(
                    collection_pk=local.pk,
                    org_id=org.id,
                    can_read=True,
                    can_write=False,
                    share_amber=forward_amber,
                )
            )
            for collection in dict.fromkeys(remote):
                conn.execute(
                    insert(PeerFeed).values(
                        peer_id=peer_pk[0], remote_collection=collection, collection_pk=local.pk
                    )
                )
    except IntegrityError as exc:
        raise FederationError(f"peer {name!r} could not be added: {exc.orig}") from None
    inbound, _ = issue_token(engine, org.name, PEER_ROLE, label=f"inbound for peer {name}")
    return get_peer(engine, name), inbound


def _feeds(session: Session, peer_ids: list[int]) -> dict[int, list[FeedInfo]]:
    found: dict[int, list[FeedInfo]] = {}
    rows = session.execute(
        select(PeerFeed, Collection.collection_id, Collection.alias)
        .join(Collection, Collection.id == PeerFeed.collection_pk)
        .where(PeerFeed.peer_id.in_(peer_ids))
        .order_by(PeerFeed.id)
    ).all()
    for feed, local_id, alias in rows:
        found.setdefault(feed.peer_id, []).append(
            FeedInfo(
                id=feed.id,
                remote_collection=feed.remote_collection,
                local_collection=local_id,
                local_alias=alias,
                local_pk=feed.collection_pk,
                cursor=feed.cursor,
                cursor_us=feed.cursor_us,
                objects_url=feed.objects_url,
                last_attempt_us=feed.last_attempt_us,
                last_success_us=feed.last_success_us,
                last_error=feed.last_error,
                stored=feed.stored,
                duplicates=feed.duplicates,
                rejected=feed.rejected,
            )
        )
    return found


def list_peers(engine: Engine) -> list[PeerInfo]:
    with Session(engine) as session:
        rows = session.execute(
            select(Peer, Organisation.name)
            .join(Organisation, Organisation.id == Peer.org_id)
            .order_by(Peer.name)
        ).all()
        feeds = _feeds(session, [p.id for p, _ in rows])
    return [
        PeerInfo(
            id=p.id,
            name=p.name,
            url=p.url,
            has_token=bool(p.token),
            org_id=p.org_id,
            org_name=org_name,
            tls=Tls(p.ca_file, p.cert_file, p.key_file),
            feeds=tuple(feeds.get(p.id, [])),
        )
        for p, org_name in rows
    ]


def get_peer(engine: Engine, name: str) -> PeerInfo:
    for peer in list_peers(engine):
        if peer.name == name:
            return peer
    raise FederationError(f"no peer named {name!r} (see `telsec federation peer list`)")


def peer_secret(engine: Engine, name: str) -> PeerSecret:
    with Session(engine) as session:
        row = session.execute(
            select(Peer, Organisation.name, Organisation.identity_id)
            .join(Organisation, Organisation.id == Peer.org_id)
            .where(Peer.name == name)
        ).first()
        if row is None:
            raise FederationError(f"no peer named {name!r}")
        peer, org_name, identity = row
        return PeerSecret(
            name=peer.name,
            url=peer.url,
            token=peer.token,
            org_id=peer.org_id,
            org_name=org_name,
            org_identity=identity,
            tls=Tls(peer.ca_file, peer.cert_file, peer.key_file),
        )


def update_peer(
    engine: Engine,
    name: str,
    *,
    token: str | None = None,
    forward_amber: bool | None = None,
    url: str | None = None,
) -> PeerInfo:
    """Change the token sent to a peer, its URL, or whether AMBER flows to it."""
    peer = get_peer(engine, name)
    values: dict[str, object] = {}
    if token is not None:
        values["token"] = token or None
    if url is not None:
        values["url"] = check_url(url)
    with write_transaction(engine) as conn:
        if values:
            conn.execute(update(Peer).where(Peer.id == peer.id).values(**values))
        if forward_amber is not None:
            conn.execute(
                update(Grant).where(Grant.org_id == peer.org_id).values(share_amber=forward_amber)
            )
    return get_peer(engine, name)


def remove_peer(engine: Engine, name: str) -> PeerInfo:
    """Forget a peer: its feeds and grants go and its inbound tokens are revoked.

    The objects already pulled from it stay, under its organisation's name
    (their provenance).
    """
    peer = get_peer(engine, name)
    with write_transaction(engine) as conn:
        conn.execute(delete(PeerFeed).where(PeerFeed.peer_id == peer.id))
        conn.execute(delete(Peer).where(Peer.id == peer.id))
        conn.execute(delete(Grant).where(Grant.org_id == peer.org_id))
        conn.execute(
            update(ApiToken)
            .where(ApiToken.org_id == peer.org_id, ApiToken.revoked_us.is_(None))
            .values(revoked_us=now_us())
        )
    return peer


def peer_orgs(engine: Engine) -> frozenset[int]:
    """Every organisation that stands for a peer node (current or removed)."""
    with read_transaction(engine) as conn:
        return frozenset(
            conn.execute(select(Organisation.id).where(Organisation.is_peer.is_(True))).scalars()
        )
