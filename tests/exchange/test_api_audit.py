"""The audit log of AMBER, AMBER+STRICT and RED access, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from telsec.members import audit, service
from telsec.stix.tlp import Tlp

from .helpers import AMBER_DEFAULT, SHARED, TAXII, UK_REPORTS, Api, indicator


@pytest.fixture
def api(coalition):
    return Api(coalition.database)


def _new_entries(engine, before):
    return [e for e in audit.entries(engine) if e.id > before]


def _last_id(engine):
    found = audit.entries(engine)
    return found[-1].id if found else 0


def _version(obj):
    return obj["modified"].replace(".000Z", ".000000Z")


def test_writes_reads_and_deletes_of_amber_and_above_are_audited(api, coalition):
    engine = coalition.database.engine
    ofcom, fcc = coalition.token("Ofcom"), coalition.token("FCC")
    ofcom_token_id, fcc_token_id = ofcom.split("_")[1], fcc.split("_")[1]
    shared_id = coalition.collections["shared"].id
    mark = _last_id(engine)

    clear, green = indicator(Tlp.CLEAR), indicator(Tlp.GREEN)
    api.add(SHARED, ofcom, [clear, green])
    assert _new_entries(engine, mark) == []

    amber, strict, red = indicator(Tlp.AMBER), indicator(Tlp.AMBER_STRICT), indicator(Tlp.RED)
    api.add(SHARED, ofcom, [amber, clear, strict, red])  # clear: a re-post, not audited
    writes = _new_entries(engine, mark)
    assert [(e.action, e.tlp) for e in writes] == [
        ("write", Tlp.AMBER),
        ("write", Tlp.AMBER_STRICT),
        ("write", Tlp.RED),
    ]
    for entry, obj in zip(writes, (amber, strict, red), strict=True):
        assert entry.org_id == coalition.orgs["Ofcom"].id
        assert entry.actor == f"token:{ofcom_token_id}"
        assert (entry.api_root, entry.collection_id) == ("coalition", shared_id)
        assert entry.objects == [(obj["id"], _version(obj))]
    mark = writes[-1].id

    # FCC lists the collection: it reads (and is audited for) AMBER and AMBER+STRICT only.
    assert len(api.ids(SHARED, fcc)) == 4
    reads = _new_entries(engine, mark)
    assert [(e.action, e.tlp, e.org_id) for e in reads] == [
        ("read", Tlp.AMBER, coalition.orgs["FCC"].id),
        ("read", Tlp.AMBER_STRICT, coalition.orgs["FCC"].id),
    ]
    assert reads[0].actor == f"token:{fcc_token_id}"
    assert reads[0].objects == [(amber["id"], _version(amber))]
    assert reads[1].objects == [(strict["id"], _version(strict))]
    mark = reads[-1].id

    # CLEAR / GREEN reads, manifest reads and failed reads leave no trace.
    api.ids(SHARED, fcc, match_id=f"{clear['id']},{green['id']}")
    api.object(SHARED, fcc, green["id"])
    api.object(SHARED, fcc, red["id"])  # hidden from FCC: 404
    assert _new_entries(engine, mark) == []

    # The producer reading its RED object, and deleting the AMBER one.
    assert api.object(SHARED, ofcom, red["id"]).status_code == 200
    assert api.delete(f"{SHARED}/objects/{amber['id']}/", ofcom).status_code == 200
    later = _new_entries(engine, mark)
    assert [(e.action, e.tlp, e.objects) for e in later] == [
        ("read", Tlp.RED, [(red["id"], _version(red))]),
        ("delete", Tlp.AMBER, [(amber["id"], _version(amber))]),
    ]
    assert all(e.org_id == coalition.orgs["Ofcom"].id for e in later)


def test_collection_default_tlp_decides_the_audit_level(api, coalition):
    engine = coalition.database.engine
    ofcom = coalition.token("Ofcom")
    mark = _last_id(engine)
    amber_default, red_default = indicator(None), indicator(None)
    api.add(AMBER_DEFAULT, ofcom, [amber_default])
    api.add(UK_REPORTS, ofcom, [red_default])
    entries = _new_entries(engine, mark)
    assert [(e.action, e.tlp, e.api_root, e.collection_id) for e in entries] == [
        ("write", Tlp.AMBER, "coalition", coalition.collections["amber-default"].id),
        ("write", Tlp.RED, "uk", coalition.collections["uk-reports"].id),
    ]
    # A user authenticated with a password is named as the actor.
    service.add_user(engine, "carol", "Ofcom", "reader", "a long enough password")
    raw = base64.b64encode(b"carol:a long enough password").decode()
    response = api.http.get(
        f"{UK_REPORTS}/objects/", headers={"Authorization": f"Basic {raw}", "Accept": TAXII}
    )
    assert response.status_code == 200
    last = audit.entries(engine)[-1]
    assert (last.actor, last.action, last.tlp) == ("user:carol", "read", Tlp.RED)


def _some_entries(api, coalition):
    ofcom = coalition.token("Ofcom")
    for _ in range(3):
        api.add(SHARED, ofcom, [indicator(Tlp.AMBER)])
    entries = audit.entries(coalition.database.engine)
    assert len(entries) >= 3
    return entries


def test_audit_log_refuses_update_and_delete(api, coalition):
    engine = coalition.database.engine
    entries = _some_entries(api, coalition)
    statements = [
        "UPDATE audit_log SET actor = 'token:forged' WHERE id = :id",
        "UPDATE audit_log SET detail = detail",
        "DELETE FROM audit_log WHERE id = :id",
        "DELETE FROM audit_log",
    ]
    if coalition.database.backend == "postgres":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(statement), {"id": entries[0].id})
    assert audit.entries(engine) == entries


def test_verify_chain_accepts_an_intact_log(api, coalition):
    entries = _some_entries(api, coalition)
    assert audit.verify_chain(coalition.database.engine) == (len(entries), None)


def test_one_read_of_two_levels_appends_two_chained_entries(api, coalition):
    engine = coalition.database.engine
    ofcom = coalition.token("Ofcom")
    amber, strict = indicator(Tlp.AMBER), indicator(Tlp.AMBER_STRICT)
    api.add(SHARED, ofcom, [amber, strict, indicator(Tlp.GREEN)])
    before = _last_id(engine)
    assert api.objects(SHARED, ofcom).status_code == 200
    read = _new_entries(engine, before)
    assert [(e.action, e.tlp) for e in read] == [("read", Tlp.AMBER), ("read", Tlp.AMBER_STRICT)]
    assert [o[0] for e in read for o in e.objects] == [amber["id"], strict["id"]]
    assert audit.verify_chain(engine)[1] is None


def _drop_guards(engine, backend):
    with engine.begin() as conn:
        if backend == "postgres":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_verify_chain_detects_an_edited_row(api, coalition):
    engine = coalition.database.engine
    entries = _some_entries(api, coalition)
    _drop_guards(engine, coalition.database.backend)
    target = entries[1]
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = 'token:someone-else' WHERE id = :id"),
            {"id": target.id},
        )
    checked, broken = audit.verify_chain(engine)
    assert broken == target.id
    assert checked == 2


def test_verify_chain_detects_a_removed_row(api, coalition):
    engine = coalition.database.engine
    entries = _some_entries(api, coalition)
    _drop_guards(engine, coalition.database.backend)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entries[1].id})
    assert audit.verify_chain(engine)[1] == entries[2].id
