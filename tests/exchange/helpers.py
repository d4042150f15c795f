"""Object factories and request helpers for the TAXII API tests.

Everything here talks to a real application (``create_app``) on a real database
through :class:`fastapi.testclient.TestClient`; nothing is mocked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from telsec.exchange.taxii import create_app
from telsec.stix.telecom import with_red_recipients
from telsec.stix.tlp import TLP1_MARKING_IDS, TLP2_MARKING_IDS, Tlp
from telsec.storage.models import StixObject

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"

SHARED = "/coalition/collections/shared"
AMBER_DEFAULT = "/coalition/collections/amber-default"
VOCABULARY = "/coalition/collections/vocabulary"
UK_REPORTS = "/uk/collections/uk-reports"

T0 = "2024-01-01T00:00:00.000Z"
T1 = "2024-02-01T00:00:00.000Z"
T2 = "2024-03-01T00:00:00.000Z"
T3 = "2024-04-01T00:00:00.000Z"

TLP1_RED = next(mid for mid, level in TLP1_MARKING_IDS.items() if level == Tlp.RED)
TLP1_WHITE = next(mid for mid, level in TLP1_MARKING_IDS.items() if level == Tlp.CLEAR)


# ----------------------------------------------------------------- objects


def new_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def _marked(obj: dict[str, Any], tlp: Tlp | str | None) -> dict[str, Any]:
    if tlp is not None:
        obj["object_marking_refs"] = [tlp if isinstance(tlp, str) else TLP2_MARKING_IDS[tlp]]
    return obj


def indicator(
    tlp: Tlp | str | None = Tlp.GREEN,
    *,
    id: str | None = None,
    created: str = T0,
    modified: str | None = None,
    name: str = "SS7 location tracking source",
    revoked: bool | None = None,
    recipients: Iterable[str] = (),
    created_by_ref: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid STIX 2.1 indicator, marked ``tlp`` (None: unmarked)."""
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": id or new_id("indicator"),
        "created": created,
        "modified": modified or created,
        "name": name,
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": created,
    }
    if revoked is not None:
        obj["revoked"] = revoked
    if created_by_ref is not None:
        obj["created_by_ref"] = created_by_ref
    obj.update(extra)
    _marked(obj, tlp)
    recipients = list(recipients)
    if recipients:
        obj = with_red_recipients(obj, recipients)
    return obj


def identity(
    tlp: Tlp | str | None = Tlp.GREEN, *, id: str | None = None, name: str = "Example Telco"
) -> dict[str, Any]:
    obj = {
        "type": "identity",
        "spec_version": "2.1",
        "id": id or new_id("identity"),
        "created": T0,
        "modified": T0,
        "name": name,
        "identity_class": "organization",
    }
    return _marked(obj, tlp)


def relationship(
    source: str, target: str, tlp: Tlp | str | None = Tlp.GREEN, *, kind: str = "indicates"
) -> dict[str, Any]:
    obj = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": new_id("relationship"),
        "created": T0,
        "modified": T0,
        "relationship_type": kind,
        "source_ref": source,
        "target_ref": target,
    }
    return _marked(obj, tlp)


def ipv4(value: str = "198.51.100.7", tlp: Tlp | str | None = Tlp.GREEN) -> dict[str, Any]:
    """An ipv4-addr SCO (no created/modified: its TAXII version is its date_added)."""
    obj = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": f"ipv4-addr--{uuid.uuid5(uuid.NAMESPACE_DNS, value + str(uuid.uuid4()))}",
        "value": value,
    }
    return _marked(obj, tlp)


def invalid_objects() -> list[Any]:
    """Three objects the server must refuse, each for a different reason."""
    no_pattern = indicator(Tlp.GREEN)
    del no_pattern["pattern"]
    bad_modified = indicator(Tlp.GREEN, created=T2, modified=T1)  # modified < created
    return [no_pattern, bad_modified, {"type": "indicator", "name": "no id"}]


