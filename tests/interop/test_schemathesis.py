"""Property-based fuzzing of the TAXII API from its own OpenAPI document.

Schemathesis (v4) loads ``/openapi.json`` from the ASGI app in-process (SQLite)
and generates requests for every operation, positive and negative.  Each
request is sent with one of several credentials (a writer, a reader, an
organisation without grants, none, garbage), and its path parameters are, some
of the time, replaced by the real API root, collection (id or alias), object id
and status id so that the handlers behind the 404s are exercised too.

Required of every response: no 5xx, and ``application/taxii+json;version=2.1``
as its content type (the OpenAPI document and /docs are not TAXII resources and
are not part of the schema's operations).
"""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from sqlalchemy import create_engine

from telsec.exchange.taxii import create_app
from telsec.members import service
from telsec.stix.tlp import Tlp
from tests.conftest import build_coalition
from tests.interop.hub import (
    SECRET_KEY,
    TAXII,
    attack_pattern,
    close_database,
    indicator,
    make_database,
)

MAX_EXAMPLES = 25
PASSWORD = "a long enough password"
SEEN: defaultdict[str, Counter[int]] = defaultdict(Counter)


@dataclass
class Node:
    app: Any
    root: str
    collection_ids: list[str]  # ids and aliases the writer can see
    object_ids: list[str]
    status_ids: list[str]
    credentials: list[str | None]  # Authorization header values


def _post(client: TestClient, token: str, url: str, objects: list[dict[str, Any]]) -> str:
    response = client.post(
        url,
        content=orjson.dumps({"objects": objects}),
        headers={"Authorization": f"Bearer {token}", "Accept": TAXII, "Content-Type": TAXII},
    )
    assert response.status_code == 202, response.text
    assert response.json()["success_count"] == len(objects), response.text
    status_id: str = response.json()["id"]
    return status_id


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    directory: Path = tmp_path_factory.mktemp("schemathesis")
    db = make_database("sqlite", directory)
    try:
        coalition = build_coalition(db)
        service.add_user(db.engine, "fcc-analyst", "FCC", "reader", PASSWORD)
        app = create_app(db.settings, engine=db.engine, secret_key=SECRET_KEY, page_size=50)
        client = TestClient(app)
        shared = coalition.collections["shared"]
        url = f"/coalition/collections/{shared.id}/objects/"
        # Ofcom's objects: FCC, the fuzzing writer, may read but not delete them.
        ofcom = [
            attack_pattern("GT scanning", tlp=Tlp.GREEN),
            attack_pattern("SIM swap", tlp=Tlp.AMBER),
            attack_pattern("core intrusion", tlp=Tlp.RED),
        ]
        ofcom.append(dict(ofcom[0], modified="2025-06-01T00:00:00.000Z", name="GT v2"))
        _post(client, coalition.token("Ofcom"), url, ofcom)
        # FCC's own, which it may delete.
        writer = coalition.token("FCC")
        fcc = [indicator("smishing", n, tlp=Tlp.CLEAR) for n in range(2)]
        status_id = _post(client, writer, url, fcc)
        basic = base64.b64encode(f"fcc-analyst:{PASSWORD}".encode()).decode()
        yield Node(
            app=app,
            root="coalition",
            collection_ids=[
                shared.id,
                "shared",
                coalition.collections["amber-default"].id,
                "vocabulary",
                coalition.collections["uk-reports"].id,  # another root's: 404
            ],
            object_ids=[o["id"] for o in fcc + ofcom[:3]],
            status_ids=[status_id],
            credentials=[
                f"Bearer {writer}",
                f"Bearer {coalition.token('ACMA', 'reader')}",
                f"Token {coalition.token('NCSC-NZ')}",
                f"Basic {basic}",
                None,
                "Bearer tsk_0_garbage",
            ],
        )
    finally:
        close_database(db)


