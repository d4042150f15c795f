"""TAXII 2.1 endpoints (OASIS TAXII 2.1 sections 4 and 5) on SQLite and PostgreSQL.

Discovery, API root, collections, manifest, objects, object, versions, status;
the media type and error message on every response; POST outcomes; versioning,
revocation and deletion.
"""

from __future__ import annotations

import uuid

import orjson
import pytest
from sqlalchemy import select

from telsec.members import service
from telsec.stix.tlp import Tlp
from telsec.storage.models import StixObject

from .helpers import (
    AMBER_DEFAULT,
    SHARED,
    STIX,
    T0,
    T1,
    T2,
    T3,
    TAXII,
    UK_REPORTS,
    VOCABULARY,
    Api,
    assert_error,
    assert_taxii,
    headers,
    indicator,
    invalid_objects,
    ipv4,
    stored_count,
)


@pytest.fixture
def api(coalition):
    return Api(coalition.database)


def _collections(api, token, root="coalition"):
    response = api.get(f"/{root}/collections/", token)
    assert response.status_code == 200, response.text
    assert_taxii(response)
    return {c["alias"]: c for c in response.json().get("collections", [])}


# ---------------------------------------------------------------- discovery


def test_discovery_lists_only_roots_with_grants(api, coalition):
    expected = {
        "Ofcom": ["coalition", "uk"],
        "FCC": ["coalition"],
        "ACMA": ["coalition"],
        "Albion": ["uk"],
        "NCSC-NZ": [],
    }
    for org, roots in expected.items():
        response = api.get("/taxii2/", coalition.token(org, "reader"))
        assert response.status_code == 200
        assert_taxii(response)
        body = response.json()
        assert body["title"]
        assert body["api_roots"] == [f"http://testserver/{r}/" for r in roots], org
        if roots:
            assert body["default"] in body["api_roots"]
        else:
            assert "default" not in body


def test_api_root_information(api, coalition):
    response = api.get("/coalition/", coalition.token("ACMA", "reader"))
    assert response.status_code == 200
    assert_taxii(response)
    body = response.json()
    assert body["versions"] == [TAXII]
    assert body["max_content_length"] == service.DEFAULT_MAX_CONTENT_LENGTH
    assert isinstance(body["title"], str) and body["title"]
    # A root the organisation has no grant in does not exist for it.
    body = assert_error(api.get("/uk/", coalition.token("ACMA")), 404)
    missing = assert_error(api.get("/no-such-root/", coalition.token("ACMA")), 404)
    assert body["description"] == missing["description"]


# -------------------------------------------------------------- collections


def test_collections_per_org_and_role(api, coalition):
    ofcom = _collections(api, coalition.token("Ofcom"))
    assert set(ofcom) == {"shared", "amber-default", "vocabulary"}
    for alias in ("shared", "amber-default"):
        assert (ofcom[alias]["can_read"], ofcom[alias]["can_write"]) == (True, True)
    assert (ofcom["vocabulary"]["can_read"], ofcom["vocabulary"]["can_write"]) == (True, False)
    for c in ofcom.values():
        assert c["media_types"] == [STIX]
        assert c["title"]
    assert ofcom["shared"]["id"] == coalition.collections["shared"].id

    ised = _collections(api, coalition.token("ISED"))
    assert set(ised) == {"shared", "vocabulary"}
    acma = _collections(api, coalition.token("ACMA"))
    assert (acma["shared"]["can_read"], acma["shared"]["can_write"]) == (True, False)

    # A reader-role token of a writing organisation cannot write anywhere.
    reader = _collections(api, coalition.token("Ofcom", "reader"))
    assert all(c["can_write"] is False for c in reader.values())
    assert all(c["can_read"] is True for c in reader.values())

    uk = _collections(api, coalition.token("Albion"), root="uk")
    assert set(uk) == {"uk-reports", "vocabulary"}


def test_collection_by_id_and_alias(api, coalition):
    token = coalition.token("FCC")
    info = coalition.collections["shared"]
    by_alias = api.get(f"{SHARED}/", token)
    by_id = api.get(f"/coalition/collections/{info.id}/", token)
    assert by_alias.status_code == by_id.status_code == 200
    assert_taxii(by_alias)
    assert by_alias.json() == by_id.json()
    body = by_id.json()
    assert body["id"] == info.id
    assert (body["can_read"], body["can_write"]) == (True, True)
    assert body["alias"] == "shared"
    reader = api.get(f"{SHARED}/", coalition.token("FCC", "reader")).json()
    assert (reader["can_read"], reader["can_write"]) == (True, False)


