"""Pagination with stateless, signed ``next`` tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64

import orjson
import pytest

from telsec.exchange import pagination
from telsec.members import service
from telsec.stix.tlp import Tlp

from .helpers import (
    AMBER_DEFAULT,
    SHARED,
    T0,
    Api,
    assert_error,
    indicator,
    query_params,
)


@pytest.fixture
def api(coalition):
    return Api(coalition.database)


def _fill(api, token, count, per_request=4):
    ids = []
    for start in range(0, count, per_request):
        batch = [indicator(Tlp.GREEN) for _ in range(min(per_request, count - start))]
        api.add(SHARED, token, batch)
        ids += [o["id"] for o in batch]
    return ids


def _first_page(api, token, path=f"{SHARED}/objects/", **params):
    response = api.get(path, token, params={"limit": "2", **query_params(params)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["more"] is True
    return body


def test_walk_returns_every_object_once_in_date_added_order(api, coalition):
    token = coalition.token("Ofcom")
    reader = coalition.token("ACMA", "reader")
    ids = _fill(api, token, 11)
    for limit in (1, 3, 11, 50):
        pages = list(api.walk(f"{SHARED}/objects/", reader, limit=limit))
        walked = [o["id"] for p in pages for o in p.json().get("objects", [])]
        assert walked == ids, limit
        assert len(pages) == max(1, -(-11 // limit))
        assert pages[-1].json()["more"] is False and "next" not in pages[-1].json()
    manifest = [
        m for p in api.walk(f"{SHARED}/manifest/", reader, limit=4) for m in p.json()["objects"]
    ]
    assert [m["id"] for m in manifest] == ids
    added = [m["date_added"] for m in manifest]
    assert added == sorted(added) and len(set(added)) == len(added)


def test_walk_versions_and_object(api, coalition):
    token = coalition.token("Ofcom")
    first = indicator(Tlp.GREEN, created=T0)
    stamps = [f"2024-01-0{d}T00:00:00.000Z" for d in range(1, 8)]
    versions = [indicator(Tlp.GREEN, id=first["id"], created=T0, modified=t) for t in stamps]
    api.add(SHARED, token, versions[:3])
    api.add(SHARED, token, versions[3:])
    oid = first["id"]
    walked = []
    for page in api.walk(f"{SHARED}/objects/{oid}/versions/", token, limit=2):
        walked += page.json()["versions"]
    assert walked == [s.replace(".000Z", ".000000Z") for s in stamps]
    walked = []
    for page in api.walk(f"{SHARED}/objects/{oid}/", token, limit=3, match_version="all"):
        walked += [o["modified"] for o in page.json()["objects"]]
    assert walked == stamps


def test_limit_may_change_and_new_objects_are_not_skipped(api, coalition):
    token = coalition.token("Ofcom")
    ids = _fill(api, token, 6)
    body = _first_page(api, token)
    seen = [o["id"] for o in body["objects"]]
    later = _fill(api, token, 3)  # added while the client pages
    query = {"limit": "3", "next": body["next"]}
    while True:
        body = api.get(f"{SHARED}/objects/", token, params=query).json()
        seen += [o["id"] for o in body.get("objects", [])]
        if not body["more"]:
            break
        query = {"limit": "1", "next": body["next"]}
    assert seen == ids + later


def test_token_continues_on_another_app_instance(coalition):
    first_worker, second_worker = Api(coalition.database), Api(coalition.database)
    token = coalition.token("FCC")
    ids = _fill(first_worker, coalition.token("Ofcom"), 7)
    body = _first_page(first_worker, token)
    seen = [o["id"] for o in body["objects"]]
    while body["more"]:
        # Alternate workers, as a load balancer would.
        worker = second_worker if len(seen) % 4 == 2 else first_worker
        response = worker.get(
            f"{SHARED}/objects/", token, params={"limit": "2", "next": body["next"]}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [o["id"] for o in body["objects"]]
    assert seen == ids
    # A node with a different signing key does not accept the token.
    body = _first_page(first_worker, token)
    other_node = Api(coalition.database, secret_key="another node's key")
    response = other_node.get(f"{SHARED}/objects/", token, params={"next": body["next"]})
    assert_error(response, 400)


def _flip(text: str, index: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[(alphabet.index(text[index]) + 1) % len(alphabet)]
    return text[:index] + replacement + text[index + 1 :]


def test_forged_and_malformed_tokens_are_400(api, coalition):
    token = coalition.token("Ofcom")
    _fill(api, token, 5)
    good = _first_page(api, token)["next"]
    payload, signature = good.split(".")
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    data = orjson.loads(decoded)
    data["p"] -= 1_000_000  # go back a second, keeping the genuine signature
    tampered = orjson.dumps(data)
    forged_payload = base64.urlsafe_b64encode(tampered).decode().rstrip("=")
    forgeries = [
        _flip(good, 0),
        _flip(good, len(payload) // 2),
        _flip(good, len(payload) + 1),
        _flip(good, len(good) - 2),
        f"{forged_payload}.{signature}",
        payload,
        f"{payload}.",
        f".{signature}",
        f"{payload}.{signature}.{signature}",
        f"{payload}.{signature}x",
        good + "=",
        good[:-2],
        "x" * 600,
        "",
        "not a token",
        "e30.e30",
        "%00",
    ]
    for forged in forgeries:
        for path in (f"{SHARED}/objects/", f"{SHARED}/manifest/"):
            response = api.get(path, token, params={"next": forged})
            assert_error(response, 400)
    response = api.get(f"{SHARED}/objects/", token, params=[("next", good), ("next", good)])
    assert_error(response, 400)
    # The genuine token still works.
    assert api.get(f"{SHARED}/objects/", token, params={"next": good}).status_code == 200


def test_token_is_bound_to_org_endpoint_and_filters(api, coalition):
    ofcom = coalition.token("Ofcom")
    _fill(api, ofcom, 5)
    api.add(AMBER_DEFAULT, ofcom, [indicator(Tlp.AMBER) for _ in range(3)])
    oid = indicator()["id"]
    body = _first_page(api, ofcom, match_type="indicator")
    token = body["next"]
    ok = api.get(f"{SHARED}/objects/", ofcom, params={"match[type]": "indicator", "next": token})
    assert ok.status_code == 200
    # Another token of the same organisation may continue.
    same_org = coalition.token("Ofcom", "reader")
    response = api.get(
        f"{SHARED}/objects/", same_org, params={"match[type]": "indicator", "next": token}
    )
    assert response.status_code == 200
    misuse = [
        (coalition.token("FCC"), f"{SHARED}/objects/", {"match[type]": "indicator"}),
        (ofcom, f"{SHARED}/objects/", {}),
        (ofcom, f"{SHARED}/objects/", {"match[type]": "identity"}),
        (ofcom, f"{SHARED}/objects/", {"match[type]": "indicator,identity"}),
        (ofcom, f"{SHARED}/objects/", {"match[type]": "indicator", "match[version]": "all"}),
        (ofcom, f"{SHARED}/objects/", {"match[type]": "indicator", "match[spec_version]": "2.1"}),
        (ofcom, f"{SHARED}/objects/", {"match[type]": "indicator", "added_after": T0}),
        (ofcom, f"{SHARED}/manifest/", {"match[type]": "indicator"}),
        (ofcom, f"{AMBER_DEFAULT}/objects/", {"match[type]": "indicator"}),
        (ofcom, f"{SHARED}/objects/{oid}/", {}),
        (ofcom, f"{SHARED}/objects/{oid}/versions/", {}),
    ]
    for who, path, params in misuse:
        response = api.get(path, who, params={**params, "next": token})
        assert_error(response, 400)
    # Versions tokens are bound to the object.
    obj = indicator(Tlp.GREEN, created=T0)
    more = [
        indicator(Tlp.GREEN, id=obj["id"], created=T0, modified=f"2024-01-0{d}T00:00:00Z")
        for d in range(2, 6)
    ]
    api.add(SHARED, ofcom, [obj, *more])
    versions_token = _first_page(api, ofcom, f"{SHARED}/objects/{obj['id']}/versions/")["next"]
    other = _fill(api, ofcom, 1)[0]
    response = api.versions(SHARED, ofcom, other, next=versions_token)
    assert_error(response, 400)


def test_expired_token_is_400(api, coalition, monkeypatch):
    token = coalition.token("Ofcom")
    _fill(api, token, 4)
    monkeypatch.setattr(pagination, "TOKEN_LIFETIME_US", -1)
    expired = _first_page(api, token)["next"]
    monkeypatch.undo()
    body = assert_error(api.get(f"{SHARED}/objects/", token, params={"next": expired}), 400)
    assert "expired" in body["description"]
    fresh = _first_page(api, token)["next"]
    assert api.get(f"{SHARED}/objects/", token, params={"next": fresh}).status_code == 200


def test_permissions_are_rechecked_on_every_page(api, coalition):
    engine = coalition.database.engine
    _fill(api, coalition.token("Ofcom"), 6)
    fcc = coalition.token("FCC")
    body = _first_page(api, fcc)
    service.set_grant(engine, "shared", "FCC", read=False, write=False)
    response = api.get(f"{SHARED}/objects/", fcc, params={"limit": "2", "next": body["next"]})
    assert_error(response, 404)
    # Grant restored: the token is still valid for its holder.
    service.set_grant(engine, "shared", "FCC", read=True, write=True)
    response = api.get(f"{SHARED}/objects/", fcc, params={"limit": "2", "next": body["next"]})
    assert response.status_code == 200
    # A revoked API token cannot continue either.
    service.revoke_token(engine, fcc)
    response = api.get(f"{SHARED}/objects/", fcc, params={"limit": "2", "next": body["next"]})
    assert_error(response, 401)
