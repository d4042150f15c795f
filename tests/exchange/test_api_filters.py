"""TAXII 2.1 filters (section 3.4), limits, X-TAXII-Date-Added headers and date_added.

Run against SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import re
import threading

import pytest
from sqlalchemy import select

from telsec.stix.timestamps import format_timestamp, parse_timestamp
from telsec.stix.tlp import Tlp
from telsec.storage.models import StixObject

from .helpers import (
    AMBER_DEFAULT,
    SHARED,
    T0,
    T1,
    T2,
    Api,
    assert_error,
    identity,
    indicator,
    ipv4,
    relationship,
)

MICROSECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def api(coalition):
    return Api(coalition.database)


def _manifest(api, token, collection=SHARED, **params):
    response = api.manifest(collection, token, **params)
    assert response.status_code == 200, response.text
    return response.json().get("objects", [])


def _modified(response):
    assert response.status_code == 200, response.text
    return [o["modified"] for o in response.json().get("objects", [])]


# --------------------------------------------------------------- added_after


def test_added_after(api, coalition):
    token = coalition.token("Ofcom")
    batches = [[indicator(Tlp.GREEN) for _ in range(2)] for _ in range(3)]
    for batch in batches:
        api.add(SHARED, token, batch)
    ids = [o["id"] for batch in batches for o in batch]
    manifest = _manifest(api, token)
    assert [m["id"] for m in manifest] == ids
    added = [m["date_added"] for m in manifest]

    # Strictly after: the object added at the timestamp itself is excluded.
    assert api.ids(SHARED, token, added_after=added[1]) == ids[2:]
    assert [m["id"] for m in _manifest(api, token, added_after=added[3])] == ids[4:]
    assert api.ids(SHARED, token, added_after="2000-01-01T00:00:00Z") == ids
    # Any timestamp form: seconds only, or more than six fraction digits.
    us = parse_timestamp(added[2])
    floor = us - us % 1_000_000
    whole_second = format_timestamp(floor)[:19] + "Z"
    expected = [i for i, a in zip(ids, added) if parse_timestamp(a) > floor]
    assert api.ids(SHARED, token, added_after=whole_second) == expected
    assert api.ids(SHARED, token, added_after=added[2][:-1] + "999Z") == ids[3:]
    # After the last one: an empty page without X-TAXII headers.
    response = api.objects(SHARED, token, added_after=added[-1])
    assert response.status_code == 200
    assert response.json() == {"more": False}
    assert "x-taxii-date-added-first" not in response.headers
    for bad in ("yesterday", "2024-01-01", "2024-01-01T00:00:00", "2024-02-30T00:00:00Z", "0"):
        assert_error(api.objects(SHARED, token, added_after=bad), 400)
    assert_error(api.objects(SHARED, token, added_after=[added[0], added[1]]), 400)


def test_added_after_on_object_and_versions(api, coalition):
    token = coalition.token("Ofcom")
    v0 = indicator(Tlp.GREEN, created=T0)
    api.add(SHARED, token, [v0])
    api.add(SHARED, token, [indicator(Tlp.GREEN, id=v0["id"], created=T0, modified=T1)])
    api.add(SHARED, token, [indicator(Tlp.GREEN, id=v0["id"], created=T0, modified=T2)])
    added = [m["date_added"] for m in _manifest(api, token, match_version="all")]
    oid = v0["id"]
    body = api.versions(SHARED, token, oid, added_after=added[0]).json()
    assert body["versions"] == [format_timestamp(parse_timestamp(t)) for t in (T1, T2)]
    assert _modified(api.object(SHARED, token, oid, added_after=added[1], match_version="all")) == [
        T2
    ]


# --------------------------------------------------------------------- limit


def test_limit_and_server_maximum(coalition):
    api = Api(coalition.database, page_size=3)
    token = coalition.token("Ofcom")
    objs = [indicator(Tlp.GREEN) for _ in range(5)]
    api.add(SHARED, token, objs)
    oid = objs[0]["id"]
    for params, count, more in [
        ({}, 3, True),
        ({"limit": "100"}, 3, True),
        ({"limit": "2"}, 2, True),
    ]:
        body = api.objects(SHARED, token, **params).json()
        assert (len(body["objects"]), body["more"]) == (count, more)
        assert ("next" in body) is more
    assert api.manifest(SHARED, token, limit="5").json()["more"] is True
    body = api.manifest(
        SHARED, token, limit="5", added_after=_manifest(api, token)[1]["date_added"]
    )
    assert (len(body.json()["objects"]), body.json()["more"]) == (3, False)
    for bad in ("0", "-1", "abc", "1.5", "", " 2", "2,3", "+2", "1e3", "9" * 13):
        for response in (
            api.objects(SHARED, token, limit=bad),
            api.manifest(SHARED, token, limit=bad),
            api.object(SHARED, token, oid, limit=bad),
            api.versions(SHARED, token, oid, limit=bad),
        ):
            assert_error(response, 400)
    assert_error(api.objects(SHARED, token, limit=["1", "2"]), 400)


def test_limit_with_unicode_digit_is_400(api, coalition):
    token = coalition.token("Ofcom")
    assert_error(api.objects(SHARED, token, limit="²"), 400)
    assert_error(api.manifest(SHARED, token, limit="1²"), 400)


def test_limit_accepts_other_unicode_decimals_without_error(api, coalition):
    # Arabic-Indic digits are decimal digits for int(); whatever the answer, never a 5xx.
    response = api.objects(SHARED, coalition.token("Ofcom"), limit="٣")
    assert response.status_code in (200, 400)


# ------------------------------------------------------------------- match[]


def test_match_id_and_type(api, coalition):
    token = coalition.token("Ofcom")
    ind, ident = indicator(Tlp.GREEN), identity(Tlp.GREEN)
    rel = relationship(ident["id"], ind["id"], Tlp.GREEN)
    sco = ipv4()
    api.add(SHARED, token, [ind, ident, rel, sco])
    assert api.ids(SHARED, token, match_id=ind["id"]) == [ind["id"]]
    assert api.ids(SHARED, token, match_id=f"{rel['id']},{ind['id']}") == [ind["id"], rel["id"]]
    both = api.objects(SHARED, token, match_id=[ind["id"], sco["id"]])
    assert [o["id"] for o in both.json()["objects"]] == [ind["id"], sco["id"]]
    assert api.ids(SHARED, token, match_id="indicator--00000000-0000-4000-8000-000000000000") == []
    assert api.ids(SHARED, token, match_type="relationship") == [rel["id"]]
    assert api.ids(SHARED, token, match_type="indicator,ipv4-addr") == [ind["id"], sco["id"]]
    assert api.ids(SHARED, token, match_type="malware") == []
    assert api.ids(SHARED, token, match_type="identity", match_id=ind["id"]) == []
    assert [m["id"] for m in _manifest(api, token, match_type="identity")] == [ident["id"]]
    for bad in ("indicator--1", "Indicator--" + ind["id"][11:], "x", ind["id"] + "x", "a,,b", ""):
        assert_error(api.objects(SHARED, token, match_id=bad), 400)
        assert_error(api.manifest(SHARED, token, match_id=bad), 400)
    for bad in ("Indicator", "a", "in--dicator", "indicator!", "-x-", "", "indicator,"):
        assert_error(api.objects(SHARED, token, match_type=bad), 400)
    # match[id] has no meaning on the single-object endpoints.
    assert_error(api.object(SHARED, token, ind["id"], match_id=ind["id"]), 400)
    assert_error(api.versions(SHARED, token, ind["id"], match_id=ind["id"]), 400)


def test_match_version(api, coalition):
    token = coalition.token("Ofcom")
    v = [indicator(Tlp.GREEN, created=T0)]
    v.append(indicator(Tlp.GREEN, id=v[0]["id"], created=T0, modified="2024-01-01T00:00:01.000Z"))
    v.append(indicator(Tlp.GREEN, id=v[0]["id"], created=T0, modified="2024-01-01T00:00:01.5Z"))
    other = indicator(Tlp.GREEN, created=T1)
    api.add(SHARED, token, [*v, other])
    oid = v[0]["id"]
    cases = {
        "last": [v[2]["modified"], T1],
        "first": [T0, T1],
        "all": [T0, v[1]["modified"], v[2]["modified"], T1],
        "first,last": [T0, v[2]["modified"], T1],
        # Equivalent forms of the same timestamp name the same version.
        "2024-01-01T00:00:01Z": [v[1]["modified"]],
        "2024-01-01T00:00:01.000Z": [v[1]["modified"]],
        "2024-01-01T00:00:01.000000000Z": [v[1]["modified"]],
        "2024-01-01T00:00:01.500000Z": [v[2]["modified"]],
        "2024-01-01T00:00:01.50Z": [v[2]["modified"]],
        f"2024-01-01T00:00:01Z,{T1}": [v[1]["modified"], T1],
        "2023-01-01T00:00:00Z": [],
    }
    for value, expected in cases.items():
        assert _modified(api.objects(SHARED, token, match_version=value)) == expected, value
        manifest = _manifest(api, token, match_version=value)
        assert [m["version"] for m in manifest] == [
            format_timestamp(parse_timestamp(t)) for t in expected
        ], value
    assert _modified(api.object(SHARED, token, oid, match_version="2024-01-01T00:00:01Z")) == [
        v[1]["modified"]
    ]
    # An existing object whose versions do not match: an empty page, not 404.
    response = api.object(SHARED, token, oid, match_version="2023-01-01T00:00:00Z")
    assert response.status_code == 200 and response.json() == {"more": False}
    for bad in ("newest", "2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01", "", "all,"):
        assert_error(api.objects(SHARED, token, match_version=bad), 400)
        assert_error(api.object(SHARED, token, oid, match_version=bad), 400)
    # The versions endpoint lists every version; match[version] is refused there.
    assert_error(api.versions(SHARED, token, oid, match_version="all"), 400)


def test_match_version_finds_an_sco_by_its_advertised_version(api, coalition):
    token = coalition.token("Ofcom")
    sco = ipv4()
    api.add(SHARED, token, [sco])
    version = _manifest(api, token)[0]["version"]
    assert api.versions(SHARED, token, sco["id"]).json()["versions"] == [version]
    assert api.ids(SHARED, token, match_version=version) == [sco["id"]]


def test_match_version_before_year_1000(api, coalition):
    token = coalition.token("Ofcom")
    old = indicator(Tlp.GREEN, created="0999-01-01T00:00:00.000Z")
    api.add(SHARED, token, [old])
    assert api.ids(SHARED, token, match_version="0999-01-01T00:00:00Z") == [old["id"]]


def test_match_spec_version_and_unknown_filters(api, coalition):
    token = coalition.token("Ofcom")
    obj = indicator(Tlp.GREEN)
    api.add(SHARED, token, [obj])
    oid = obj["id"]
    assert api.ids(SHARED, token, match_spec_version="2.1") == [oid]
    assert api.ids(SHARED, token, match_spec_version="2.0") == []
    assert api.ids(SHARED, token, match_spec_version="2.0,2.1") == [oid]
    assert api.versions(SHARED, token, oid, match_spec_version="2.1").status_code == 200
    for bad in ("2", "abc", "2.1.1", "", "v2.1"):
        assert_error(api.objects(SHARED, token, match_spec_version=bad), 400)
    paths = [
        f"{SHARED}/objects/",
        f"{SHARED}/manifest/",
        f"{SHARED}/objects/{oid}/",
        f"{SHARED}/objects/{oid}/versions/",
    ]
    for path in paths:
        for name in ("match[foo]", "match[]", "match[ID]", "match[created_by_ref]"):
            assert_error(api.get(path, token, params={name: "x"}), 400)
    assert_error(api.delete(f"{SHARED}/objects/{oid}/", token, params={"match[foo]": "x"}), 400)
    assert api.ids(SHARED, token) == [oid]


# ------------------------------------------------------ date_added and headers


def test_x_taxii_date_added_headers(coalition):
    api = Api(coalition.database, page_size=2)
    token = coalition.token("Ofcom")
    v0 = indicator(Tlp.GREEN, created=T0)
    objs = [v0, indicator(Tlp.GREEN, id=v0["id"], created=T0, modified=T1)]
    objs += [indicator(Tlp.GREEN) for _ in range(3)]
    for obj in objs:
        api.add(SHARED, token, [obj])
    full = []
    for page in api.walk(f"{SHARED}/manifest/", token, limit=2, match_version="all"):
        full += page.json()["objects"]
        first, last = page.json()["objects"][0], page.json()["objects"][-1]
        assert page.headers["x-taxii-date-added-first"] == first["date_added"]
        assert page.headers["x-taxii-date-added-last"] == last["date_added"]
    assert len(full) == 5
    added = {(m["id"], m["version"]): m["date_added"] for m in full}

    def check(response, keys):
        assert response.status_code == 200, response.text
        assert response.headers["x-taxii-date-added-first"] == added[keys[0]]
        assert response.headers["x-taxii-date-added-last"] == added[keys[-1]]

    def key(o):
        return (o["id"], format_timestamp(parse_timestamp(o["modified"])))

    response = api.objects(SHARED, token, match_version="all")
    check(response, [key(o) for o in response.json()["objects"]])
    response = api.objects(SHARED, token, match_version="all", limit="1")
    check(response, [key(response.json()["objects"][0])])
    response = api.object(SHARED, token, v0["id"], match_version="all")
    check(response, [key(o) for o in objs[:2]])
    response = api.versions(SHARED, token, v0["id"])
    check(response, [key(o) for o in objs[:2]])
    response = api.versions(SHARED, token, v0["id"], limit="1")
    check(response, [key(objs[0])])


def test_date_added_is_microsecond_and_strictly_increasing(api, coalition):
    token = coalition.token("Ofcom")
    posted = []
    for i in range(6):
        batch = [indicator(Tlp.GREEN) for _ in range(i % 3 + 1)]
        collection = SHARED if i % 2 == 0 else AMBER_DEFAULT
        api.add(collection, token, batch)
        posted += [(collection, o["id"]) for o in batch]
    seen = []
    for collection in (SHARED, AMBER_DEFAULT):
        for m in _manifest(api, token, collection):
            assert MICROSECONDS.match(m["date_added"]), m
            seen.append((parse_timestamp(m["date_added"]), collection, m["id"]))
    seen.sort()
    assert [(c, i) for _, c, i in seen] == posted  # date_added order == posting order
    stamps = [s for s, _, _ in seen]
    assert all(a < b for a, b in itertools.pairwise(stamps))


def test_date_added_unique_and_ordered_under_concurrent_posts(coalition):
    database = coalition.database
    tokens = [coalition.token(org) for org in ("Ofcom", "FCC", "ISED", "Ofcom")]
    per_thread: dict[int, list[str]] = {}
    errors: list[str] = []
    barrier = threading.Barrier(len(tokens), timeout=30)
    clients = [Api(database) for _ in tokens]  # one app per worker, made up front

    def worker(n: int) -> None:
        api = clients[n]
        ids: list[str] = []
        barrier.wait()
        for _ in range(4):
            batch = [indicator(Tlp.GREEN) for _ in range(3)]
            response = api.post(f"{SHARED}/objects/", tokens[n], batch)
            if response.status_code != 202 or response.json()["success_count"] != 3:
                errors.append(response.text)
            ids += [o["id"] for o in batch]
        per_thread[n] = ids

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    api = Api(database)
    manifest = []
    for page in api.walk(f"{SHARED}/manifest/", coalition.token("ACMA"), limit=7):
        manifest += page.json()["objects"]
    stamps = [parse_timestamp(m["date_added"]) for m in manifest]
    assert len(manifest) == 48
    assert all(a < b for a, b in itertools.pairwise(stamps))
    position = {m["id"]: i for i, m in enumerate(manifest)}
    for ids in per_thread.values():
        order = [position[i] for i in ids]
        assert order == sorted(order)  # each client's posts in the order it made them
    with database.engine.connect() as conn:
        added = conn.execute(select(StixObject.date_added_us)).scalars().all()
    assert len(added) == len(set(added))