def test_collection_without_grant_is_not_found(api, coalition):
    token = coalition.token("ISED")
    amber = coalition.collections["amber-default"]
    for path in (
        f"{AMBER_DEFAULT}/",
        f"/coalition/collections/{amber.id}/",
        f"{AMBER_DEFAULT}/objects/",
        f"{AMBER_DEFAULT}/manifest/",
        f"/coalition/collections/{uuid.uuid4()}/",
    ):
        assert_error(api.get(path, token), 404)
    # A collection of another root is not reachable through this root.
    assert_error(api.get("/coalition/collections/uk-reports/", coalition.token("Ofcom")), 404)


def test_reader_role_and_read_only_org_cannot_post(api, coalition):
    for token in (coalition.token("Ofcom", "reader"), coalition.token("ACMA", "contributor")):
        response = api.post(f"{SHARED}/objects/", token, [indicator()])
        assert_error(response, 403)
    assert api.ids(SHARED, coalition.token("Ofcom")) == []


def test_vocabulary_collection_is_read_only(api, coalition):
    for role in ("contributor", "admin"):
        response = api.post(f"{VOCABULARY}/objects/", coalition.token("Ofcom", role), [indicator()])
        assert_error(response, 403)
    response = api.manifest(VOCABULARY, coalition.token("ACMA", "reader"))
    assert response.status_code == 200
    assert response.json()["objects"]


def test_write_only_grant(api, coalition):
    service.set_grant(coalition.database.engine, "amber-default", "ISED", read=False, write=True)
    token = coalition.token("ISED")
    coll = _collections(api, token)["amber-default"]
    assert (coll["can_read"], coll["can_write"]) == (False, True)
    status = api.add(AMBER_DEFAULT, token, [indicator(Tlp.AMBER)])
    assert status["success_count"] == 1
    assert_error(api.objects(AMBER_DEFAULT, token), 403)
    assert_error(api.manifest(AMBER_DEFAULT, token), 403)


# --------------------------------------------------------------- responses


def test_every_endpoint_answers_taxii_json(api, coalition):
    token = coalition.token("Ofcom")
    obj = indicator(Tlp.GREEN)
    status = api.add(SHARED, token, [obj])
    oid = obj["id"]
    paths = [
        "/taxii2/",
        "/coalition/",
        "/coalition/collections/",
        f"{SHARED}/",
        f"{SHARED}/manifest/",
        f"{SHARED}/objects/",
        f"{SHARED}/objects/{oid}/",
        f"{SHARED}/objects/{oid}/versions/",
        f"/coalition/status/{status['id']}/",
    ]
    for path in paths:
        response = api.get(path, token)
        assert response.status_code == 200, (path, response.text)
        assert_taxii(response)
        # Unauthenticated: 401 with a challenge, as a TAXII error.
        unauth = api.get(path, None)
        assert_error(unauth, 401)
        assert "Bearer" in unauth.headers["www-authenticate"]
        # Not acceptable.
        assert_error(api.get(path, token, accept="application/json"), 406)
        assert_error(api.get(path, token, accept="application/taxii+json;version=2.0"), 406)
    for accept in (
        None,
        "*/*",
        "application/*",
        "application/taxii+json",
        'application/taxii+json; version="2.1"',
        f"text/html, {TAXII}",
        "application/taxii+json;version=2.0, application/taxii+json;version=2.1",
    ):
        assert api.get("/taxii2/", token, accept=accept).status_code == 200
    response = api.delete(f"{SHARED}/objects/{oid}/", token)
    assert response.status_code == 200
    assert_taxii(response)


def test_error_statuses_carry_taxii_error_messages(api, coalition):
    token = coalition.token("Ofcom")
    assert_error(api.get("/taxii2/", "tsk_nope_nope"), 401)
    assert_error(api.post(f"{SHARED}/objects/", coalition.token("ACMA"), [indicator()]), 403)
    assert_error(api.get("/coalition/collections/nope/", token), 404)
    assert_error(api.http.options("/taxii2/", headers=headers(token)), 405)
    assert_error(api.get("/taxii2/", token, accept="text/html"), 406)
    assert_error(api.post(f"{SHARED}/objects/", token, b"{", content_type="text/plain"), 415)
    assert_error(api.post(f"{SHARED}/objects/", token, b"{"), 400)
    assert_error(api.objects(SHARED, token, limit="0"), 400)
    assert_error(api.get(f"{SHARED}/objects/not-an-id/", token), 400)


