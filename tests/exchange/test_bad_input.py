"""Hostile input never produces a 5xx, always a TAXII error, and a 4xx stores nothing.

Property-based (hypothesis) on SQLite and PostgreSQL, plus deterministic tests
for inputs that once reached a server error (NUL characters on PostgreSQL) or
still do (nesting between orjson's decoder and encoder depth limits, ``xfail``).
"""

from __future__ import annotations

import base64
import json
import urllib.parse

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telsec.stix.tlp import Tlp

from .helpers import (
    SHARED,
    TAXII,
    Api,
    assert_error,
    headers,
    indicator,
    stored_count,
)

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def api(coalition):
    return Api(coalition.database)


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=25,
)


# What orjson parses (the envelope around hostile objects must stay valid JSON).
PARSEABLE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=25,
)


def _dumps(value) -> bytes:
    # The stdlib writes what orjson would refuse to (huge ints, NaN): all fair game.
    return json.dumps(value).encode()


def _check(database, response, before: int) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"] == TAXII
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert stored_count(database) == before
    elif response.status_code == 202:
        status = response.json()
        assert status["total_count"] == status["success_count"] + status["failure_count"]


# ------------------------------------------------------------------ POST bodies


def test_random_bytes_bodies(api, coalition):
    token = coalition.token("Ofcom")

    @SETTINGS
    @given(body=st.binary(max_size=400))
    def run(body):
        before = stored_count(coalition.database)
        _check(coalition.database, api.post(f"{SHARED}/objects/", token, body), before)

    run()


def test_random_json_bodies_and_envelopes(api, coalition):
    token = coalition.token("Ofcom")

    @SETTINGS
    @given(
        body=JSON
        | st.dictionaries(TEXT, JSON, max_size=4)
        | st.fixed_dictionaries({"objects": JSON})
        | st.fixed_dictionaries({"objects": st.lists(JSON, max_size=6)})
    )
    def run(body):
        before = stored_count(coalition.database)
        response = api.post(f"{SHARED}/objects/", token, _dumps(body))
        _check(coalition.database, response, before)
        if response.status_code == 202:
            assert stored_count(coalition.database) == before  # junk is never stored

    run()


def _mutations():
    keys = st.sampled_from(
        [
            "type",
            "id",
            "spec_version",
            "created",
            "modified",
            "name",
            "pattern",
            "pattern_type",
            "valid_from",
            "object_marking_refs",
            "granular_markings",
            "extensions",
            "revoked",
            "labels",
            "confidence",
            "created_by_ref",
        ]
    )
    return st.one_of(
        st.tuples(st.just("set"), keys, PARSEABLE),
        st.tuples(st.just("delete"), keys, st.none()),
        st.tuples(st.just("add"), TEXT, PARSEABLE),
        st.tuples(st.just("add"), TEXT.map(lambda t: "x_" + t), PARSEABLE),
    )


def _hostile(mutations):
    obj = indicator(Tlp.GREEN)
    for action, key, value in mutations:
        if action == "delete":
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


def test_hostile_objects_next_to_valid_ones(api, coalition):
    token = coalition.token("Ofcom")
    reader = coalition.token("FCC", "reader")

    @SETTINGS
    @given(hostile=st.lists(st.lists(_mutations(), min_size=1, max_size=3), max_size=4))
    def run(hostile):
        valid = [indicator(Tlp.GREEN), indicator(Tlp.AMBER)]
        envelope = [valid[0], *(_hostile(m) for m in hostile), valid[1]]
        response = api.post(f"{SHARED}/objects/", token, _dumps({"objects": envelope}))
        assert response.status_code == 202, response.text
        status = response.json()
        assert status["total_count"] == len(envelope)
        assert status["total_count"] == status["success_count"] + status["failure_count"]
        assert {o["id"] for o in valid} <= {s["id"] for s in status["successes"]}
        assert all(f.get("message") for f in status["failures"])
        ids = ",".join(o["id"] for o in valid)
        assert api.ids(SHARED, reader, match_id=ids) == [o["id"] for o in valid]

    run()


@pytest.mark.parametrize("wrapper", ["list", "object"])
def test_deep_nesting_is_refused_cleanly(api, coalition, wrapper):
    token = coalition.token("Ofcom")
    before = stored_count(coalition.database)
    open_, close = (b"[", b"]") if wrapper == "list" else (b'{"a":', b"}")
    for depth in (2000, 100_000):
        deep = open_ * depth + b"1" + close * depth
        for body in (deep, b'{"objects": [' + deep + b"]}"):
            response = api.post(f"{SHARED}/objects/", token, body)
            assert_error(response, 400)
    assert stored_count(coalition.database) == before
    # Shallow nesting inside an object is stored like anything else.
    shallow = orjson.dumps(indicator(Tlp.GREEN))[:-1] + b',"x_deep":' + open_ * 50
    shallow += b"1" + close * 50 + b"}"
    response = api.post(f"{SHARED}/objects/", token, b'{"objects": [' + shallow + b"]}")
    assert response.status_code == 202 and response.json()["success_count"] == 1


def test_huge_values(api, coalition):
    token = coalition.token("Ofcom")
    big = indicator(Tlp.GREEN, description="x" * 2_000_000, labels=["y" * 1000] * 200)
    junk = {"type": "indicator", "id": "indicator--" + "a" * 100_000, "name": "z" * 100_000}
    many = [{"type": "x"} for _ in range(20_000)]
    response = api.post(f"{SHARED}/objects/", token, [big, junk, *many])
    assert response.status_code == 202
    status = response.json()
    assert (status["success_count"], status["failure_count"]) == (1, 20_001)
    assert all(len(f["id"]) <= 300 for f in status["failures"])
    assert api.object(SHARED, token, big["id"]).json()["objects"] == [big]
    long_value = "a" * 20_000
    for name in ("limit", "added_after", "next", "match[id]", "match[type]", "match[version]"):
        assert_error(api.get(f"{SHARED}/objects/", token, params={name: long_value}), 400)


