"""Back-end specifics of the object store: PostgreSQL's JSONB twin of the bodies, and writers that
overlap (other workers or replicas on the same database)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from telsec.stix.tlp import Tlp
from telsec.storage.db import write_transaction
from telsec.storage.models import StixObject

from .helpers import SHARED, T0, Api, indicator


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_postgres_serves_the_stored_text_and_keeps_a_queryable_jsonb_twin(coalition):
    db = coalition.database
    with db.engine.connect() as conn:
        types = dict(
            conn.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = :schema AND table_name = 'stix_objects' "
                    "AND column_name IN ('body', 'body_json')"
                ),
                {"schema": db.settings.database_schema},
            ).all()
        )
    assert types == {"body": "text", "body_json": "jsonb"}
    api = Api(db)
    # Key order and number forms that JSONB would re-print differently.
    obj = indicator(Tlp.GREEN, name="queryable", labels=["ss7"])
    obj = {"x_score": 1.5, "x_big": 1e20, **obj}
    api.add(SHARED, coalition.token("Ofcom"), [obj])
    with db.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT body_json->>'name', jsonb_typeof(body_json->'labels'), body "
                "FROM stix_objects WHERE stix_id = :id"
            ),
            {"id": obj["id"]},
        ).one()
    assert tuple(row[:2]) == ("queryable", "array")
    assert row[2].startswith('{"x_score":1.5,"x_big":1e+20,')
    response = api.object(SHARED, coalition.token("FCC"), obj["id"])
    assert response.json()["objects"] == [obj]
    assert b'{"x_score":1.5,"x_big":1e+20,' in response.content
    with pytest.raises(DBAPIError), db.engine.begin() as conn:
        conn.execute(
            text("UPDATE stix_objects SET body = 'not json' WHERE stix_id = :id"), {"id": obj["id"]}
        )


RACE_BUG = (
    "BUG: store.ingest reads the existing versions (_existing_versions) before it takes the "
    "clock row lock (_reserve_date_added ... FOR UPDATE), so on PostgreSQL overlapping POSTs "
    "of one object decide on stale data"
)


def _overlapping_posts(coalition, envelopes):
    """POST each envelope from its own client while a writer holds the store's lock, so
    that all of them are in flight together; returns the responses."""
    db = coalition.database
    token = coalition.token("Ofcom")
    clients = [Api(db) for _ in envelopes]
    responses: list = [None] * len(envelopes)

    def post(n: int) -> None:
        responses[n] = clients[n].post(f"{SHARED}/objects/", token, envelopes[n])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(envelopes))]
    with write_transaction(db.engine) as holder:
        # What every ingest takes before storing (on SQLite the write lock itself).
        holder.execute(
            text("SELECT last_us FROM clock WHERE id = 1 FOR UPDATE")
            if db.backend == "postgres"
            else text("SELECT last_us FROM clock")
        )
        for t in threads:
            t.start()
        if db.backend == "postgres":
            pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
            deadline = time.monotonic() + 15
            while len(_queued_behind(db.engine, pid)) < len(threads):
                if time.monotonic() > deadline:
                    raise RuntimeError("the writers never queued behind the lock")
                time.sleep(0.02)
        else:
            time.sleep(0.3)
    for t in threads:
        t.join()
    return responses


def _queued_behind(engine, holder_pid):
    """Backends waiting, directly or through other waiters, on ``holder_pid``."""
    with engine.connect() as probe:
        rows = probe.execute(
            text(
                "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity "
                "WHERE datname = current_database()"
            )
        ).all()
    queued: set[int] = set()
    chain = {holder_pid}
    changed = True
    while changed:
        changed = False
        for pid, blockers in rows:
            if pid not in queued and chain.intersection(blockers or []):
                queued.add(pid)
                chain.add(pid)
                changed = True
    return queued


def test_overlapping_posts_of_the_same_object(coalition, request):
    obj = indicator(Tlp.GREEN)
    responses = _overlapping_posts(coalition, [[obj], [obj], [obj]])
    assert [r.status_code for r in responses] == [202, 202, 202], [r.text for r in responses]
    assert all(r.json()["success_count"] == 1 for r in responses)
    with coalition.database.engine.connect() as conn:
        rows = conn.execute(select(StixObject.seq).where(StixObject.stix_id == obj["id"])).all()
    assert len(rows) == 1


def test_overlapping_posts_of_versions_keep_one_latest(coalition, request):
    first = indicator(Tlp.GREEN, created=T0)
    stamps = ["2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z", "2024-01-04T00:00:00.000Z"]
    versions = [indicator(Tlp.GREEN, id=first["id"], created=T0, modified=t) for t in stamps]
    responses = _overlapping_posts(coalition, [[v] for v in versions])
    assert [r.status_code for r in responses] == [202, 202, 202]
    api = Api(coalition.database)
    token = coalition.token("Ofcom")
    last = api.object(SHARED, token, first["id"]).json()["objects"]
    assert [o["modified"] for o in last] == [stamps[-1]]
    first_version = api.object(SHARED, token, first["id"], match_version="first").json()
    assert [o["modified"] for o in first_version["objects"]] == [stamps[0]]


def test_polling_with_added_after_never_skips_concurrent_writes(coalition):
    """Commit order equals date_added order, so a client that polls with
    added_after = the last X-TAXII-Date-Added-Last it saw misses nothing."""
    db = coalition.database
    writers = [coalition.token(org) for org in ("Ofcom", "FCC", "ISED")]
    reader_token = coalition.token("ACMA", "reader")
    posted: list[str] = []
    done = threading.Event()
    failures: list[str] = []

    clients = {token: Api(db) for token in [*writers, reader_token]}

    def write(token: str) -> None:
        api = clients[token]
        for _ in range(5):
            batch = [indicator(Tlp.GREEN) for _ in range(2)]
            response = api.post(f"{SHARED}/objects/", token, batch)
            if response.status_code != 202:
                failures.append(response.text)
            posted.extend(o["id"] for o in batch)

    seen: list[str] = []

    def poll() -> None:
        api = clients[reader_token]
        since = None
        while True:
            finished = done.is_set()
            params = {} if since is None else {"added_after": since}
            response = api.objects(SHARED, reader_token, **params)
            if response.status_code != 200:
                failures.append(response.text)
                return
            body = response.json()
            seen.extend(o["id"] for o in body.get("objects", []))
            since = response.headers.get("x-taxii-date-added-last", since)
            if finished and not body["more"]:
                return

    poller = threading.Thread(target=poll)
    threads = [threading.Thread(target=write, args=(t,)) for t in writers]
    poller.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    poller.join()
    assert failures == []
    assert len(seen) == len(set(seen)) == len(posted) == 30
    assert set(seen) == set(posted)


def test_workers_starting_together_share_one_signing_key(coalition, request):
    """Several workers or replicas starting at once on a fresh database."""
    db = coalition.database
    outcome: list[object] = []

    def start_worker() -> None:
        try:
            outcome.append(Api(db))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=start_worker)
    with write_transaction(db.engine) as first:
        # The first worker has inserted the key but not yet committed.
        first.execute(
            text("INSERT INTO settings (key, value) VALUES ('pagination_key', :value)"),
            {"value": "ab" * 32},
        )
        thread.start()
        if db.backend == "postgres":
            pid = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
            deadline = time.monotonic() + 15
            while not _queued_behind(db.engine, pid):
                if time.monotonic() > deadline:
                    raise RuntimeError("the second worker never queued behind the first")
                time.sleep(0.02)
        else:
            time.sleep(0.3)
    thread.join()
    assert len(outcome) == 1
    assert isinstance(outcome[0], Api), repr(outcome[0])
    # Both use the same key: a token from one is accepted by the other.
    api = outcome[0]
    token = coalition.token("Ofcom")
    api.add(SHARED, token, [indicator(Tlp.GREEN) for _ in range(3)])
    page = api.get(f"{SHARED}/objects/", token, params={"limit": "1"}).json()
    other = Api(db)
    response = other.get(f"{SHARED}/objects/", token, params={"limit": "1", "next": page["next"]})
    assert response.status_code == 200
