"""Replication: pull each peer's collections into ours, page by page, exactly once.

For every feed (a peer's collection pulled into a local one) a sync asks the
peer for ``match[version]=all`` (every version, so that history and
revocations travel) ``added_after`` the feed's cursor, and for each page:

1. validates every object (telsec's ingest validator); a bad object is
   refused with its reason and counted, the good ones around it are kept;
2. refuses AMBER+STRICT and RED: they never leave the node where they were
   received, so a peer that sends them is misconfigured or hostile;
3. gives an unmarked object TLP:AMBER (or the local collection's default, if
   stricter): the peer's default is unknown, and guessing low would let it
   travel further than its producer meant;
4. stores the rest as versions keyed by (id, modified) under the peer's
   organisation (a version already here is a duplicate, not an error: that
   is what ends loops in rings and meshes), records the transfer in the audit
   log, and moves the cursor to the page's ``X-TAXII-Date-Added-Last``, all in
   one transaction.

A sync killed between two pages therefore resumes after the last page it
committed; a page that fails (peer down, slow, an error, a cut-off body) is
retried from the same cursor on the next round.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from telsec.exchange import store
from telsec.exchange.client import ClientError, TaxiiClient
from telsec.federation.peers import (
    FeedInfo,
    PeerSecret,
    Tls,
    get_peer,
    list_peers,
    peer_orgs,
    peer_secret,
)
from telsec.members.auth import Principal
from telsec.members.service import PEER_ROLE
from telsec.stix.timestamps import now_us, parse_timestamp
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate as validate_stix
from telsec.storage.db import read_transaction, write_transaction
from telsec.storage.models import ApiRoot, Collection, PeerFeed

log = logging.getLogger("telsec.federation")

PAGE_SIZE = 1000


@dataclass
class FeedOutcome:
    """What one sync of one feed did."""

    peer: str
    remote_collection: str
    local_collection: str
    pages: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None
    #: the first few reasons objects were refused
    reasons: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        """Everything but the reasons (printed on their own)."""
        row = asdict(self)
        del row["reasons"]
        return row


def ssl_context(tls: Tls) -> ssl.SSLContext | None:
    """The TLS settings for reaching a peer: its CA and this node's client certificate."""
    if tls.ca_file is None and tls.cert_file is None:
        return None
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file is not None and tls.key_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


def _principal(secret: PeerSecret) -> Principal:
    return Principal(
        secret.org_id, secret.org_name, secret.org_identity, PEER_ROLE, f"peer:{secret.name}"
    )


def _local_scope(engine: Engine, collection_pk: int) -> store.CollectionScope:
    with read_transaction(engine) as conn:
        row = conn.execute(
            select(Collection.collection_id, Collection.default_tlp, ApiRoot.name)
            .join(ApiRoot, ApiRoot.id == Collection.api_root_id)
            .where(Collection.id == collection_pk)
        ).one()
    return store.CollectionScope(
        pk=collection_pk,
        id=row.collection_id,
        api_root=row.name,
        default_tlp=Tlp(row.default_tlp),
        can_read=True,
        can_write=True,
    )


def screen(batch: store.PreparedBatch, scope: store.CollectionScope) -> None:
    """Apply the inbound TLP rules to a validated page, in place."""
    unmarked = max(Tlp.AMBER, scope.default_tlp)
    for key, cand in list(batch.candidates.items()):
        if cand.tlp is not None and cand.tlp >= Tlp.AMBER_STRICT:
            del batch.candidates[key]
            batch.result.failures.append(
                (
                    cand.stix_id,
                    cand.version or None,
                    f"TLP:{cand.tlp.label.upper()} never leaves the node where it was "
                    "received; refused",
                )
            )
        elif cand.tlp is None:
            cand.tlp = unmarked


def _record_error(engine: Engine, feed_id: int, message: str) -> None:
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                update(PeerFeed)
                .where(PeerFeed.id == feed_id)
                .values(last_attempt_us=now_us(), last_error=message[:2000])
            )
    except SQLAlchemyError:
        log.exception("cannot record a federation error")


def _objects_url(client: TaxiiClient, feed: FeedInfo, engine: Engine) -> str:
    if feed.objects_url:
        return feed.objects_url
    url = client.find_collection(feed.remote_collection)
    with write_transaction(engine) as conn:
        conn.execute(update(PeerFeed).where(PeerFeed.id == feed.id).values(objects_url=url))
    return url