def _openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, from an app that never touches its database.

    (``schemathesis.pytest.from_fixture`` would let a fixture build the schema
    from the real app, but its lazy runner does not work with pytest 9; the
    requests still go to the real app: ``case.call(app=node.app)``.)
    """
    app = create_app(engine=create_engine("sqlite://"), secret_key=SECRET_KEY)
    document: dict[str, Any] = app.openapi()
    return document


schema = schemathesis.openapi.from_dict(_openapi_document())


@st.composite
def overrides(draw: st.DrawFn) -> dict[str, Any]:
    """How much of the generated request to replace with real values."""
    return {
        "level": draw(
            st.sampled_from(["object", "generated", "object", "root", "object", "collection"])
        ),
        "collection": draw(st.sampled_from([0, 1, 2, 3, 4, 0])),
        "object": draw(st.integers(0, 4)),
        "credential": draw(st.sampled_from([0, 1, 2, 3, 4, 5, 0, 0])),
        "accept": draw(st.sampled_from(["taxii", "none", "any"])),
        # Generated query strings are mostly malformed filters (400s); drop
        # them some of the time so that the handlers behind them run too.
        "query": draw(st.sampled_from(["generated", "none"])),
    }


def _apply(case: Any, node: Node, choice: dict[str, Any]) -> dict[str, str]:
    params = dict(case.path_parameters or {})
    level = choice["level"]
    if level != "generated" and "api_root" in params:
        params["api_root"] = node.root
    if level in ("collection", "object") and "collection_id" in params:
        params["collection_id"] = node.collection_ids[choice["collection"]]
    if level == "object":
        if "object_id" in params:
            params["object_id"] = node.object_ids[choice["object"]]
        if "status_id" in params:
            params["status_id"] = node.status_ids[0]
    if params:
        case.path_parameters = params
    if choice["query"] == "none":
        case.query = {}
    headers: dict[str, str] = {}
    credential = node.credentials[choice["credential"]]
    if credential is not None:
        headers["Authorization"] = credential
    if choice["accept"] == "taxii":
        headers["Accept"] = TAXII
    elif choice["accept"] == "any":
        headers["Accept"] = "*/*"
    return headers


@schema.parametrize()
@schema.given(choice=overrides())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_always_taxii_json(
    case: Any, choice: dict[str, Any], node: Node
) -> None:
    headers = _apply(case, node, choice)
    if case.headers:
        headers = {**{k: v for k, v in case.headers.items() if isinstance(v, str)}, **headers}
    response = case.call(headers=headers, app=node.app)
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, response.text[:500]
    content_type = response.headers.get("content-type")  # a list of values
    assert content_type == [TAXII], (response.status_code, content_type, response.text[:300])
    SEEN[f"{case.operation.method.upper()} {case.operation.path}"][response.status_code] += 1


def test_openapi_document_and_docs_are_served(node: Node) -> None:
    client = TestClient(node.app)
    document = client.get("/openapi.json")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/json"
    assert "/{api_root}/collections/{collection_id}/objects/" in document.json()["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")


def test_fuzzing_reached_the_handlers() -> None:
    """Every operation was answered with a success at least once, not only 4xx."""
    if not SEEN:
        pytest.skip("the fuzzing test did not run in this session")
    missing = {op: dict(codes) for op, codes in SEEN.items() if not codes.keys() & {200, 202}}
    assert missing == {}


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=-1",
        "limit=1e3",
        "limit=99999999999999999999",
        "limit=1&limit=2",
        "limit=%C2%B2",
        "added_after=2025-02-30T00:00:00Z",
        "added_after=0000-01-01T00:00:00Z",
        "added_after=2025-01-01T00:00:00Z&added_after=2025-01-02T00:00:00Z",
        "match[version]=yesterday",
        "match[spec_version]=2.1.0",
        "match[type]=%00",
        "match[id]=indicator--not-a-uuid",
        "match[colour]=red",
        "match[type]=",
        "next=abc",
        "next=a.b",
        "next=" + "A" * 600,
    ],
)
def test_hand_picked_bad_queries_are_400_taxii_errors(node: Node, query: str) -> None:
    collection = node.collection_ids[0]
    client = TestClient(node.app, raise_server_exceptions=False)
    response = client.get(
        f"/{node.root}/collections/{collection}/objects/?{query}",
        headers={"Authorization": node.credentials[0] or "", "Accept": TAXII},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == TAXII
    body = response.json()
    assert body["http_status"] == "400" and body["title"] and body["error_id"]
