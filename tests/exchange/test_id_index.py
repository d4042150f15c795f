"""The compact unique index on (collection, id hash, version hash), on SQLite and PostgreSQL.

Lookups by id compare the id text as well as its hash, and a version whose hashes
collide with another's is refused with its reason rather than failing the POST.
A real 64-bit collision cannot be found in a test's time, so these tests give two
chosen ids the same hash (the one thing replaced: ``hash64`` where the store and
the model call it).
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import func, select

from telsec.exchange import store
from telsec.stix.tlp import Tlp
from telsec.storage import models
from telsec.storage.db import alembic_config, current_revision, upgrade
from telsec.storage.models import RedRecipient, StixObject, hash64

from .helpers import SHARED, T0, T1, Api, indicator, new_id

VICTIM = new_id("indicator")
TWIN = new_id("indicator")


@pytest.fixture
def colliding(monkeypatch):
    """``hash64`` with TWIN hashing to VICTIM's value."""

    def forged(text: str) -> int:
        return hash64(VICTIM if text == TWIN else text)

    monkeypatch.setattr(store, "hash64", forged)
    monkeypatch.setattr(models, "hash64", forged)


def test_hash64_is_a_stable_signed_64_bit_digest():
    # Stored values: a change here needs a migration that rewrites them.
    assert hash64("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f") == 1618722892265949956
    assert hash64("") == -1970711489451281740
    values = {hash64(new_id("indicator")) for _ in range(1000)}
    assert len(values) == 1000
    assert all(-(1 << 63) <= v < 1 << 63 for v in values)


def test_colliding_versions_are_refused_one_by_one(coalition, colliding):
    api = Api(coalition.database)
    token = coalition.token("Ofcom")
    victim = indicator(Tlp.GREEN, id=VICTIM, created=T0)
    twin = indicator(Tlp.GREEN, id=TWIN, created=T0, name="the twin")
    bystander = indicator(Tlp.GREEN)

    status = api.add(SHARED, token, [victim, twin, bystander])
    assert (status["success_count"], status["failure_count"]) == (2, 1)
    [failure] = status["failures"]
    assert failure["id"] == TWIN
    assert "index key" in failure["message"]

    # Posted alone later, it meets the stored version's key.
    status = api.add(SHARED, token, [twin])
    assert status["failures"][0]["id"] == TWIN
    assert "index key" in status["failures"][0]["message"]

    # Another version of the twin has another version hash: stored, and kept apart
    # from the victim's versions although their id hashes are equal.
    later = indicator(Tlp.GREEN, id=TWIN, created=T0, modified=T1, name="the twin, later")
    assert api.add(SHARED, token, [later])["success_count"] == 1
    assert api.object(SHARED, token, TWIN).json()["objects"] == [later]
    assert api.object(SHARED, token, VICTIM).json()["objects"] == [victim]
    assert len(api.versions(SHARED, token, VICTIM).json()["versions"]) == 1
    assert len(api.versions(SHARED, token, TWIN).json()["versions"]) == 1
    assert set(api.ids(SHARED, token, **{"match[id]": f"{VICTIM},{TWIN}"})) == {VICTIM, TWIN}


def test_reposting_the_victim_is_still_a_plain_duplicate(coalition, colliding):
    api = Api(coalition.database)
    token = coalition.token("Ofcom")
    victim = indicator(Tlp.GREEN, id=VICTIM, created=T0)
    later_twin = indicator(Tlp.GREEN, id=TWIN, created=T0, modified=T1)
    assert api.add(SHARED, token, [victim, later_twin])["success_count"] == 2
    status = api.add(SHARED, token, [victim])
    assert (status["success_count"], status["failure_count"]) == (1, 0)
    with coalition.database.engine.connect() as conn:
        rows = conn.execute(
            select(StixObject.stix_id).where(StixObject.stix_id.in_([VICTIM, TWIN]))
        ).all()
    assert sorted(r[0] for r in rows) == sorted([VICTIM, TWIN])


def test_migration_0005_gives_stored_rows_their_hashes_and_keeps_red_recipients(coalition):
    engine = coalition.database.engine
    api = Api(coalition.database)
    token = coalition.token("Ofcom")
    fcc = coalition.orgs["FCC"].identity_id
    objects = [indicator(Tlp.GREEN) for _ in range(5)]
    red = indicator(Tlp.RED, recipients=[fcc])
    first = indicator(Tlp.GREEN, created=T0)
    second = dict(first, modified=T1, name="second version")
    assert api.add(SHARED, token, [*objects, red, first, second])["success_count"] == 8
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(StixObject)).scalar_one()

    command.downgrade(alembic_config(engine), "0004")
    assert current_revision(engine) == "0004"
    upgrade(engine)
    assert current_revision(engine) == "0006"

    with engine.connect() as conn:
        rows = conn.execute(
            select(
                StixObject.stix_id, StixObject.version, StixObject.id_hash, StixObject.version_hash
            )
        ).all()
        recipients = conn.execute(select(func.count()).select_from(RedRecipient)).scalar_one()
    assert len(rows) == stored
    assert all((ih, vh) == (hash64(i), hash64(v)) for i, v, ih, vh in rows)
    assert recipients == 1
    fcc_token = coalition.token("FCC")
    assert api.object(SHARED, fcc_token, red["id"]).json()["objects"] == [red]
    assert api.object(SHARED, token, first["id"]).json()["objects"] == [second]
