"""The OASIS reference client (``taxii2client.v21``) against a real ``telsec serve``.

One server process per back-end (SQLite, PostgreSQL) serves every test of this
module: the database is prepared first with the coalition of ``build_coalition``,
a password user and a bulk collection, then ``telsec serve`` is started on it as
a subprocess.  Tests that add objects use fresh ids, so their order does not
matter.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.auth
from taxii2client.common import TokenAuth
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server, Status, as_pages

from telsec.members import service
from telsec.stix.tlp import Tlp
from tests.conftest import Coalition, build_coalition
from tests.interop.hub import (
    TAXII,
    Hub,
    attack_pattern,
    close_database,
    ids,
    indicator,
    make_database,
    start_hub,
)

PASSWORD = "correct horse battery staple"
BULK = 320  # objects in the bulk collection, walked page by page


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` for taxii2client's ``auth=``."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@dataclass
class Running:
    hub: Hub
    coalition: Coalition
    bulk: list[dict[str, Any]]  # what the bulk collection holds, in posting order

    def server(self, org: str, role: str = "contributor") -> Server:
        return Server(self.hub.discovery, auth=BearerAuth(self.coalition.token(org, role)))

    def collection(self, org: str, alias: str, role: str = "contributor") -> Collection:
        root_name = "uk" if alias == "uk-reports" else "coalition"
        root = ApiRoot(
            f"{self.hub.url}/{root_name}/", auth=BearerAuth(self.coalition.token(org, role))
        )
        for coll in root.collections:
            if coll.alias == alias:
                return coll
        raise LookupError(f"{org} does not see {alias}")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    directory: Path = tmp_path_factory.mktemp(f"taxii2client-{request.param}")
    db = make_database(request.param, directory)
    hub: Hub | None = None
    try:
        coalition = build_coalition(db)
        service.add_user(db.engine, "ofcom-analyst", "Ofcom", "contributor", PASSWORD)
        service.add_user(db.engine, "ised-reader", "ISED", "reader", PASSWORD)
        coalition.collections["bulk"] = service.add_collection(
            db.engine,
            "coalition",
            "Bulk smishing indicators",
            read=["Ofcom", "FCC"],
            write=["Ofcom"],
            default_tlp=Tlp.GREEN,
            alias="bulk",
        )
        hub = start_hub(db, directory / "server.log")
        running = Running(hub, coalition, [])
        _fill_bulk(running)
        yield running
    finally:
        if hub is not None:
            hub.stop()
        close_database(db)


def _fill_bulk(running: Running) -> None:
    """Post BULK objects (indicators and attack-patterns) through taxii2client."""
    bulk = running.collection("Ofcom", "bulk")
    # Explicitly marked: unmarked objects hit the visibility bug tested below.
    objects = [
        indicator(f"smishing {n}", n, tlp=Tlp.CLEAR)
        if n % 2
        else attack_pattern(f"GT scan {n}", tlp=Tlp.GREEN)
        for n in range(BULK)
    ]
    for start in range(0, BULK, 100):
        status = bulk.add_objects({"objects": objects[start : start + 100]})
        assert status.status == "complete"
        assert status.success_count == len(objects[start : start + 100])
    running.bulk = objects


def _http_status(exc: pytest.ExceptionInfo[requests.HTTPError]) -> int:
    response = exc.value.response
    assert response is not None
    return response.status_code


# ----------------------------------------------------------------- discovery


def test_discovery_and_api_roots_with_http_basic(running: Running) -> None:
    server = Server(running.hub.discovery, user="ofcom-analyst", password=PASSWORD)
    assert server.title == "telsec"
    roots = {root.url for root in server.api_roots}
    assert roots == {f"{running.hub.url}/coalition/", f"{running.hub.url}/uk/"}
    assert server.default is not None and server.default.url in roots

    coalition_root = next(r for r in server.api_roots if r.url.endswith("/coalition/"))
    assert coalition_root.title == "coalition"
    assert coalition_root.versions == [TAXII]
    assert coalition_root.max_content_length > 0
    aliases = {c.alias for c in coalition_root.collections}
    assert {"shared", "amber-default", "bulk", "vocabulary"} <= aliases
    shared = next(c for c in coalition_root.collections if c.alias == "shared")
    assert shared.id == running.coalition.collections["shared"].id
    assert shared.can_read and shared.can_write
    assert shared.media_types == ["application/stix+json;version=2.1"]
    vocabulary = next(c for c in coalition_root.collections if c.alias == "vocabulary")
    assert vocabulary.can_read and not vocabulary.can_write

    # The user reads through Basic as well: the vocabulary's (TLP:CLEAR) techniques.
    found = vocabulary.get_objects(type="attack-pattern", limit=5)
    assert len(found["objects"]) == 5 and found["more"] is True


def test_bad_credentials_are_refused(running: Running) -> None:
    for server in (
        Server(running.hub.discovery, user="ofcom-analyst", password="wrong password!"),
        Server(running.hub.discovery, user="nobody", password=PASSWORD),
        Server(running.hub.discovery, auth=BearerAuth("tsk_0000_not-a-token")),
        Server(running.hub.discovery),  # no credentials at all
    ):
        with pytest.raises(requests.HTTPError) as exc:
            server.refresh()
        assert _http_status(exc) == 401
        assert exc.value.response.headers["content-type"] == TAXII
        assert "Bearer" in exc.value.response.headers["www-authenticate"]


def test_token_schemes_bearer_token_and_basic_password(running: Running) -> None:
    token = running.coalition.token("FCC")
    by_bearer = Server(running.hub.discovery, auth=BearerAuth(token))
    by_token = Server(running.hub.discovery, auth=TokenAuth(token))  # "Token <token>"
    by_basic = Server(running.hub.discovery, user="anyone", password=token)
    expected = [f"{running.hub.url}/coalition/"]  # FCC has no grant in the uk root
    for server in (by_bearer, by_token, by_basic):
        assert [r.url for r in server.api_roots] == expected


def test_org_without_grants_sees_no_api_root(running: Running) -> None:
    server = running.server("NCSC-NZ")
    assert server.api_roots == []
    assert server.default is None
    with pytest.raises(requests.HTTPError) as exc:
        ApiRoot(
            f"{running.hub.url}/coalition/", auth=BearerAuth(running.coalition.token("NCSC-NZ"))
        ).refresh()
    assert _http_status(exc) == 404


def test_revoked_token_stops_working_at_once(running: Running) -> None:
    engine = running.coalition.database.engine
    token, info = service.issue_token(engine, "FCC", "reader", label="short-lived")
    server = Server(running.hub.discovery, auth=BearerAuth(token))
    assert len(server.api_roots) == 1
    service.revoke_token(engine, info.token_id)
    with pytest.raises(requests.HTTPError) as exc:
        server.refresh()
    assert _http_status(exc) == 401


# ------------------------------------------------------------ write and read


def test_add_objects_status_polling_and_reads(running: Running) -> None:
    shared = running.collection("Ofcom", "shared")
    first = attack_pattern(
        "SS7 location tracking", tlp=Tlp.GREEN, created="2025-01-10T10:00:00.000Z"
    )
    second = dict(first, modified="2025-02-10T10:00:00.000Z", name="SS7 location tracking v2")
    other = indicator("smishing domain", 9001, tlp=Tlp.CLEAR)

    status = shared.add_objects({"objects": [first, other]}, wait_for_completion=True)
    assert isinstance(status, Status)
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count) == (2, 2, 0)
    assert status.pending_count == 0
    assert {s["id"] for s in status.successes} == {first["id"], other["id"]}

    # Poll the status resource as a client that posted asynchronously would.
    root = ApiRoot(
        f"{running.hub.url}/coalition/", auth=BearerAuth(running.coalition.token("Ofcom"))
    )
    polled = root.get_status(status.id)
    polled.wait_until_final(poll_interval=0.1, timeout=5)
    assert polled.status == "complete" and polled.success_count == 2
    status.refresh()  # the URL taxii2client derived from the collection's URL
    assert status.id == polled.id and status.total_count == 2

    # The status belongs to the poster's organisation only.
    fcc_root = ApiRoot(
        f"{running.hub.url}/coalition/", auth=BearerAuth(running.coalition.token("FCC"))
    )
    with pytest.raises(requests.HTTPError) as exc:
        fcc_root.get_status(status.id)
    assert _http_status(exc) == 404

    # A second version, posted as a str envelope this time.
    later = shared.add_objects(json.dumps({"objects": [second]}))
    assert later.success_count == 1

    fcc_shared = running.collection("FCC", "shared")
    envelope = fcc_shared.get_objects(id=first["id"])
    assert [o["name"] for o in envelope["objects"]] == ["SS7 location tracking v2"]
    envelope = fcc_shared.get_objects(id=first["id"], version="all")
    assert sorted(o["modified"] for o in envelope["objects"]) == [
        "2025-01-10T10:00:00.000Z",
        "2025-02-10T10:00:00.000Z",
    ]
    envelope = fcc_shared.get_objects(type="indicator", id=[first["id"], other["id"]])
    assert ids(envelope["objects"]) == [other["id"]]

    one = fcc_shared.get_object(first["id"])
    assert one["more"] is False and one["objects"] == [second]
    oldest = fcc_shared.get_object(first["id"], version="first")
    assert oldest["objects"] == [first]
    exact = fcc_shared.get_object(first["id"], version=first["modified"])
    assert exact["objects"] == [first]

    versions = fcc_shared.object_versions(first["id"])
    assert versions["more"] is False
    assert len(versions["versions"]) == 2
    assert versions["versions"][0].startswith("2025-01-10T10:00:00")
    assert versions["versions"][1].startswith("2025-02-10T10:00:00")

    manifest = fcc_shared.get_manifest(id=[first["id"], other["id"]])
    rows = {row["id"]: row for row in manifest["objects"]}
    assert set(rows) == {first["id"], other["id"]}
    assert rows[first["id"]]["version"].startswith("2025-02-10T10:00:00")
    assert all(row["media_type"] == "application/stix+json;version=2.1" for row in rows.values())
    assert all(row["date_added"].endswith("Z") for row in rows.values())

    # Delete the first version, then the object; FCC did not produce it and may not.
    with pytest.raises(requests.HTTPError) as exc:
        fcc_shared.delete_object(first["id"])
    assert _http_status(exc) == 404
    shared.delete_object(first["id"], version=first["modified"])
    remaining = fcc_shared.object_versions(first["id"])
    assert len(remaining["versions"]) == 1
    assert remaining["versions"][0].startswith("2025-02-10T10:00:00")
    shared.delete_object(first["id"])
    with pytest.raises(requests.HTTPError) as exc:
        fcc_shared.get_object(first["id"])
    assert _http_status(exc) == 404
    with pytest.raises(requests.HTTPError) as exc:
        fcc_shared.object_versions(first["id"])
    assert _http_status(exc) == 404
    assert fcc_shared.get_object(other["id"])["objects"] == [other]


def test_add_objects_reports_each_rejected_object(running: Running) -> None:
    shared = running.collection("ISED", "shared")
    good = attack_pattern("Diameter S6a spoofing")
    bad = attack_pattern("missing created")
    del bad["created"]
    status = shared.add_objects({"objects": [good, bad, "not an object"]})
    # taxii2client has already checked the counts add up (Status._validate_status).
    assert (status.total_count, status.success_count, status.failure_count) == (3, 1, 2)
    assert [s["id"] for s in status.successes] == [good["id"]]
    failed = {f["id"]: f for f in status.failures}
    assert bad["id"] in failed and "created" in failed[bad["id"]]["message"]
    assert all(f.get("message") for f in status.failures)


def test_write_needs_a_write_grant_and_a_writing_role(running: Running) -> None:
    acma = running.collection("ACMA", "shared")
    assert acma.can_read and not acma.can_write
    with pytest.raises(AccessError):
        acma.add_objects({"objects": [attack_pattern("nope")]})
    reader = running.collection("Ofcom", "shared", role="reader")
    assert reader.can_read and not reader.can_write

    # Past the client-side check, the server refuses too.
    response = requests.post(
        acma.objects_url,
        data=b'{"objects": []}',
        headers={
            "Authorization": f"Bearer {running.coalition.token('ACMA')}",
            "Content-Type": TAXII,
            "Accept": TAXII,
        },
        timeout=10,
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == TAXII


# ---------------------------------------------------------------- pagination


@pytest.mark.parametrize("per_request", [1000, 37, 100])
def test_as_pages_walks_every_object_exactly_once(running: Running, per_request: int) -> None:
    bulk = running.collection("FCC", "bulk")
    seen: list[str] = []
    pages = 0
    for envelope in as_pages(bulk.get_objects, per_request=per_request):
        pages += 1
        objects = envelope.get("objects", [])
        assert len(objects) <= per_request
        seen.extend(ids(objects))
        if envelope.get("more"):
            assert envelope.get("next")
    counts = Counter(seen)
    assert [i for i, n in counts.items() if n > 1] == []
    assert seen == ids(running.bulk)  # every one, in date_added order
    assert pages == -(-BULK // per_request)


def test_as_pages_on_the_manifest_and_with_filters(running: Running) -> None:
    bulk = running.collection("Ofcom", "bulk")
    manifest_ids: list[str] = []
    for envelope in as_pages(bulk.get_manifest, per_request=45):
        manifest_ids.extend(row["id"] for row in envelope.get("objects", []))
    assert manifest_ids == ids(running.bulk)

    indicators: list[str] = []
    for envelope in as_pages(bulk.get_objects, per_request=29, type="indicator"):
        assert all(o["type"] == "indicator" for o in envelope.get("objects", []))
        indicators.extend(ids(envelope.get("objects", [])))
    assert indicators == [o["id"] for o in running.bulk if o["type"] == "indicator"]

    # added_after from the date_added of the 100th object: the rest, once each.
    head = bulk.get_manifest(limit=100)
    cut = head["objects"][-1]["date_added"]
    rest: list[str] = []
    for envelope in as_pages(bulk.get_objects, per_request=64, added_after=cut):
        rest.extend(ids(envelope.get("objects", [])))
    assert rest == ids(running.bulk[100:])


def test_next_token_is_bound_to_caller_and_filters(running: Running) -> None:
    ofcom = running.collection("Ofcom", "bulk")
    fcc = running.collection("FCC", "bulk")
    first = ofcom.get_objects(limit=10)
    assert first["more"] is True
    with pytest.raises(requests.HTTPError) as exc:
        fcc.get_objects(limit=10, next=first["next"])  # another organisation
    assert _http_status(exc) == 400
    with pytest.raises(requests.HTTPError) as exc:
        ofcom.get_objects(limit=10, next=first["next"], type="indicator")  # other filters
    assert _http_status(exc) == 400
    # Same caller and filters, another page size: allowed.
    second = ofcom.get_objects(limit=25, next=first["next"])
    assert ids(second["objects"]) == ids(running.bulk[10:35])


# ------------------------------------------------------------------- TLP:RED


def test_tlp_red_is_invisible_to_non_recipients(running: Running) -> None:
    orgs = running.coalition.orgs
    ofcom = running.collection("Ofcom", "shared")
    red = attack_pattern("RED: core network intrusion", tlp=Tlp.RED)
    red_for_fcc = attack_pattern(
        "RED: SMS home routing bypass", tlp=Tlp.RED, recipients=[orgs["FCC"].identity_id]
    )
    amber = attack_pattern("AMBER: SIM swap wave", tlp=Tlp.AMBER)
    green = attack_pattern("GREEN: smishing kit", tlp=Tlp.GREEN)
    posted = [red, red_for_fcc, amber, green]
    status = ofcom.add_objects({"objects": posted})
    assert status.success_count == len(posted)
    wanted = ids(posted)

    def visible(org: str) -> set[str]:
        coll = running.collection(org, "shared")
        found = coll.get_objects(id=wanted).get("objects", [])
        listed = coll.get_manifest(id=wanted).get("objects", [])
        assert {o["id"] for o in found} == {row["id"] for row in listed}
        return {o["id"] for o in found}

    everyone_else = {amber["id"], green["id"]}
    assert visible("Ofcom") == set(wanted)
    assert visible("FCC") == everyone_else | {red_for_fcc["id"]}
    assert visible("ISED") == everyone_else
    assert visible("ACMA") == everyone_else

    ised = running.collection("ISED", "shared")
    for hidden in (red, red_for_fcc):
        for call in (ised.get_object, ised.object_versions):
            with pytest.raises(requests.HTTPError) as exc:
                call(hidden["id"])
            assert _http_status(exc) == 404  # as if it did not exist
        with pytest.raises(requests.HTTPError) as exc:
            ised.delete_object(hidden["id"])
        assert _http_status(exc) == 404
    # Nor does paging the whole collection leak it.
    for envelope in as_pages(ised.get_objects, per_request=3):
        assert not {red["id"], red_for_fcc["id"]} & set(ids(envelope.get("objects", [])))
    fcc = running.collection("FCC", "shared")
    assert fcc.get_object(red_for_fcc["id"])["objects"] == [red_for_fcc]


def test_red_default_collection_hides_unmarked_objects_of_others(running: Running) -> None:
    orgs = running.coalition.orgs
    ofcom = running.collection("Ofcom", "uk-reports")
    albion = running.collection("Albion", "uk-reports")
    unmarked = attack_pattern("UK provider report (collection default RED)")
    shared_with_albion = attack_pattern(
        "report for Albion", tlp=Tlp.RED, recipients=[orgs["Albion"].identity_id]
    )
    explicit_amber = attack_pattern("report at AMBER", tlp=Tlp.AMBER)
    posted = [unmarked, shared_with_albion, explicit_amber]
    assert ofcom.add_objects({"objects": posted}).success_count == 3
    wanted = ids(posted)
    assert set(ids(ofcom.get_objects(id=wanted)["objects"])) == set(wanted)
    assert set(ids(albion.get_objects(id=wanted)["objects"])) == {
        shared_with_albion["id"],
        explicit_amber["id"],
    }
    with pytest.raises(requests.HTTPError) as exc:
        albion.get_object(unmarked["id"])
    assert _http_status(exc) == 404

    # Organisations outside the root cannot even find it.
    for org in ("FCC", "NCSC-NZ"):
        root = ApiRoot(f"{running.hub.url}/uk/", auth=BearerAuth(running.coalition.token(org)))
        with pytest.raises(requests.HTTPError) as exc:
            root.refresh_collections()
        assert _http_status(exc) == 404


def test_unmarked_objects_take_the_collection_default_for_readers(running: Running) -> None:
    ofcom = running.collection("Ofcom", "shared")  # default TLP:GREEN
    unmarked = attack_pattern("unmarked: takes the collection default (GREEN)")
    assert ofcom.add_objects({"objects": [unmarked]}).success_count == 1
    assert ofcom.get_object(unmarked["id"])["objects"] == [unmarked]
    for org in ("FCC", "ISED", "ACMA"):
        coll = running.collection(org, "shared")
        assert coll.get_object(unmarked["id"])["objects"] == [unmarked], org


def test_vocabulary_publishes_the_tlp_marking_definitions(running: Running) -> None:
    root = ApiRoot(
        f"{running.hub.url}/coalition/", auth=BearerAuth(running.coalition.token("ISED"))
    )
    vocabulary = next(c for c in root.collections if c.alias == "vocabulary")
    found = vocabulary.get_objects(type="marking-definition").get("objects", [])
    assert {o["id"] for o in found} >= {level.marking_id for level in Tlp}


# ---------------------------------------------------------- hostile input


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "authorization",
    [
        _basic("ofcom\x00analyst", PASSWORD),
        _basic("x", "tsk_ab\x00cd_secret"),
    ],
    ids=["nul-in-username", "nul-in-token-id"],
)
def test_nul_bytes_in_credentials_are_a_401_not_a_500(
    request: pytest.FixtureRequest, running: Running, authorization: str
) -> None:
    response = requests.get(
        running.hub.discovery, headers={"Authorization": authorization}, timeout=10
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == TAXII


def test_nul_byte_in_status_id_is_a_400_not_a_500(
    request: pytest.FixtureRequest, running: Running
) -> None:
    """A control character in a path is refused before routing (a route's ``$``
    would match before a final newline), as a TAXII error."""
    response = requests.get(
        f"{running.hub.url}/coalition/status/ab%00cd/",
        headers={"Authorization": f"Bearer {running.coalition.token('Ofcom')}"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == TAXII
    assert response.json()["http_status"] == "400"


def test_nul_character_inside_an_object_is_stored_or_rejected_not_a_500(
    request: pytest.FixtureRequest, running: Running
) -> None:
    shared = running.collection("Ofcom", "shared")
    odd = attack_pattern("name with a NUL \x00 inside", tlp=Tlp.GREEN)
    fine = attack_pattern("ordinary", tlp=Tlp.GREEN)
    status = shared.add_objects({"objects": [odd, fine]})
    assert status.total_count == 2
    assert fine["id"] in {s["id"] for s in status.successes}