UNKNOWN_PATHS = [
    "/nope/",
    "/taxii2/extra/",
    "/taxii2",
    "/coalition/unknown/",
    "/coalition/collections/shared/objects/indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f/x/",
    "/coalition/collections/shared/extra/",
    "/coalition/status/",
]


def test_unknown_paths_are_taxii_404(api, coalition):
    token = coalition.token("Ofcom")
    for path in UNKNOWN_PATHS:
        for method in ("GET", "POST", "DELETE"):
            response = api.http.request(method, path, headers=headers(token))
            # GET of something that does not exist is a 404.  Another method on a
            # path that has the shape of a real endpoint (such as POST /nope/,
            # shaped like an API root) may be answered 405 from the route table:
            # that tells nothing about what exists.
            assert_error(response, 404 if method == "GET" else response.status_code)
            assert response.status_code in (404, 405), (method, path)
            # Without credentials: a TAXII error too (401 where the path could be real).
            response = api.http.request(method, path, headers=headers(None))
            assert response.status_code in (401, 404, 405), (method, path)
            assert_error(response, response.status_code)


def test_unsupported_method_on_known_endpoint_is_405(api, coalition):
    token = coalition.token("Ofcom")
    for method, path in [
        ("POST", "/taxii2/"),
        ("PUT", f"{SHARED}/objects/"),
        ("DELETE", f"{SHARED}/"),
        ("POST", f"{SHARED}/manifest/"),
    ]:
        response = api.http.request(method, path, headers=headers(token))
        assert_error(response, 405)
        assert "allow" in response.headers


def test_405_has_allow_header(api, coalition):
    response = api.http.options("/taxii2/", headers=headers(coalition.token("Ofcom")))
    assert_error(response, 405)
    assert "GET" in response.headers.get("allow", "")


# -------------------------------------------------------------------- status


def test_status_only_for_the_posting_org(api, coalition):
    token = coalition.token("Ofcom")
    status = api.add(SHARED, token, [indicator(Tlp.GREEN), indicator(Tlp.AMBER)])
    assert status["status"] == "complete"
    assert (status["total_count"], status["success_count"]) == (2, 2)
    assert (status["failure_count"], status["pending_count"]) == (0, 0)
    assert status["pendings"] == [] and status["failures"] == []
    path = f"/coalition/status/{status['id']}/"
    # Any token of the posting organisation sees it.
    for same_org in (token, coalition.token("Ofcom", "reader")):
        response = api.get(path, same_org)
        assert response.status_code == 200
        assert response.json() == status
    other = assert_error(api.get(path, coalition.token("FCC")), 404)
    missing = assert_error(
        api.get("/coalition/status/00000000-0000-4000-8000-000000000000/", token), 404
    )
    assert other["description"] == missing["description"]
    # The status belongs to the API root it was created in.
    assert_error(api.get(f"/uk/status/{status['id']}/", token), 404)


# ------------------------------------------------------------------- POST


def test_partial_success_stores_the_valid_objects(api, coalition):
    token = coalition.token("Ofcom")
    valid = [indicator(Tlp.GREEN) for _ in range(7)]
    bad = invalid_objects()
    envelope = valid[:3] + bad[:1] + valid[3:5] + bad[1:] + valid[5:]
    assert len(envelope) == 10
    status = api.add(SHARED, token, envelope)
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (10, 7, 3)
    assert {s["id"] for s in status["successes"]} == {o["id"] for o in valid}
    failures = status["failures"]
    assert [f["id"] for f in failures] == [bad[0]["id"], bad[1]["id"], "unknown"]
    assert all(f["message"] for f in failures)
    assert "pattern" in failures[0]["message"]
    assert "modified" in failures[1]["message"]
    assert set(api.ids(SHARED, token)) == {o["id"] for o in valid}
    fetched = api.get(f"/coalition/status/{status['id']}/", token).json()
    assert fetched == status