# ---------------------------------------------------------------- query strings

PARAM_NAMES = st.sampled_from(
    [
        "added_after",
        "limit",
        "next",
        "match[id]",
        "match[type]",
        "match[version]",
        "match[spec_version]",
        "match[foo]",
        "match[",
        "unrelated",
    ]
) | TEXT.filter(bool)


def test_random_query_parameters(api, coalition):
    token = coalition.token("Ofcom")
    obj = indicator(Tlp.AMBER)
    api.add(SHARED, token, [obj])
    paths = [
        f"{SHARED}/objects/",
        f"{SHARED}/manifest/",
        f"{SHARED}/objects/{obj['id']}/",
        f"{SHARED}/objects/{obj['id']}/versions/",
    ]

    @SETTINGS
    @given(
        path=st.sampled_from(paths),
        params=st.lists(st.tuples(PARAM_NAMES, TEXT | st.integers().map(str)), max_size=4),
        method=st.sampled_from(["GET", "DELETE"]),
    )
    def run(path, params, method):
        if method == "DELETE" and not path.endswith(f"{obj['id']}/"):
            method = "GET"
        response = api.http.request(method, path, params=params, headers=headers(token))
        assert response.status_code < 500, (params, response.text)
        assert response.headers["content-type"] == TAXII
        if response.status_code >= 400:
            assert_error(response, response.status_code)
        if method == "DELETE" and response.status_code == 200:
            api.add(SHARED, token, [obj])  # put it back for the next example

    run()


def test_random_path_segments(api, coalition):
    token = coalition.token("Ofcom")

    @SETTINGS
    @given(
        segment=TEXT.filter(lambda s: s not in ("", ".", "..")),
        template=st.sampled_from(
            [
                "/{}/",
                "/coalition/collections/{}/",
                "/coalition/collections/{}/objects/",
                f"{SHARED}/objects/{{}}/",
                f"{SHARED}/objects/{{}}/versions/",
                "/coalition/status/{}/",
            ]
        ),
    )
    def run(segment, template):
        path = template.format(urllib.parse.quote(segment, safe=""))
        for method in ("GET", "DELETE", "POST"):
            response = api.http.request(
                method, path, headers=headers(token, content_type=TAXII), content=b"{}"
            )
            assert response.status_code < 500, (path, response.text)
            assert response.headers["content-type"] == TAXII
            if response.status_code >= 400:
                assert_error(response, response.status_code)

    run()


def test_random_credentials(api, coalition):
    printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)

    @SETTINGS
    @given(
        header=printable
        | st.tuples(st.sampled_from(["Bearer ", "Token ", "Basic "]), printable).map("".join)
        | st.tuples(TEXT, TEXT).map(
            lambda up: "Basic " + base64.b64encode(f"{up[0]}:{up[1]}".encode()).decode()
        )
    )
    def run(header):
        response = api.http.get("/taxii2/", headers={"Authorization": header, "Accept": TAXII})
        assert_error(response, 401)

    run()


# ------------------------------------------------------------ NUL and nesting


def test_nul_character_in_an_object(api, coalition):
    token = coalition.token("Ofcom")
    valid = indicator(Tlp.GREEN)
    nul = indicator(Tlp.GREEN, description="before\x00after")
    response = api.post(f"{SHARED}/objects/", token, [valid, nul])
    assert response.status_code == 202, response.text
    assert api.ids(SHARED, token, match_id=valid["id"]) == [valid["id"]]
    status = response.json()
    assert status["total_count"] == 2
    # Either stored intact or refused with a reason - never a server error.
    stored = api.ids(SHARED, token, match_id=nul["id"])
    if stored:
        assert api.object(SHARED, token, nul["id"]).json()["objects"] == [nul]
    else:
        assert [f["id"] for f in status["failures"]] == [nul["id"]]
        assert status["failures"][0]["message"]


def test_nul_character_in_a_status_id(api, coalition):
    assert_error(api.get("/coalition/status/abc%00def/", coalition.token("Ofcom")), 400)


@pytest.mark.parametrize("path", ["/coalition%0A/", "/coalition/%0A", "/taxii2/%0D", "/%7F/"])
def test_a_control_character_in_a_path_is_a_bad_request(api, coalition, path):
    """Before routing, whoever asks: a route pattern's ``$`` matches before a final
    newline, so ``/coalition/\n`` would otherwise be the API root ``coalition``."""
    assert_error(api.get(path, coalition.token("Ofcom")), 400)
    assert_error(api.get(path, None), 400)


def test_nul_character_in_a_basic_user_name(api, coalition):
    raw = base64.b64encode(b"al\x00ice:some long password").decode()
    response = api.http.get("/taxii2/", headers={"Authorization": f"Basic {raw}"})
    assert_error(response, 401)


def test_nesting_between_the_json_limits(api, coalition):
    token = coalition.token("Ofcom")
    valid = indicator(Tlp.GREEN)
    deep = orjson.dumps(indicator(Tlp.GREEN))[:-1] + b',"x_deep":' + b"[" * 300 + b"]" * 300
    body = b'{"objects": [' + orjson.dumps(valid) + b"," + deep + b"}]}"
    response = api.post(f"{SHARED}/objects/", token, body)
    assert response.status_code == 202, response.text
    assert api.ids(SHARED, token, match_id=valid["id"]) == [valid["id"]]
