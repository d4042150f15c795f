"""A hostile or broken peer: a real HTTP server answering every page request
with whatever hypothesis makes up (not JSON, the wrong shapes, missing or
lying headers, objects good and bad).  The sync must never crash, never store
an invalid or forbidden object, never move its cursor past a page it did not
store, and keep every valid object of a page it did store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from telsec.federation.peers import add_peer, get_peer
from telsec.federation.sync import sync_peer
from telsec.members.service import add_collection, add_organisation
from telsec.stix.tlp import Tlp
from telsec.storage.models import StixObject
from tests.federation.cluster import ThreadServer
from tests.interop.hub import attack_pattern, close_database, make_database

TAXII = "application/taxii+json;version=2.1"


class Scripted:
    """A TAXII-looking server whose objects pages say what the test sets."""

    def __init__(self) -> None:
        self.page: tuple[int, bytes, dict[str, str]] = (200, b"{}", {})
        app = Starlette(
            routes=[
                Route("/taxii2/", self._discovery),
                Route("/r/collections/", self._collections),
                Route("/r/collections/c/objects/", self._objects),
            ]
        )
        self.server = ThreadServer(app)
        self.url = self.server.url

    async def _discovery(self, _request: Request) -> Response:
        body = {"title": "hostile", "api_roots": [self.url + "/r/"]}
        return Response(orjson.dumps(body), media_type=TAXII)

    async def _collections(self, _request: Request) -> Response:
        body = {"collections": [{"id": "c", "title": "c", "can_read": True, "can_write": False}]}
        return Response(orjson.dumps(body), media_type=TAXII)

    async def _objects(self, _request: Request) -> Response:
        status, body, headers = self.page
        return Response(body, status_code=status, headers=headers, media_type=TAXII)


@pytest.fixture(scope="module")
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    server.server.start()
    yield server
    server.server.stop()


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory, scripted: Scripted) -> Iterator[Any]:
    db = make_database("sqlite", tmp_path_factory.mktemp("receiver"))
    add_organisation(db.engine, "Ofcom")
    add_collection(
        db.engine,
        "coalition",
        "c",
        read=["Ofcom"],
        write=["Ofcom"],
        alias="coalition",
        default_tlp=Tlp.GREEN,
    )
    add_peer(db.engine, "hostile", scripted.url, token="tsk_a_b", pull=["c"], into="coalition")
    yield db
    close_database(db)


GOOD = st.builds(
    lambda n, level: attack_pattern(f"good {n}", tlp=level),
    st.integers(0, 10**6),
    st.sampled_from([Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, None]),
)
FORBIDDEN = st.builds(
    lambda n, level: attack_pattern(f"forbidden {n}", tlp=level),
    st.integers(0, 10**6),
    st.sampled_from([Tlp.AMBER_STRICT, Tlp.RED]),
)
JUNK = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(max_size=20),
    st.lists(st.integers(min_value=-(2**63), max_value=2**64 - 1), max_size=3),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    st.builds(lambda o: {**o, "id": "attack-pattern--nope"}, GOOD),
)
ITEM = st.one_of(GOOD, FORBIDDEN, JUNK)
STAMP = st.sampled_from(
    ["2030-01-01T00:00:00.000000Z", "1999-01-01T00:00:00Z", "yesterday", "", "2030-13-45T99:00Z"]
)


@st.composite
def pages(draw: st.DrawFn) -> tuple[int, bytes, dict[str, str], list[Any]]:
    status = draw(st.sampled_from([200, 200, 200, 200, 500, 401, 404, 302]))
    items = draw(st.lists(ITEM, max_size=8))
    envelope: Any = draw(
        st.sampled_from(["envelope", "objects-not-list", "array", "not-json", "empty"])
    )
    if envelope == "envelope":
        body = orjson.dumps({"more": draw(st.booleans()), "objects": items})
    elif envelope == "objects-not-list":
        body = orjson.dumps({"more": False, "objects": {"a": 1}})
    elif envelope == "array":
        body = orjson.dumps(items)
    elif envelope == "not-json":
        body = draw(st.binary(max_size=64))
    else:
        body = b"{}"
    headers = {}
    if draw(st.booleans()):
        headers["X-TAXII-Date-Added-Last"] = draw(STAMP)
    return status, body, headers, items if envelope == "envelope" else []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(page=pages())
def test_whatever_a_peer_sends_nothing_bad_is_stored(
    scripted: Scripted, receiver: Any, page: tuple[int, bytes, dict[str, str], list[Any]]
) -> None:
    status, body, headers, items = page
    scripted.page = (status, body, headers)
    before = get_peer(receiver.engine, "hostile").feeds[0]
    [outcome] = sync_peer(receiver.engine, "hostile", timeout=5, max_pages=1)
    after = get_peer(receiver.engine, "hostile").feeds[0]
    with receiver.engine.connect() as conn:
        stored = {
            r.stix_id: r.tlp for r in conn.execute(select(StixObject.stix_id, StixObject.tlp))
        }
    # nothing AMBER+STRICT or RED, and nothing invalid, is ever stored
    assert all(tlp is None or tlp <= Tlp.AMBER for tlp in stored.values())
    assert "attack-pattern--nope" not in stored
    if outcome.error is not None or outcome.pages == 0:
        assert after.cursor == before.cursor
        return
    # a page was stored: all its valid, allowed objects are here, the cursor moved
    good = [
        o
        for o in items
        if isinstance(o, dict)
        and o.get("name", "").startswith("good")
        and o.get("id") != "attack-pattern--nope"
    ]
    assert {o["id"] for o in good} <= set(stored)
    assert after.cursor == headers["X-TAXII-Date-Added-Last"]