def _malformed_bodies():
    valid = orjson.dumps(indicator(Tlp.GREEN))
    return {
        "truncated": b'{"objects": [' + valid,
        "not-json": b"not json " + valid,
        "empty": b"",
        "array": b'[{"objects": [' + valid + b"]}]",
        "string": b'"objects"',
        "number": b"42",
        "null": b"null",
        "objects-object": b'{"objects": {"0": ' + valid + b"}}",
        "objects-string": b'{"objects": "indicator"}',
        "objects-null": b'{"objects": null}',
        "trailing-garbage": b'{"objects": [' + valid + b"]} x",
        "nan": b'{"objects": [' + valid[:-1] + b', "x_n": NaN}]}',
    }


def test_malformed_envelope_is_400_and_stores_nothing(api, coalition):
    token = coalition.token("Ofcom")
    before = stored_count(coalition.database)
    for kind, body in _malformed_bodies().items():
        response = api.post(f"{SHARED}/objects/", token, body)
        assert response.status_code == 400, kind
        assert_error(response, 400)
        assert stored_count(coalition.database) == before, kind


def test_wrong_content_type_is_415(api, coalition):
    token = coalition.token("Ofcom")
    before = stored_count(coalition.database)
    for content_type in (
        None,
        "application/json",
        "application/stix+json;version=2.1",
        "application/taxii+json;version=2.0",
        "text/plain",
    ):
        response = api.post(f"{SHARED}/objects/", token, [indicator()], content_type=content_type)
        assert_error(response, 415)
    assert stored_count(coalition.database) == before
    # Without the version parameter, or spelled with spaces and quotes, it is accepted.
    for content_type in ("application/taxii+json", 'Application/TAXII+json; version="2.1"'):
        response = api.post(f"{SHARED}/objects/", token, [indicator()], content_type=content_type)
        assert response.status_code == 202, content_type


def test_body_over_max_content_length_is_413(api, coalition):
    engine = coalition.database.engine
    service.ensure_api_root(engine, "tiny", max_content_length=2000)
    service.add_collection(engine, "tiny", "Tiny", read=["Ofcom"], write=["Ofcom"], alias="tiny")
    token = coalition.token("Ofcom")
    info = api.get("/tiny/", token).json()
    assert info["max_content_length"] == 2000
    small = [indicator(Tlp.GREEN)]
    big = [indicator(Tlp.GREEN, description="x" * 3000)]
    before = stored_count(coalition.database)
    assert_error(api.post("/tiny/collections/tiny/objects/", token, big), 413)
    # Also when the body is streamed without a Content-Length.
    chunks = iter([orjson.dumps({"objects": big})[:1000], orjson.dumps({"objects": big})[1000:]])
    response = api.http.post(
        "/tiny/collections/tiny/objects/",
        content=chunks,
        headers=headers(token, content_type=TAXII),
    )
    assert_error(response, 413)
    assert stored_count(coalition.database) == before
    assert api.post("/tiny/collections/tiny/objects/", token, small).status_code == 202
    # Other roots keep their own limit.
    assert api.post(f"{SHARED}/objects/", token, big).status_code == 202


# -------------------------------------------------------------- versioning


def _versions(api, token, oid, collection=SHARED):
    response = api.versions(collection, token, oid)
    assert response.status_code == 200, response.text
    return response.json()["versions"]


def test_versions_are_keyed_by_modified(api, coalition):
    token = coalition.token("Ofcom")
    reader = coalition.token("FCC", "reader")
    v = [indicator(Tlp.GREEN, created=T0)]
    v.append(indicator(Tlp.GREEN, id=v[0]["id"], created=T0, modified=T1))
    v.append(indicator(Tlp.GREEN, id=v[0]["id"], created=T0, modified=T2))
    for obj in v:
        api.add(SHARED, token, [obj])
    oid = v[0]["id"]
    for who in (token, reader):
        # Default: the newest version only, on every read path.
        body = api.objects(SHARED, who).json()
        assert [o["modified"] for o in body["objects"]] == [T2]
        body = api.object(SHARED, who, oid).json()
        assert [o["modified"] for o in body["objects"]] == [T2]
        manifest = api.manifest(SHARED, who).json()["objects"]
        assert [m["version"] for m in manifest] == ["2024-03-01T00:00:00.000000Z"]
        assert manifest[0]["media_type"] == STIX
        all_versions = api.objects(SHARED, who, match_version="all").json()["objects"]
        assert [o["modified"] for o in all_versions] == [T0, T1, T2]
        assert [
            o["modified"]
            for o in api.object(SHARED, who, oid, match_version="first").json()["objects"]
        ] == [T0]
        assert _versions(api, who, oid) == [
            "2024-01-01T00:00:00.000000Z",
            "2024-02-01T00:00:00.000000Z",
            "2024-03-01T00:00:00.000000Z",
        ]