def sync_feed(
    engine: Engine,
    secret: PeerSecret,
    feed: FeedInfo,
    client: TaxiiClient,
    *,
    validate: store.Validator,
    replicas_from: frozenset[int],
    page_size: int = PAGE_SIZE,
    max_pages: int | None = None,
) -> FeedOutcome:
    """Pull one feed until the peer has nothing newer (or ``max_pages``)."""
    scope = _local_scope(engine, feed.local_pk)
    outcome = FeedOutcome(secret.name, feed.remote_collection, scope.id)
    principal = _principal(secret)
    cursor, cursor_us = feed.cursor, feed.cursor_us
    try:
        url = _objects_url(client, feed, engine)
        # ends: every page must move the cursor forward, or the sync stops
        while max_pages is None or outcome.pages < max_pages:
            params = {"match[version]": "all", "limit": str(page_size)}
            if cursor:
                params["added_after"] = cursor
            body, headers = client.page(url, params)
            objects = body.get("objects", [])
            if not isinstance(objects, list):
                raise ClientError("the page's objects is not a list")
            more = body.get("more") is True
            if not objects:
                break
            last = headers.get("X-TAXII-Date-Added-Last")
            try:
                last_us = parse_timestamp(last) if last else None
            except ValueError:
                last_us = None
            if last is None or last_us is None:
                raise ClientError(
                    "a page without a valid X-TAXII-Date-Added-Last: cannot resume after it"
                )
            if cursor_us is not None and last_us <= cursor_us:
                raise ClientError("the peer sent a page that does not move past added_after")
            batch = store.prepare(objects, validate)
            screen(batch, scope)
            with write_transaction(engine) as conn:
                result = store.ingest(conn, scope, principal, batch, replicas_from=replicas_from)
                received = [
                    store.StoredVersion(c.stix_id, c.version, 0, c.tlp or scope.default_tlp, None)
                    for c in batch.candidates.values()
                ]
                store.audit_read(
                    conn,
                    scope,
                    principal,
                    received,
                    action="federate-in",
                    minimum=Tlp.CLEAR,
                    detail=orjson.dumps(
                        {
                            "peer": secret.name,
                            "remote_collection": feed.remote_collection,
                            "added_after": cursor,
                            "stored": result.added,
                            "rejected": len(result.failures),
                        }
                    ).decode(),
                )
                conn.execute(
                    update(PeerFeed)
                    .where(PeerFeed.id == feed.id)
                    .values(
                        last_attempt_us=now_us(),
                        last_success_us=now_us(),
                        last_error=None,
                        stored=PeerFeed.stored + result.added,
                        duplicates=PeerFeed.duplicates + len(result.successes) - result.added,
                        rejected=PeerFeed.rejected + len(result.failures),
                    )
                )
                # never backwards, should two syncs of one feed overlap
                conn.execute(
                    update(PeerFeed)
                    .where(
                        PeerFeed.id == feed.id,
                        or_(PeerFeed.cursor_us.is_(None), PeerFeed.cursor_us < last_us),
                    )
                    .values(cursor=last, cursor_us=last_us)
                )
            cursor, cursor_us = last, last_us
            outcome.pages += 1
            outcome.received += len(objects)
            outcome.stored += result.added
            outcome.duplicates += len(result.successes) - result.added
            outcome.rejected += len(result.failures)
            for oid, _version, reason in result.failures[: max(0, 5 - len(outcome.reasons))]:
                outcome.reasons.append(f"{oid or '(no id)'}: {reason}")
            if not more:
                break
        if outcome.pages == 0:
            with write_transaction(engine) as conn:
                conn.execute(
                    update(PeerFeed)
                    .where(PeerFeed.id == feed.id)
                    .values(last_attempt_us=now_us(), last_success_us=now_us(), last_error=None)
                )
    except (ClientError, ValueError) as exc:
        outcome.error = str(exc)[:500]
    except SQLAlchemyError as exc:
        outcome.error = f"database: {type(exc).__name__}: {str(exc)[:300]}"
    if outcome.error:
        _record_error(engine, feed.id, outcome.error)
    return outcome


def _every_feed_failed(
    engine: Engine, secret: PeerSecret, feeds: tuple[FeedInfo, ...], message: str
) -> list[FeedOutcome]:
    for feed in feeds:
        _record_error(engine, feed.id, message)
    return [
        FeedOutcome(secret.name, f.remote_collection, f.local_collection, error=message)
        for f in feeds
    ]


