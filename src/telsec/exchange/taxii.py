"""The TAXII 2.1 HTTP API (OASIS TAXII Version 2.1, sections 4 and 5).

Every response, errors included, carries ``application/taxii+json;version=2.1``.
Errors are TAXII error messages (section 3.6.1).  Anything a caller may not
see is answered exactly as if it did not exist (404).  Handlers are thin: they
authenticate, resolve the API root and collection through :mod:`.access`,
parse filters through :mod:`.filters` and call :mod:`.store`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from telsec import __version__
from telsec.config import Settings, load_settings
from telsec.exchange import access, store
from telsec.exchange.filters import FilterError, parse_filters, parse_limit
from telsec.exchange.pagination import PaginationError, TokenSigner, node_key
from telsec.heap import settle_heap
from telsec.members.auth import Authenticator, Principal
from telsec.stix.timestamps import format_timestamp, now_us
from telsec.stix.tlp import Tlp
from telsec.storage.db import (
    Housekeeper,
    make_engine,
    read_transaction,
    write_transaction,
)
from telsec.storage.models import Status

log = logging.getLogger("telsec.exchange")

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
DEFAULT_PAGE_SIZE = 1000
WWW_AUTHENTICATE = 'Basic realm="telsec", Bearer realm="telsec"'


class TaxiiError(Exception):
    """An error answered as a TAXII error message."""

    def __init__(
        self,
        status: int,
        title: str,
        description: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.description = description
        self.headers = headers or {}


def taxii_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(
        content=content, status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers
    )


def error_response(exc: TaxiiError) -> Response:
    body: dict[str, Any] = {"title": exc.title, "http_status": str(exc.status)}
    if exc.description:
        body["description"] = exc.description
    body["error_id"] = str(uuid.uuid4())
    return taxii_response(body, exc.status, exc.headers)


@dataclass
class Node:
    """What the handlers share: the database and the services built on it."""

    engine: Engine
    authenticator: Authenticator
    signer: TokenSigner
    validate: store.Validator
    page_size: int
    title: str


def select_validator(mode: str = "fast") -> store.Validator:
    """The ingest validator: ``fast`` (telsec's own) or ``stix2`` (the reference library too).

    ``stix2`` runs every object through ``stix2.parse`` after the fast checks:
    the same verdicts (the two are differentially tested) at a tenth of the speed.
    """
    from telsec.stix.validate import validate

    if mode == "fast":
        return validate
    if mode != "stix2":
        raise ValueError(f"TELSEC_VALIDATION must be fast or stix2, not {mode!r}")
    import stix2

    def both(obj: Any) -> None:
        validate(obj)
        try:
            stix2.parse(obj, allow_custom=True)
        except Exception as exc:  # stix2 raises many exception types
            raise ValueError(f"stix2: {exc}") from None

    return both


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    secret_key: str | None = None,
    title: str = "telsec",
    validation: str = "fast",
    console: bool = True,
) -> FastAPI:
    """The node's application: TAXII 2.1 at ``/taxii2/`` and the web console at ``/``."""
    settings = settings or load_settings()
    engine = engine or make_engine(settings)
    node = Node(
        engine=engine,
        authenticator=Authenticator(engine),
        signer=TokenSigner(node_key(engine, secret_key)),
        validate=select_validator(validation),
        page_size=page_size,
        title=title,
    )
    housekeeper = Housekeeper(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settle_heap()
        housekeeper.start()
        try:
            yield
        finally:
            housekeeper.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="telsec TAXII 2.1",
        version=__version__,
        description="STIX 2.1 objects over TAXII 2.1 with TLP 2.0 enforced per organisation.",
        redirect_slashes=False,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.node = node

    _install_error_handlers(app)
    app.add_middleware(_RefuseControlCharacters, owner=app)
    _install_routes(app, node)
    if console:
        from telsec.console import mount

        mount(app, node, settings)
    return app


HtmlErrors = Callable[[Request, int, str], Response]


def _for_people(app: FastAPI, request: Request) -> HtmlErrors | None:
    """The console's error page maker, for a request outside the TAXII API."""
    handler: HtmlErrors | None = getattr(app.state, "html_errors", None)
    owns: Callable[[str], bool] | None = getattr(app.state, "html_paths", None)
    if handler is None or owns is None or not owns(request.url.path):
        return None
    return handler


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TaxiiError)
    async def _taxii(_request: Request, exc: TaxiiError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if page := _for_people(app, request):
            return page(request, 400, _summarise(exc))
        return error_response(TaxiiError(400, "Bad request", _summarise(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if page := _for_people(app, request):
            return page(request, exc.status_code, str(exc.detail))
        titles = {404: "Not found", 405: "Method not allowed"}
        return error_response(
            TaxiiError(
                exc.status_code,
                titles.get(exc.status_code, "HTTP error"),
                str(exc.detail),
                dict(exc.headers or {}),
            )
        )

    @app.exception_handler(OperationalError)
    async def _database(_request: Request, exc: OperationalError) -> Response:
        log.error("database error: %s", exc.__class__.__name__)
        return error_response(TaxiiError(503, "Service unavailable", "the database is unavailable"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        if page := _for_people(app, request):
            return page(request, 500, "something went wrong; the error was logged")
        return error_response(TaxiiError(500, "Internal server error", "the error was logged"))


#: A control character (newline, NUL, DEL ...) in a request's decoded path.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _RefuseControlCharacters:
    """A path with a control character names nothing here: 400, before routing.

    Starlette's route patterns end in ``$``, which also matches before a final
    newline: ``/objects/%0A`` (a console page's path) matched the TAXII route
    ``/{api_root}/`` with the API root ``objects`` and was refused with the
    API's 401.  A plain ASGI wrapper, so the ingest path pays one search."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _CONTROL.search(scope["path"]):
            request = Request(scope, receive)
            detail = "the path holds a control character"
            if page := _for_people(self.owner, request):
                response = page(request, 400, detail)
            else:
                response = error_response(TaxiiError(400, "Bad request", detail))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _summarise(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(x) for x in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


# ------------------------------------------------------------------ helpers


def _accept(request: Request) -> None:
    accept = request.headers.get("accept")
    if not accept:
        return
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        if media in ("*/*", "application/*"):
            return
        if media == "application/taxii+json":
            version = _param(params, "version")
            if version in (None, "2.1"):
                return
    raise TaxiiError(
        406,
        "Not acceptable",
        f"this server answers with {TAXII_MEDIA_TYPE}; Accept was {accept[:200]!r}",
    )


def _param(params: str, name: str) -> str | None:
    for part in params.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return None


def _principal(node: Node, request: Request) -> Principal:
    principal = node.authenticator.authenticate(request.headers.get("authorization"))
    if principal is None:
        raise TaxiiError(
            401,
            "Unauthorized",
            "send a valid API token (Authorization: Bearer ...) or HTTP Basic credentials",
            {"WWW-Authenticate": WWW_AUTHENTICATE},
        )
    return principal


def _not_found(what: str) -> NoReturn:
    raise TaxiiError(404, "Not found", f"no such {what}")


def _root(node: Node, principal: Principal, api_root: str) -> access.RootInfo:
    with read_transaction(node.engine) as conn:
        root = access.find_root(conn, api_root, principal)
    if root is None:
        _not_found("API root")
    return root


def _collection(
    node: Node, principal: Principal, api_root: str, collection_id: str
) -> tuple[access.RootInfo, access.VisibleCollection]:
    with read_transaction(node.engine) as conn:
        root = access.find_root(conn, api_root, principal)
        coll = (
            None if root is None else access.find_collection(conn, root, collection_id, principal)
        )
    if root is None or coll is None:
        _not_found("collection")
    return root, coll


def _readable(coll: access.VisibleCollection) -> store.CollectionScope:
    if not coll.scope.can_read:
        raise TaxiiError(403, "Forbidden", "your organisation may not read this collection")
    return coll.scope


def _reading(
    node: Node, request: Request, api_root: str, collection_id: str
) -> tuple[Principal, store.CollectionScope]:
    """The common start of every read: media type, caller, collection, read right."""
    _accept(request)
    principal = _principal(node, request)
    _, coll = _collection(node, principal, api_root, collection_id)
    return principal, _readable(coll)


def _date_headers(page: store.Page) -> dict[str, str]:
    if not page.items:
        return {}
    assert page.first_added is not None and page.last_added is not None
    return {
        "X-TAXII-Date-Added-First": format_timestamp(page.first_added),
        "X-TAXII-Date-Added-Last": format_timestamp(page.last_added),
    }


def _paged(
    node: Node,
    request: Request,
    principal: Principal,
    scope: store.CollectionScope,
    endpoint: str,
    *,
    default_version: str,
    allow_id: bool,
    fixed_id: str | None = None,
    with_body: bool,
) -> tuple[store.Page, str | None]:
    params = request.query_params.multi_items()
    try:
        filters = parse_filters(params, default_version=default_version, allow_id=allow_id)
        limit = parse_limit(request.query_params.getlist("limit"), node.page_size)
        if fixed_id is not None:
            filters = store.Filters(
                added_after_us=filters.added_after_us,
                ids=(fixed_id,),
                types=filters.types,
                versions=filters.versions,
                spec_versions=filters.spec_versions,
            )
        fingerprint = filters.fingerprint(f"{scope.id}/{endpoint}")
        next_tokens = request.query_params.getlist("next")
        after = None
        if next_tokens:
            if len(next_tokens) != 1:
                raise FilterError("next may be given once")
            after = node.signer.position(
                next_tokens[0], org_id=principal.org_id, fingerprint=fingerprint
            )
    except (FilterError, PaginationError) as exc:
        raise TaxiiError(400, "Bad request", str(exc)) from None
    with read_transaction(node.engine) as conn:
        page = store.query(
            conn, scope, principal, filters, limit=limit, after_us=after, with_body=with_body
        )
    token = None
    if page.more and page.last_added is not None:
        token = node.signer.issue(
            org_id=principal.org_id, fingerprint=fingerprint, position_us=page.last_added
        )
    return page, token


def _envelope(page: store.Page, token: str | None) -> bytes:
    parts = [b'{"more":', b"true" if page.more else b"false"]
    if token is not None:
        parts.append(b',"next":' + orjson.dumps(token))
    if page.items:
        parts.append(b',"objects":[')
        parts.append(",".join(item.body or "null" for item in page.items).encode())
        parts.append(b"]")
    parts.append(b"}")
    return b"".join(parts)


def _audit_reads(
    node: Node, scope: store.CollectionScope, principal: Principal, page: store.Page
) -> None:
    if principal.is_peer and page.items:
        # every federated transfer is audited, whatever its TLP
        with write_transaction(node.engine) as conn:
            store.audit_read(
                conn, scope, principal, page.items, action="federate-out", minimum=Tlp.CLEAR
            )
    elif store.needs_audit(page.items):
        with write_transaction(node.engine) as conn:
            store.audit_read(conn, scope, principal, page.items)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise TaxiiError(400, "Bad request", "Content-Length is not a number")
        if int(declared) > limit:
            raise TaxiiError(
                413, "Content too large", f"this API root accepts at most {limit} bytes per request"
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TaxiiError(
                413, "Content too large", f"this API root accepts at most {limit} bytes per request"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "application/taxii+json" or _param(params, "version") not in (
        None,
        "2.1",
    ):
        raise TaxiiError(
            415,
            "Unsupported media type",
            f"send {TAXII_MEDIA_TYPE} (got {content_type[:100]!r})",
        )


def _parse_envelope(body: bytes) -> list[Any]:
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise TaxiiError(400, "Bad request", f"the body is not valid JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise TaxiiError(400, "Bad request", "the body must be a TAXII envelope (a JSON object)")
    objects = envelope.get("objects", [])
    if not isinstance(objects, list):
        raise TaxiiError(400, "Bad request", "the envelope's objects must be a list")
    return objects


def _status_body(status_id: str, request_us: int, result: store.IngestResult) -> dict[str, Any]:
    def detail(oid: str | None, version: str | None, message: str | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {"id": oid or "unknown"}
        if version:
            item["version"] = version
        if message:
            item["message"] = message
        return item

    return {
        "id": status_id,
        "status": "complete",
        "request_timestamp": format_timestamp(request_us),
        "total_count": result.total,
        "success_count": len(result.successes),
        "successes": [detail(i, v) for i, v in result.successes],
        "failure_count": len(result.failures),
        "failures": [detail(i, v, m) for i, v, m in result.failures],
        "pending_count": 0,
        "pendings": [],
    }


# ------------------------------------------------------------------- routes


def _page_params(
    added_after: str | None = Query(None, description="Only objects added after this timestamp"),
    limit: str | None = Query(None, description="Page size (capped by the server)"),
    next: str | None = Query(None, description="Continuation token from a previous page"),
) -> None:
    """Declares the paging parameters for the OpenAPI document.

    The values are read and checked strictly by :mod:`.filters` from the raw
    query string (so that repeated parameters and malformed values are TAXII
    400s, not framework 422s).
    """


def _match_params(
    match_id: str | None = Query(None, alias="match[id]", description="STIX ids, comma-separated"),
    match_type: str | None = Query(
        None, alias="match[type]", description="STIX types, comma-separated"
    ),
) -> None:
    """Declares ``match[id]`` and ``match[type]`` (see :func:`_page_params`)."""


def _spec_version_params(
    match_spec_version: str | None = Query(
        None, alias="match[spec_version]", description="STIX spec versions, e.g. 2.1"
    ),
) -> None:
    """Declares ``match[spec_version]`` (see :func:`_page_params`)."""


def _version_params(
    match_version: str | None = Query(
        None, alias="match[version]", description="first, last, all or timestamps"
    ),
    _spec: None = Depends(_spec_version_params),
) -> None:
    """Declares ``match[version]`` and ``match[spec_version]`` (see :func:`_page_params`)."""


PageQuery = Annotated[None, Depends(_page_params)]
MatchQuery = Annotated[None, Depends(_match_params)]
VersionQuery = Annotated[None, Depends(_version_params)]
SpecVersionQuery = Annotated[None, Depends(_spec_version_params)]


def _install_routes(app: FastAPI, node: Node) -> None:
    Handler = Callable[..., Awaitable[Response]]
    _ = Handler

    @app.get("/taxii2/", summary="Server discovery", tags=["taxii"])
    def discovery(request: Request) -> Response:
        _accept(request)
        principal = _principal(node, request)
        with read_transaction(node.engine) as conn:
            roots = access.visible_roots(conn, principal)
        base = str(request.base_url).rstrip("/")
        body: dict[str, Any] = {
            "title": node.title,
            "description": "telsec telecoms security exchange (STIX 2.1 over TAXII 2.1)",
            "api_roots": [f"{base}/{root.name}/" for root in roots],
        }
        if roots:
            body["default"] = f"{base}/{roots[0].name}/"
        return taxii_response(body)

    @app.get("/{api_root}/", summary="API root information", tags=["taxii"])
    def api_root_info(api_root: str, request: Request) -> Response:
        _accept(request)
        root = _root(node, _principal(node, request), api_root)
        return taxii_response(
            {
                "title": root.title,
                "description": root.description,
                "versions": [TAXII_MEDIA_TYPE],
                "max_content_length": root.max_content_length,
            }
        )

    @app.get("/{api_root}/status/{status_id}/", summary="Status of a POST", tags=["taxii"])
    def get_status(api_root: str, status_id: str, request: Request) -> Response:
        _accept(request)
        principal = _principal(node, request)
        root = _root(node, principal, api_root)
        try:
            status_id = str(uuid.UUID(status_id))
        except ValueError:
            _not_found("status")
        with read_transaction(node.engine) as conn:
            row = conn.execute(
                select(Status.details).where(
                    Status.id == status_id,
                    Status.api_root_id == root.pk,
                    Status.org_id == principal.org_id,
                )
            ).first()
        if row is None:
            _not_found("status")
        return taxii_response(row.details.encode())

    @app.get("/{api_root}/collections/", summary="Collections", tags=["taxii"])
    def get_collections(api_root: str, request: Request) -> Response:
        _accept(request)
        principal = _principal(node, request)
        root = _root(node, principal, api_root)
        with read_transaction(node.engine) as conn:
            collections = access.visible_collections(conn, root, principal)
        body: dict[str, Any] = {}
        if collections:
            body["collections"] = [_collection_resource(c) for c in collections]
        return taxii_response(body)

    @app.get("/{api_root}/collections/{collection_id}/", summary="Collection", tags=["taxii"])
    def get_collection(api_root: str, collection_id: str, request: Request) -> Response:
        _accept(request)
        principal = _principal(node, request)
        _, coll = _collection(node, principal, api_root, collection_id)
        return taxii_response(_collection_resource(coll))

    @app.get(
        "/{api_root}/collections/{collection_id}/manifest/",
        summary="Manifest of the objects in a collection",
        tags=["taxii"],
    )
    def get_manifest(
        api_root: str,
        collection_id: str,
        request: Request,
        _page: PageQuery,
        _match: MatchQuery,
        _version: VersionQuery,
    ) -> Response:
        principal, scope = _reading(node, request, api_root, collection_id)
        page, token = _paged(
            node,
            request,
            principal,
            scope,
            "manifest",
            default_version="last",
            allow_id=True,
            with_body=False,
        )
        body: dict[str, Any] = {"more": page.more}
        if token:
            body["next"] = token
        if page.items:
            body["objects"] = [
                {
                    "id": item.stix_id,
                    "date_added": format_timestamp(item.date_added_us),
                    "version": item.version,
                    "media_type": STIX_MEDIA_TYPE,
                }
                for item in page.items
            ]
        return taxii_response(body, headers=_date_headers(page))

    @app.get(
        "/{api_root}/collections/{collection_id}/objects/",
        summary="Objects in a collection",
        tags=["taxii"],
    )
    def get_objects(
        api_root: str,
        collection_id: str,
        request: Request,
        _page: PageQuery,
        _match: MatchQuery,
        _version: VersionQuery,
    ) -> Response:
        principal, scope = _reading(node, request, api_root, collection_id)
        page, token = _paged(
            node,
            request,
            principal,
            scope,
            "objects",
            default_version="last",
            allow_id=True,
            with_body=True,
        )
        _audit_reads(node, scope, principal, page)
        return taxii_response(_envelope(page, token), headers=_date_headers(page))

    @app.post(
        "/{api_root}/collections/{collection_id}/objects/",
        summary="Add objects to a collection",
        tags=["taxii"],
        status_code=202,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    TAXII_MEDIA_TYPE: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "objects": {"type": "array", "items": {"type": "object"}}
                            },
                        }
                    }
                },
            }
        },
    )
    async def post_objects(api_root: str, collection_id: str, request: Request) -> Response:
        _accept(request)
        principal = await run_in_threadpool(_principal, node, request)
        root, coll = await run_in_threadpool(_collection, node, principal, api_root, collection_id)
        if not coll.scope.can_write:
            raise TaxiiError(403, "Forbidden", "you may not add objects to this collection")
        _check_content_type(request)
        body = await _read_body(request, root.max_content_length)
        objects = _parse_envelope(body)
        status = await run_in_threadpool(_ingest, node, root, coll.scope, principal, objects)
        return taxii_response(status, 202)

    @app.get(
        "/{api_root}/collections/{collection_id}/objects/{object_id}/",
        summary="One object (its versions matching the filters)",
        tags=["taxii"],
    )
    def get_object(
        api_root: str,
        collection_id: str,
        object_id: str,
        request: Request,
        _page: PageQuery,
        _version: VersionQuery,
    ) -> Response:
        principal, scope = _reading(node, request, api_root, collection_id)
        _check_object_id(object_id)
        page, token = _paged(
            node,
            request,
            principal,
            scope,
            f"object/{object_id}",
            default_version="last",
            allow_id=False,
            fixed_id=object_id,
            with_body=True,
        )
        if not page.items and not _exists(node, scope, principal, object_id):
            _not_found("object")
        _audit_reads(node, scope, principal, page)
        return taxii_response(_envelope(page, token), headers=_date_headers(page))

    @app.delete(
        "/{api_root}/collections/{collection_id}/objects/{object_id}/",
        summary="Delete an object (its versions matching the filters)",
        tags=["taxii"],
    )
    def delete_object(
        api_root: str,
        collection_id: str,
        object_id: str,
        request: Request,
        _version: VersionQuery,
    ) -> Response:
        principal, scope = _reading(node, request, api_root, collection_id)
        _check_object_id(object_id)
        if not scope.can_write:
            raise TaxiiError(403, "Forbidden", "you may not delete objects in this collection")
        try:
            filters = parse_filters(
                request.query_params.multi_items(), default_version="all", allow_id=False
            )
        except FilterError as exc:
            raise TaxiiError(400, "Bad request", str(exc)) from None
        with write_transaction(node.engine) as conn:
            removed = store.delete_versions(conn, scope, principal, object_id, filters)
        if not removed:
            _not_found("object")
        return taxii_response(b"", 200)

    @app.get(
        "/{api_root}/collections/{collection_id}/objects/{object_id}/versions/",
        summary="Versions of an object",
        tags=["taxii"],
    )
    def get_versions(
        api_root: str,
        collection_id: str,
        object_id: str,
        request: Request,
        _page: PageQuery,
        _spec: SpecVersionQuery,
    ) -> Response:
        principal, scope = _reading(node, request, api_root, collection_id)
        _check_object_id(object_id)
        if "match[version]" in request.query_params:
            raise TaxiiError(400, "Bad request", "match[version] is not supported on versions")
        page, token = _paged(
            node,
            request,
            principal,
            scope,
            f"versions/{object_id}",
            default_version="all",
            allow_id=False,
            fixed_id=object_id,
            with_body=False,
        )
        if not page.items and not _exists(node, scope, principal, object_id):
            _not_found("object")
        body: dict[str, Any] = {"more": page.more}
        if token:
            body["next"] = token
        if page.items:
            body["versions"] = [item.version for item in page.items]
        return taxii_response(body, headers=_date_headers(page))


def _check_object_id(object_id: str) -> None:
    from telsec.exchange.filters import _ID

    if not _ID.match(object_id):
        raise TaxiiError(400, "Bad request", f"{object_id[:100]!r} is not a STIX identifier")


def _exists(node: Node, scope: store.CollectionScope, principal: Principal, object_id: str) -> bool:
    with read_transaction(node.engine) as conn:
        page = store.query(
            conn,
            scope,
            principal,
            store.Filters(ids=(object_id,), versions=("all",)),
            limit=1,
            with_body=False,
        )
    return bool(page.items)


def _collection_resource(coll: access.VisibleCollection) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": coll.scope.id,
        "title": coll.title,
        "can_read": coll.scope.can_read,
        "can_write": coll.scope.can_write,
        "media_types": [STIX_MEDIA_TYPE],
    }
    if coll.description:
        body["description"] = coll.description
    if coll.alias:
        body["alias"] = coll.alias
    return body


def _ingest(
    node: Node,
    root: access.RootInfo,
    scope: store.CollectionScope,
    principal: Principal,
    objects: list[Any],
) -> bytes:
    status_id = str(uuid.uuid4())
    request_us = now_us()
    prepared = store.prepare(objects, node.validate)
    with write_transaction(node.engine) as conn:
        result = store.ingest(conn, scope, principal, prepared)
        body = orjson.dumps(_status_body(status_id, request_us, result))
        conn.execute(
            insert(Status).values(
                id=status_id,
                api_root_id=root.pk,
                org_id=principal.org_id,
                status="complete",
                request_us=request_us,
                total_count=result.total,
                success_count=len(result.successes),
                failure_count=len(result.failures),
                pending_count=0,
                details=body.decode(),
            )
        )
    if result.failures:
        log.info(
            "POST %s/%s by %s: %d stored, %d rejected",
            root.name,
            scope.id,
            principal.org_name,
            len(result.successes),
            len(result.failures),
        )
    return body


def app_from_environment() -> FastAPI:
    """The application configured from ``TELSEC_*`` environment variables (for uvicorn)."""
    import os

    return create_app(
        secret_key=os.environ.get("TELSEC_SECRET_KEY"),
        title=os.environ.get("TELSEC_NODE_TITLE", "telsec"),
        validation=os.environ.get("TELSEC_VALIDATION", "fast"),
    )