def test_reposting_a_version_is_a_success_not_a_new_row(api, coalition):
    token = coalition.token("Ofcom")
    obj = indicator(Tlp.GREEN)
    api.add(SHARED, token, [obj])
    first = api.manifest(SHARED, token).json()["objects"]
    before = stored_count(coalition.database)
    # Again, alone, twice in one envelope, and in an equivalent timestamp form.
    same_form = dict(obj, modified="2024-01-01T00:00:00Z", created="2024-01-01T00:00:00Z")
    for envelope in ([obj], [obj, obj], [same_form]):
        status = api.add(SHARED, token, envelope)
        assert status["failure_count"] == 0
        assert status["success_count"] == len(envelope)
    assert stored_count(coalition.database) == before
    assert api.manifest(SHARED, token).json()["objects"] == first
    # An SCO (no modified) re-posted is one row too.
    sco = ipv4()
    api.add(SHARED, token, [sco])
    api.add(SHARED, token, [sco])
    assert stored_count(coalition.database) == before + 1


def test_older_version_after_newer_keeps_last(api, coalition):
    token = coalition.token("Ofcom")
    newest = indicator(Tlp.GREEN, created=T0, modified=T3)
    older = indicator(Tlp.GREEN, id=newest["id"], created=T0, modified=T1)
    oldest = indicator(Tlp.GREEN, id=newest["id"], created=T0)
    api.add(SHARED, token, [newest])
    api.add(SHARED, token, [older])
    api.add(SHARED, token, [oldest])
    oid = newest["id"]
    assert [o["modified"] for o in api.object(SHARED, token, oid).json()["objects"]] == [T3]
    first = api.object(SHARED, token, oid, match_version="first").json()["objects"]
    assert [o["modified"] for o in first] == [T0]
    # versions lists them in date_added order, which is the order they arrived in.
    assert _versions(api, token, oid) == [
        "2024-04-01T00:00:00.000000Z",
        "2024-02-01T00:00:00.000000Z",
        "2024-01-01T00:00:00.000000Z",
    ]
    with coalition.database.engine.connect() as conn:
        rows = conn.execute(
            select(StixObject.version, StixObject.is_latest, StixObject.is_first).where(
                StixObject.stix_id == oid
            )
        ).all()
    assert sorted((r[0], bool(r[1]), bool(r[2])) for r in rows) == [
        ("2024-01-01T00:00:00.000000Z", False, True),
        ("2024-02-01T00:00:00.000000Z", False, False),
        ("2024-04-01T00:00:00.000000Z", True, False),
    ]


def test_older_and_newer_in_one_envelope(api, coalition):
    token = coalition.token("Ofcom")
    a = indicator(Tlp.GREEN, created=T0, modified=T2)
    b = indicator(Tlp.GREEN, id=a["id"], created=T0, modified=T1)
    status = api.add(SHARED, token, [a, b])
    assert status["success_count"] == 2
    assert [o["modified"] for o in api.object(SHARED, token, a["id"]).json()["objects"]] == [T2]


def test_revoked_version_blocks_newer_versions(api, coalition):
    token = coalition.token("Ofcom")
    v1 = indicator(Tlp.GREEN, created=T0)
    v2 = indicator(Tlp.GREEN, id=v1["id"], created=T0, modified=T1, revoked=True)
    v3 = indicator(Tlp.GREEN, id=v1["id"], created=T0, modified=T2)
    api.add(SHARED, token, [v1])
    api.add(SHARED, token, [v2])
    status = api.add(SHARED, token, [v3])
    assert (status["success_count"], status["failure_count"]) == (0, 1)
    failure = status["failures"][0]
    assert failure["id"] == v1["id"]
    assert "revoked" in failure["message"]
    last = api.object(SHARED, token, v1["id"]).json()["objects"]
    assert len(last) == 1 and last[0]["revoked"] is True
    assert len(_versions(api, token, v1["id"])) == 2


def test_revoked_version_blocks_newer_version_in_same_envelope(api, coalition):
    token = coalition.token("Ofcom")
    v2 = indicator(Tlp.GREEN, created=T0, modified=T1, revoked=True)
    v3 = indicator(Tlp.GREEN, id=v2["id"], created=T0, modified=T2)
    status = api.add(SHARED, token, [v2, v3])
    assert (status["success_count"], status["failure_count"]) == (1, 1)
    last = api.object(SHARED, token, v2["id"]).json()["objects"]
    assert last[0]["revoked"] is True