# ----------------------------------------------------------------- requests


def headers(
    token: str | None = None,
    *,
    accept: str | None = TAXII,
    content_type: str | None = None,
    scheme: str = "Bearer",
) -> dict[str, str]:
    result: dict[str, str] = {}
    if accept is not None:
        result["Accept"] = accept
    if content_type is not None:
        result["Content-Type"] = content_type
    if token is not None:
        result["Authorization"] = f"{scheme} {token}"
    return result


class Api:
    """A TestClient on a real app with TAXII helpers."""

    def __init__(self, database: Any, **app_kwargs: Any) -> None:
        self.database = database
        self.app = create_app(database.settings, engine=database.engine, **app_kwargs)
        self.http = TestClient(self.app, raise_server_exceptions=False)

    def get(self, path: str, token: str | None, params: Any = None, **kw: Any) -> Any:
        hdrs = headers(token, **kw)
        return self.http.get(path, params=params, headers=hdrs)

    def delete(self, path: str, token: str | None, params: Any = None, **kw: Any) -> Any:
        return self.http.delete(path, params=params, headers=headers(token, **kw))

    def post(
        self,
        path: str,
        token: str | None,
        body: Any,
        *,
        content_type: str | None = TAXII,
        **kw: Any,
    ) -> Any:
        if isinstance(body, list):
            body = {"objects": body}
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return self.http.post(
            path,
            content=content,
            headers=headers(token, content_type=content_type, **kw),
        )

    def add(self, collection: str, token: str, objects: list[Any]) -> dict[str, Any]:
        """POST objects and return the status resource (asserting 202)."""
        response = self.post(f"{collection}/objects/", token, objects)
        assert response.status_code == 202, response.text
        assert_taxii(response)
        return response.json()  # type: ignore[no-any-return]

    def objects(self, collection: str, token: str, **params: Any) -> Any:
        return self.get(f"{collection}/objects/", token, params=query_params(params))

    def manifest(self, collection: str, token: str, **params: Any) -> Any:
        return self.get(f"{collection}/manifest/", token, params=query_params(params))

    def object(self, collection: str, token: str, object_id: str, **params: Any) -> Any:
        return self.get(f"{collection}/objects/{object_id}/", token, params=query_params(params))

    def versions(self, collection: str, token: str, object_id: str, **params: Any) -> Any:
        return self.get(
            f"{collection}/objects/{object_id}/versions/", token, params=query_params(params)
        )

    def ids(self, collection: str, token: str, **params: Any) -> list[str]:
        response = self.objects(collection, token, **params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json().get("objects", [])]

    def walk(self, path: str, token: str, limit: int, **params: Any) -> Iterator[Any]:
        """Follow ``next`` from the first page to the last, yielding each response."""
        query = dict(query_params(params), limit=str(limit))
        while True:
            response = self.get(path, token, params=query)
            assert response.status_code == 200, response.text
            yield response
            body = response.json()
            assert ("next" in body) == body["more"], body
            if not body["more"]:
                return
            query["next"] = body["next"]


def query_params(params: dict[str, Any]) -> dict[str, Any]:
    """``match_type=`` -> ``match[type]=``."""
    out = {}
    for key, value in params.items():
        if key.startswith("match_"):
            key = f"match[{key[6:]}]"
        out[key] = value
    return out


def assert_taxii(response: Any) -> None:
    assert response.headers["content-type"] == TAXII, response.headers


def assert_error(response: Any, status: int) -> dict[str, Any]:
    """A TAXII error message with ``status``; returns its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert_taxii(response)
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("title"), str) and body["title"]
    assert body.get("http_status") == str(status)
    return body  # type: ignore[no-any-return]


def without_error_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "error_id"}


def stored_count(database: Any) -> int:
    """Rows in stix_objects (every collection, vocabulary included)."""
    with database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(StixObject)).scalar_one())
