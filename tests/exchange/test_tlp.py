"""TLP 2.0 enforcement on every read path, and authentication / authorisation.

TLP:CLEAR, GREEN, AMBER and AMBER+STRICT objects are visible to every reader of
their collection; TLP:RED ones only to their producer and the organisations
named in the RED-recipients extension.  A hidden object is answered exactly as
a nonexistent one.  Run against SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import uuid

import pytest

from telsec.members import service
from telsec.stix.tlp import (
    TLP1_MARKING_IDS,
    TLP2_CREATED,
    TLP2_EXTENSION_ID,
    TLP2_MARKING_IDS,
    Tlp,
    all_marking_definitions,
    marking_definition,
    tlp_of,
)

from .helpers import (
    AMBER_DEFAULT,
    SHARED,
    T0,
    T1,
    TLP1_RED,
    UK_REPORTS,
    VOCABULARY,
    Api,
    assert_error,
    headers,
    indicator,
    without_error_id,
)

OASIS_TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
OASIS_TLP1 = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}


@pytest.fixture
def api(coalition):
    return Api(coalition.database)


def _identity(coalition, org):
    return coalition.orgs[org].identity_id


# ------------------------------------------------------------ marking ids


def test_tlp2_marking_definitions_are_the_oasis_ones():
    assert {level.label: mid for level, mid in TLP2_MARKING_IDS.items()} == OASIS_TLP2
    assert TLP2_EXTENSION_ID == "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
    assert TLP2_CREATED == "2022-10-01T00:00:00.000Z"
    for level in Tlp:
        md = marking_definition(level)
        assert md == {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": OASIS_TLP2[level.label],
            "created": "2022-10-01T00:00:00.000Z",
            "name": f"TLP:{level.label.upper()}",
            "extensions": {
                TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level.label}
            },
        }
    # TLP 1.0 (STIX 2.1 section 7.2.1.4) maps onto TLP 2.0, WHITE becoming CLEAR.
    assert {mid: level for mid, level in TLP1_MARKING_IDS.items()} == {
        OASIS_TLP1["white"]: Tlp.CLEAR,
        OASIS_TLP1["green"]: Tlp.GREEN,
        OASIS_TLP1["amber"]: Tlp.AMBER,
        OASIS_TLP1["red"]: Tlp.RED,
    }
    assert tlp_of({"object_marking_refs": [OASIS_TLP1["red"], OASIS_TLP2["green"]]}) == Tlp.RED
    assert tlp_of({"granular_markings": [{"marking_ref": OASIS_TLP2["red"]}]}) == Tlp.RED
    assert tlp_of({"object_marking_refs": ["marking-definition--" + str(uuid.uuid4())]}) is None


def test_vocabulary_publishes_the_five_tlp2_marking_definitions(api, coalition):
    for org in ("Ofcom", "ACMA"):
        response = api.objects(
            VOCABULARY, coalition.token(org, "reader"), match_type="marking-definition"
        )
        assert response.status_code == 200
        assert response.json().get("objects") == all_marking_definitions()
    response = api.objects("/uk/collections/vocabulary", coalition.token("Albion"))
    ids = {o["id"] for o in response.json().get("objects", [])}
    assert set(OASIS_TLP2.values()) <= ids


def test_vocabulary_is_readable_by_every_member_of_the_root(api, coalition):
    for org in ("Ofcom", "ISED", "ACMA"):
        manifest = api.manifest(VOCABULARY, coalition.token(org, "reader"))
        assert manifest.status_code == 200
        assert len(manifest.json()["objects"]) > 100  # identity, extensions, techniques
    assert_error(api.manifest(VOCABULARY, coalition.token("NCSC-NZ")), 404)


# ------------------------------------------------------------ visibility


def test_clear_to_amber_strict_visible_to_every_reader(api, coalition):
    objs = [indicator(level) for level in (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT)]
    api.add(SHARED, coalition.token("Ofcom"), objs)
    ids = [o["id"] for o in objs]
    for org in ("Ofcom", "FCC", "ISED", "ACMA"):
        token = coalition.token(org, "reader")
        assert api.ids(SHARED, token) == ids, org
        assert [m["id"] for m in api.manifest(SHARED, token).json()["objects"]] == ids
        for obj in objs:
            assert api.object(SHARED, token, obj["id"]).json()["objects"] == [obj]
            assert api.versions(SHARED, token, obj["id"]).status_code == 200
    # Not to organisations without a grant on the collection.
    assert_error(api.objects(SHARED, coalition.token("Albion")), 404)


def _red_scenario(api, coalition):
    """green1, red (producer only), red_fcc (FCC named), green2, red_last - by Ofcom."""
    ofcom = coalition.token("Ofcom")
    objs = {
        "green1": indicator(Tlp.GREEN),
        "red": indicator(Tlp.RED),
        "red_fcc": indicator(Tlp.RED, recipients=[_identity(coalition, "FCC")]),
        "green2": indicator(Tlp.GREEN),
        "red_last": indicator(Tlp.RED),
    }
    for obj in objs.values():
        api.add(SHARED, ofcom, [obj])
    return objs


def test_red_visible_only_to_producer_and_recipients_on_every_read_path(api, coalition):
    objs = _red_scenario(api, coalition)
    added = {
        m["id"]: m["date_added"]
        for m in api.manifest(SHARED, coalition.token("Ofcom")).json()["objects"]
    }
    visible_to = {
        "Ofcom": ["green1", "red", "red_fcc", "green2", "red_last"],
        "FCC": ["green1", "red_fcc", "green2"],
        "ISED": ["green1", "green2"],
        "ACMA": ["green1", "green2"],
    }
    for org, names in visible_to.items():
        token = coalition.token(org, "reader")
        ids = [objs[n]["id"] for n in names]
        hidden = [o["id"] for n, o in objs.items() if n not in names]
        # objects and manifest
        assert api.ids(SHARED, token) == ids, org
        manifest = api.manifest(SHARED, token).json()["objects"]
        assert [m["id"] for m in manifest] == ids
        # match[id], with hidden ids mixed in
        all_ids = ",".join(o["id"] for o in objs.values())
        assert api.ids(SHARED, token, match_id=all_ids) == ids
        assert [
            m["id"] for m in api.manifest(SHARED, token, match_id=all_ids).json()["objects"]
        ] == ids
        for hid in hidden:
            assert api.ids(SHARED, token, match_id=hid) == []
            assert_error(api.object(SHARED, token, hid), 404)
            assert_error(api.object(SHARED, token, hid, match_version="all"), 404)
            assert_error(api.versions(SHARED, token, hid), 404)
        for vid in ids:
            assert api.object(SHARED, token, vid).status_code == 200
            assert api.versions(SHARED, token, vid).status_code == 200
        # added_after
        after_first = api.ids(SHARED, token, added_after=added[objs["green1"]["id"]])
        assert after_first == ids[1:]
        # more / next / headers: a hidden object at the end makes no extra page
        page = api.objects(SHARED, token, limit=str(len(ids)))
        body = page.json()
        assert body["more"] is False and "next" not in body, org
        assert page.headers["x-taxii-date-added-first"] == added[ids[0]]
        assert page.headers["x-taxii-date-added-last"] == added[ids[-1]]
        walked = [
            o["id"]
            for p in api.walk(f"{SHARED}/objects/", token, limit=1)
            for o in p.json()["objects"]
        ]
        assert walked == ids
        walked = [
            m["id"]
            for p in api.walk(f"{SHARED}/manifest/", token, limit=1)
            for m in p.json()["objects"]
        ]
        assert walked == ids
        # Only hidden objects after a point: an empty page, no headers
        after_last = api.objects(SHARED, token, added_after=added[ids[-1]])
        assert after_last.json() == {"more": False}
        assert "x-taxii-date-added-last" not in after_last.headers


def test_hidden_red_answers_like_a_nonexistent_object(api, coalition):
    objs = _red_scenario(api, coalition)
    token = coalition.token("ISED")  # reads and writes the collection, not a recipient
    hidden = objs["red"]["id"]
    missing = f"indicator--{uuid.uuid4()}"
    requests = [
        ("GET", "objects/{}/", {}),
        ("GET", "objects/{}/", {"match[version]": "all"}),
        ("GET", "objects/{}/", {"match[version]": T0}),
        ("GET", "objects/{}/versions/", {}),
        ("DELETE", "objects/{}/", {}),
        ("DELETE", "objects/{}/", {"match[version]": T0}),
    ]
    for method, template, params in requests:
        answers = []
        for oid in (hidden, missing):
            response = api.http.request(
                method, f"{SHARED}/{template.format(oid)}", params=params, headers=headers(token)
            )
            answers.append(
                (
                    response.status_code,
                    without_error_id(response.json()),
                    response.headers["content-type"],
                    response.headers["content-length"],
                    sorted(response.headers.keys()),
                )
            )
        assert answers[0] == answers[1], (method, template, params)
        assert answers[0][0] == 404
    # Listing endpoints: filtering on a hidden id is the same as on a missing one.
    for endpoint in ("objects", "manifest"):
        a = api.get(f"{SHARED}/{endpoint}/", token, params={"match[id]": hidden})
        b = api.get(f"{SHARED}/{endpoint}/", token, params={"match[id]": missing})
        assert (a.status_code, a.content, dict(a.headers)) == (
            b.status_code,
            b.content,
            dict(b.headers),
        )
    # The RED object is untouched by the DELETE attempts.
    assert api.ids(SHARED, coalition.token("Ofcom"), match_id=hidden) == [hidden]


def test_post_status_answers_alike_for_hidden_and_visible_objects_of_others(api, coalition):
    """A new version of another producer's object is refused whether or not the
    caller may see that object, with the same message: the answer depends on the
    id alone, which for an SDO is a random UUIDv4 the caller must already know.
    (Objects without created/modified, the SCOs, are never refused: re-posting
    one is a duplicate and answers success, so deterministic SCO ids reveal
    nothing either.)"""
    objs = _red_scenario(api, coalition)
    ofcom, token = coalition.token("Ofcom"), coalition.token("ISED")
    visible = indicator(Tlp.GREEN, created=T0)
    api.add(SHARED, ofcom, [visible])
    to_hidden = api.add(
        SHARED, token, [indicator(Tlp.GREEN, id=objs["red"]["id"], created=T0, modified=T1)]
    )
    to_visible = api.add(
        SHARED, token, [indicator(Tlp.GREEN, id=visible["id"], created=T0, modified=T1)]
    )
    assert to_hidden["failure_count"] == to_visible["failure_count"] == 1
    assert to_hidden["failures"][0]["message"] == to_visible["failures"][0]["message"]


def test_red_delete(api, coalition):
    objs = _red_scenario(api, coalition)
    path = f"{SHARED}/objects/{objs['red_fcc']['id']}/"
    assert_error(api.delete(path, coalition.token("ISED")), 404)  # cannot see it
    assert_error(api.delete(path, coalition.token("FCC")), 404)  # sees it, not its producer
    assert api.delete(path, coalition.token("Ofcom")).status_code == 200
    assert_error(api.object(SHARED, coalition.token("FCC"), objs["red_fcc"]["id"]), 404)


def test_red_status_only_for_the_producer(api, coalition):
    ofcom = coalition.token("Ofcom")
    status = api.add(SHARED, ofcom, [indicator(Tlp.RED, recipients=[_identity(coalition, "FCC")])])
    path = f"/coalition/status/{status['id']}/"
    assert api.get(path, ofcom).json() == status
    for org in ("FCC", "ISED", "ACMA"):
        assert_error(api.get(path, coalition.token(org)), 404)


def test_recipients_named_in_any_order(api, coalition):
    ofcom = coalition.token("Ofcom")
    many = indicator(
        Tlp.RED, recipients=[_identity(coalition, "ACMA"), _identity(coalition, "ISED")]
    )
    api.add(SHARED, ofcom, [many])
    assert api.ids(SHARED, coalition.token("ISED")) == [many["id"]]
    assert api.ids(SHARED, coalition.token("ACMA")) == [many["id"]]
    assert api.ids(SHARED, coalition.token("FCC")) == []
    # Naming an organisation without a grant does not open the collection to it.
    assert_error(api.objects(SHARED, coalition.token("NCSC-NZ")), 404)


def test_a_member_posts_only_in_its_own_name(api, coalition):
    """``created_by_ref`` is who vouches for an object: a member may not post an
    object another member organisation created (readers would trust it as that
    member's); its own identity and identities that are no member's (a vendor's
    report relayed) are fine.  The refused object is not stored at all."""
    ofcom, fcc = coalition.token("Ofcom"), coalition.token("FCC")
    as_fcc = indicator(Tlp.GREEN, created_by_ref=_identity(coalition, "FCC"))
    red_as_fcc = indicator(Tlp.RED, created_by_ref=_identity(coalition, "FCC"))
    own = indicator(Tlp.GREEN, created_by_ref=_identity(coalition, "Ofcom"))
    vendor = indicator(Tlp.GREEN, created_by_ref="identity--1f0e4c9e-2b6a-4d8e-9a43-5d1c7e2f8a60")
    status = api.add(SHARED, ofcom, [as_fcc, own, red_as_fcc, vendor])
    assert status["success_count"] == 2 and status["failure_count"] == 2
    refused = {f["id"]: f["message"] for f in status["failures"]}
    assert set(refused) == {as_fcc["id"], red_as_fcc["id"]}
    assert all("identity of FCC" in message for message in refused.values())
    for token in (ofcom, fcc):
        assert sorted(api.ids(SHARED, token)) == sorted([own["id"], vendor["id"]])
    # FCC may post in its own name, and sees its RED object as its producer.
    mine = indicator(Tlp.RED, created_by_ref=_identity(coalition, "FCC"))
    assert api.add(SHARED, fcc, [mine])["success_count"] == 1
    assert mine["id"] in api.ids(SHARED, fcc)
    assert mine["id"] not in api.ids(SHARED, ofcom)


def test_unmarked_object_in_red_default_collection_is_red(api, coalition):
    ofcom, albion = coalition.token("Ofcom"), coalition.token("Albion")
    unmarked = indicator(None)
    shared_with_albion = indicator(None, recipients=[_identity(coalition, "Albion")])
    green = indicator(Tlp.GREEN)
    api.add(UK_REPORTS, ofcom, [unmarked, shared_with_albion, green])
    assert api.ids(UK_REPORTS, ofcom) == [unmarked["id"], shared_with_albion["id"], green["id"]]
    assert api.ids(UK_REPORTS, albion) == [shared_with_albion["id"], green["id"]]
    assert_error(api.object(UK_REPORTS, albion, unmarked["id"]), 404)
    assert [m["id"] for m in api.manifest(UK_REPORTS, albion).json()["objects"]] == [
        shared_with_albion["id"],
        green["id"],
    ]
    # Albion's own unmarked report is hidden from Ofcom.
    own = indicator(None)
    api.add(UK_REPORTS, albion, [own])
    assert own["id"] not in api.ids(UK_REPORTS, ofcom)
    assert own["id"] in api.ids(UK_REPORTS, albion)


def test_unmarked_object_takes_a_non_red_collection_default(api, coalition):
    ofcom, fcc = coalition.token("Ofcom"), coalition.token("FCC")
    green_default, amber_default = indicator(None), indicator(None)
    api.add(SHARED, ofcom, [green_default])
    api.add(AMBER_DEFAULT, ofcom, [amber_default])
    assert api.ids(SHARED, fcc) == [green_default["id"]]
    assert api.ids(AMBER_DEFAULT, fcc) == [amber_default["id"]]


def test_tlp1_markings_map_to_tlp2_levels(api, coalition):
    ofcom, fcc = coalition.token("Ofcom"), coalition.token("FCC")
    objs = {name: indicator(mid) for name, mid in OASIS_TLP1.items()}
    api.add(SHARED, ofcom, list(objs.values()))
    assert api.ids(SHARED, fcc) == [objs[n]["id"] for n in ("white", "green", "amber")]
    assert api.ids(SHARED, ofcom) == [o["id"] for o in objs.values()]
    red_for_fcc = indicator(TLP1_RED, recipients=[_identity(coalition, "FCC")])
    api.add(SHARED, ofcom, [red_for_fcc])
    assert red_for_fcc["id"] in api.ids(SHARED, fcc)


def test_granular_red_marking_makes_the_object_red(api, coalition):
    ofcom, fcc = coalition.token("Ofcom"), coalition.token("FCC")
    obj = indicator(
        Tlp.GREEN,
        description="the sensitive part",
        granular_markings=[
            {"marking_ref": TLP2_MARKING_IDS[Tlp.RED], "selectors": ["description"]}
        ],
    )
    amber_part = indicator(
        Tlp.GREEN,
        description="less sensitive",
        granular_markings=[
            {"marking_ref": TLP2_MARKING_IDS[Tlp.AMBER], "selectors": ["description"]}
        ],
    )
    status = api.add(SHARED, ofcom, [obj, amber_part])
    assert status["success_count"] == 2, status
    assert api.ids(SHARED, ofcom) == [obj["id"], amber_part["id"]]
    assert api.ids(SHARED, fcc) == [amber_part["id"]]
    assert_error(api.object(SHARED, fcc, obj["id"]), 404)


def test_hidden_red_version_does_not_hide_the_visible_one(api, coalition):
    ofcom, fcc = coalition.token("Ofcom"), coalition.token("FCC")
    v1 = indicator(Tlp.GREEN, created=T0)
    v2 = indicator(Tlp.RED, id=v1["id"], created=T0, modified=T1)
    api.add(SHARED, ofcom, [v1, v2])
    assert api.versions(SHARED, fcc, v1["id"]).json()["versions"] == ["2024-01-01T00:00:00.000000Z"]
    assert api.object(SHARED, fcc, v1["id"]).json().get("objects") == [v1]
    assert api.ids(SHARED, fcc) == [v1["id"]]


def test_red_version_visibility_is_per_version(api, coalition):
    ofcom, fcc = coalition.token("Ofcom"), coalition.token("FCC")
    v1 = indicator(Tlp.RED, created=T0)
    v2 = indicator(Tlp.GREEN, id=v1["id"], created=T0, modified=T1)
    api.add(SHARED, ofcom, [v1, v2])
    assert api.versions(SHARED, fcc, v1["id"]).json()["versions"] == ["2024-02-01T00:00:00.000000Z"]
    assert api.object(SHARED, fcc, v1["id"], match_version="all").json()["objects"] == [v2]
    assert api.object(SHARED, fcc, v1["id"], match_version="first").json() == {"more": False}
    assert len(api.versions(SHARED, ofcom, v1["id"]).json()["versions"]) == 2


# -------------------------------------------------------- authentication


def test_token_states(api, coalition):
    engine = coalition.database.engine
    good = coalition.token("Ofcom")
    assert api.get("/taxii2/", good).status_code == 200
    revoked, _ = service.issue_token(engine, "Ofcom", "contributor")
    assert api.get("/taxii2/", revoked).status_code == 200
    service.revoke_token(engine, revoked)
    expired, _ = service.issue_token(engine, "Ofcom", "contributor", expires_in_days=-1)
    token_id = good.split("_")[1]
    for bad in (
        revoked,
        expired,
        "tsk_0000000000000000_secret",
        f"tsk_{token_id}_wrongsecret",
        good + "x",
        good[:-1],
        "garbage",
        "",
    ):
        response = api.get("/taxii2/", bad)
        assert_error(response, 401)
        assert response.headers["www-authenticate"]
        assert_error(api.objects(SHARED, bad), 401)
        assert_error(api.post(f"{SHARED}/objects/", bad, [indicator()]), 401)
    # Schemes: Bearer (any case) and Token; not Digest or a bare token.
    for header in (f"Bearer {good}", f"bearer {good}", f"Token {good}", f"  Bearer   {good} "):
        assert api.http.get("/taxii2/", headers={"Authorization": header}).status_code == 200
    for header in (f"Digest {good}", good, f"Bearer{good}", "Bearer", "Basic", "Basic !!!"):
        response = api.http.get("/taxii2/", headers={"Authorization": header})
        assert_error(response, 401)


def _basic(username, password):
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "Accept": "application/taxii+json;version=2.1"}


def test_http_basic(api, coalition):
    engine = coalition.database.engine
    service.add_user(engine, "alice", "FCC", "contributor", "correct horse battery")
    service.add_user(engine, "bob", "FCC", "reader", "another long password")
    ok = api.http.get("/taxii2/", headers=_basic("alice", "correct horse battery"))
    assert ok.status_code == 200
    assert ok.json()["api_roots"] == ["http://testserver/coalition/"]
    response = api.http.post(
        f"{SHARED}/objects/",
        content=b'{"objects": []}',
        headers={
            **_basic("alice", "correct horse battery"),
            "Content-Type": "application/taxii+json;version=2.1",
        },
    )
    assert response.status_code == 202
    response = api.http.post(
        f"{SHARED}/objects/",
        content=b'{"objects": []}',
        headers={
            **_basic("bob", "another long password"),
            "Content-Type": "application/taxii+json;version=2.1",
        },
    )
    assert_error(response, 403)
    for user, password in [
        ("alice", "wrong password!!"),
        ("alice", ""),
        ("nobody", "correct horse battery"),
        ("", ""),
    ]:
        assert_error(api.http.get("/taxii2/", headers=_basic(user, password)), 401)
    # An API token as the password, with any user name.
    assert (
        api.http.get("/taxii2/", headers=_basic("x", coalition.token("Ofcom"))).status_code == 200
    )
    # A deactivated user is refused (on a node that has not cached the password).
    service.set_user_active(engine, "bob", False)
    fresh = Api(coalition.database)
    assert_error(fresh.http.get("/taxii2/", headers=_basic("bob", "another long password")), 401)


def test_org_without_grants_sees_nothing(api, coalition):
    token = coalition.token("NCSC-NZ", "admin")
    body = api.get("/taxii2/", token).json()
    assert body["api_roots"] == [] and "default" not in body
    for path in (
        "/coalition/",
        "/uk/",
        "/coalition/collections/",
        "/uk/collections/",
        f"{SHARED}/",
        f"{SHARED}/objects/",
        f"{SHARED}/manifest/",
        f"{VOCABULARY}/objects/",
        f"{UK_REPORTS}/objects/",
    ):
        assert_error(api.get(path, token), 404)
    assert_error(api.post(f"{SHARED}/objects/", token, [indicator()]), 404)
    # The same answers as for a root that does not exist at all.
    a = api.get("/coalition/", token).json()
    b = api.get("/nowhere/", token).json()
    assert without_error_id(a) == without_error_id(b)