def test_other_org_cannot_add_a_version(api, coalition):
    ofcom, fcc = coalition.token("Ofcom"), coalition.token("FCC")
    v1 = indicator(Tlp.GREEN, created=T0)
    api.add(SHARED, ofcom, [v1])
    hijack = indicator(Tlp.GREEN, id=v1["id"], created=T0, modified=T1, name="hijacked")
    status = api.add(SHARED, fcc, [hijack, indicator(Tlp.GREEN)])
    assert (status["success_count"], status["failure_count"]) == (1, 1)
    assert status["failures"][0]["id"] == v1["id"]
    assert "producer" in status["failures"][0]["message"]
    assert _versions(api, ofcom, v1["id"]) == ["2024-01-01T00:00:00.000000Z"]
    # The producer still can.
    status = api.add(SHARED, ofcom, [dict(hijack, name="update")])
    assert status["success_count"] == 1


# ------------------------------------------------------------------- DELETE


def test_delete_object_and_versions(api, coalition):
    token = coalition.token("Ofcom")
    v = [indicator(Tlp.GREEN, created=T0)]
    v += [indicator(Tlp.GREEN, id=v[0]["id"], created=T0, modified=t) for t in (T1, T2)]
    api.add(SHARED, token, v)
    oid = v[0]["id"]
    response = api.delete(f"{SHARED}/objects/{oid}/", token, params={"match[version]": T2})
    assert response.status_code == 200
    assert_taxii(response)
    # The newest remaining version becomes "last".
    assert [o["modified"] for o in api.object(SHARED, token, oid).json()["objects"]] == [T1]
    api.delete(f"{SHARED}/objects/{oid}/", token, params={"match[version]": "first"})
    assert [
        o["modified"]
        for o in api.object(SHARED, token, oid, match_version="first").json()["objects"]
    ] == [T1]
    assert api.delete(f"{SHARED}/objects/{oid}/", token).status_code == 200
    assert_error(api.object(SHARED, token, oid), 404)
    assert_error(api.versions(SHARED, token, oid), 404)
    assert_error(api.delete(f"{SHARED}/objects/{oid}/", token), 404)


def test_delete_permissions(api, coalition):
    ofcom = coalition.token("Ofcom")
    obj = indicator(Tlp.GREEN)
    api.add(SHARED, ofcom, [obj])
    path = f"{SHARED}/objects/{obj['id']}/"
    assert_error(api.delete(path, coalition.token("ACMA")), 403)  # read-only org
    assert_error(api.delete(path, coalition.token("Ofcom", "reader")), 403)
    assert_error(api.delete(path, coalition.token("FCC")), 404)  # not its producer
    assert_error(api.delete(path, coalition.token("Albion")), 404)  # no grant
    assert api.ids(SHARED, ofcom) == [obj["id"]]
    assert_error(api.delete(f"{SHARED}/objects/bad/", ofcom), 400)
    assert_error(api.delete(path, ofcom, params={"match[version]": "yesterday"}), 400)


def test_objects_of_other_collections_are_not_mixed(api, coalition):
    token = coalition.token("Ofcom")
    a, b = indicator(Tlp.GREEN), indicator(Tlp.AMBER)
    api.add(SHARED, token, [a])
    api.add(AMBER_DEFAULT, token, [b])
    api.add(UK_REPORTS, token, [indicator(Tlp.GREEN)])
    assert api.ids(SHARED, token) == [a["id"]]
    assert api.ids(AMBER_DEFAULT, token) == [b["id"]]
    assert_error(api.object(SHARED, token, b["id"]), 404)
    # The same id may live in two collections, with separate versions.
    status = api.add(AMBER_DEFAULT, token, [a])
    assert status["success_count"] == 1
    assert api.ids(AMBER_DEFAULT, token) == [b["id"], a["id"]]


def test_objects_round_trip(api, coalition):
    token = coalition.token("Ofcom")
    obj = indicator(Tlp.GREEN, description='Ünïcode ✓ \u2028 and "quotes"', labels=["a", "b"])
    api.add(SHARED, token, [obj])
    fetched = api.object(SHARED, coalition.token("FCC"), obj["id"]).json()["objects"]
    assert fetched == [obj]