def sync_peer(
    engine: Engine,
    name: str,
    *,
    validate: store.Validator = validate_stix,
    page_size: int = PAGE_SIZE,
    timeout: float = 30.0,
    max_pages: int | None = None,
) -> list[FeedOutcome]:
    """Pull every feed of one peer."""
    secret = peer_secret(engine, name)
    feeds = get_peer(engine, name).feeds
    if not secret.token:
        return _every_feed_failed(
            engine,
            secret,
            feeds,
            "no token for this peer (telsec federation peer update NAME --token ...)",
        )
    try:
        context = ssl_context(secret.tls)
    except (OSError, ssl.SSLError) as exc:
        return _every_feed_failed(engine, secret, feeds, f"TLS set-up: {exc}")
    orgs = peer_orgs(engine)
    with TaxiiClient(secret.url, secret.token, timeout=timeout, ssl_context=context) as client:
        return [
            sync_feed(
                engine,
                secret,
                feed,
                client,
                validate=validate,
                replicas_from=orgs,
                page_size=page_size,
                max_pages=max_pages,
            )
            for feed in feeds
        ]


def sync_all(engine: Engine, **options: Any) -> list[FeedOutcome]:
    """One sync of every peer, one after the other."""
    outcomes: list[FeedOutcome] = []
    for peer in list_peers(engine):
        outcomes.extend(sync_peer(engine, peer.name, **options))
    return outcomes


class SyncLoop:
    """Sync every peer every ``interval`` seconds, peers in parallel.

    A peer whose sync failed is retried after a delay that doubles up to
    ``max_backoff``; a slow peer holds up only itself.  Peers added or removed
    while the loop runs are picked up on the next round.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        interval: float = 1.0,
        max_backoff: float = 30.0,
        workers: int = 4,
        page_size: int = PAGE_SIZE,
        timeout: float = 30.0,
        on_outcome: Callable[[FeedOutcome], None] | None = None,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.max_backoff = max_backoff
        self.workers = workers
        self.options: dict[str, Any] = {"page_size": page_size, "timeout": timeout}
        self.on_outcome = on_outcome
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="telsec-federation", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        due: dict[str, float] = {}
        failures: dict[str, int] = {}
        last_error: dict[str, str | None] = {}
        running: dict[str, Future[list[FeedOutcome]]] = {}
        next_round = 0.0
        names: list[str] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="telsec-peer") as pool:
            while not self._stop.is_set():
                now = time.monotonic()
                for name, future in list(running.items()):
                    if not future.done():
                        continue
                    del running[name]
                    try:
                        outcomes = future.result()
                    except Exception as exc:  # a bug must not stop the loop
                        log.exception("federation: syncing %s failed", name)
                        outcomes = [FeedOutcome(name, "", "", error=repr(exc))]
                    errors = [o.error for o in outcomes if o.error]
                    if errors:
                        failures[name] = failures.get(name, 0) + 1
                        delay = min(self.max_backoff, self.interval * 2 ** failures[name])
                    else:
                        failures[name] = 0
                        delay = self.interval
                    due[name] = now + delay
                    error = errors[0] if errors else None
                    if error != last_error.get(name):
                        if error:
                            log.warning("federation: %s: %s (retrying)", name, error)
                        elif last_error.get(name):
                            log.warning("federation: %s: recovered", name)
                        last_error[name] = error
                    for outcome in outcomes:
                        if outcome.stored or outcome.rejected:
                            log.info(
                                "federation: %s %s -> %s: %d stored, %d duplicates, %d rejected",
                                name,
                                outcome.remote_collection,
                                outcome.local_collection,
                                outcome.stored,
                                outcome.duplicates,
                                outcome.rejected,
                            )
                        if self.on_outcome is not None:
                            self.on_outcome(outcome)
                if now >= next_round:  # the register is re-read once per interval
                    next_round = now + self.interval
                    try:
                        names = [peer.name for peer in list_peers(self.engine)]
                    except SQLAlchemyError as exc:
                        log.warning("federation: cannot read the peers: %s", exc)
                for name in names:
                    if name not in running and due.get(name, 0.0) <= now:
                        running[name] = pool.submit(sync_peer, self.engine, name, **self.options)
                self._stop.wait(0.05)
