"""A small TAXII 2.1 client, used by ``telsec publish`` and ``telsec pull``.

It speaks to any TAXII 2.1 server (telsec or another), authenticating with a
bearer token.  Reading STIX input files (bundles, envelopes, JSON arrays or
JSON Lines) lives here too, with every unreadable record counted, not fatal.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"


class ClientError(RuntimeError):
    """The server could not be reached or refused the request; the message says why."""


@dataclass
class StixFile:
    objects: list[dict[str, Any]] = field(default_factory=list)
    bad_records: list[str] = field(default_factory=list)


def read_stix_file(path: Path) -> StixFile:
    """Objects from a STIX bundle, TAXII envelope, JSON array or JSON Lines file."""
    raw = path.read_bytes()
    result = StixFile()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        items = document.get("objects") if "objects" in document else [document]
        if not isinstance(items, list):
            result.bad_records.append("the document's objects is not a list")
            return result
    elif isinstance(document, list):
        items = document
    else:
        items = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                result.bad_records.append(f"line {number}: not JSON ({exc})")
    for index, item in enumerate(items, start=1):
        if isinstance(item, dict):
            result.objects.append(item)
        else:
            result.bad_records.append(f"record {index}: not a JSON object")
    return result


class TaxiiClient:
    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        headers = {"Accept": TAXII_MEDIA_TYPE}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base = url.rstrip("/") + "/"
        self._http = httpx.Client(
            headers=headers, timeout=timeout, verify=ssl_context if ssl_context else True
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TaxiiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = self._http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach {url}: {exc}") from None
        _raise_for(response)
        return response

    def find_collection(self, collection: str, root: str | None = None) -> str:
        """The objects URL of ``collection`` (an id or alias), searching every API root."""
        if root:
            roots = [self.base + root.strip("/") + "/"]
        else:
            discovery = self._get(self.base + "taxii2/").json()
            roots = discovery.get("api_roots", [])
        for root_url in roots:
            listing = self._get(root_url.rstrip("/") + "/collections/").json()
            for item in listing.get("collections", []):
                if collection in (item.get("id"), item.get("alias")):
                    return f"{root_url.rstrip('/')}/collections/{item['id']}/objects/"
        raise ClientError(f"no collection {collection!r} visible with this token")

    def post(self, objects_url: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            response = self._http.post(
                objects_url,
                content=orjson.dumps({"objects": objects}),
                headers={"Content-Type": TAXII_MEDIA_TYPE},
            )
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach {objects_url}: {exc}") from None
        _raise_for(response)
        status: dict[str, Any] = response.json()
        return status

    def page(
        self, objects_url: str, params: dict[str, str]
    ) -> tuple[dict[str, Any], httpx.Headers]:
        """One page of an objects endpoint: its envelope and the response headers."""
        response = self._get(objects_url, params)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise ClientError(f"{objects_url}: the page is not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise ClientError(f"{objects_url}: the page is not a TAXII envelope")
        return body, response.headers

    def pages(
        self, objects_url: str, params: dict[str, str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of objects, following ``next``."""
        query = dict(params or {})
        while True:
            body = self._get(objects_url, query).json()
            yield body.get("objects", [])
            if not body.get("more") or not body.get("next"):
                return
            query["next"] = body["next"]


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    reason = response.text[:200]
    if isinstance(body, dict):
        described = body.get("description") or body.get("title")
        if isinstance(described, str) and described:
            reason = described[:500]
    raise ClientError(f"{response.status_code} from {response.request.url}: {reason}")
