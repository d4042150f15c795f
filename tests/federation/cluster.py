"""Real telsec nodes on loopback, each behind a proxy that can inject faults.

- :class:`FaultProxy`: a small HTTP proxy (Starlette on uvicorn, in a thread)
  in front of a node; its ``mode`` makes the node look down, slow, failing,
  cutting pages short or sending bad and forbidden objects;
- :class:`Node`: one node's database (its own SQLite file), its local
  organisation and ``coalition`` collection, and its ``telsec serve`` process,
  which can be killed (SIGKILL) and started again on the same database;
- :func:`connect`: peers between nodes, with the tokens exchanged both ways.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from telsec.federation.peers import Tls, add_peer, update_peer
from telsec.members.service import add_collection, add_organisation, issue_token
from telsec.stix.tlp import Tlp
from telsec.storage.models import Collection, StixObject
from tests.interop.hub import cli_env, close_database, free_port, make_database

HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class ThreadServer:
    """An ASGI app served by uvicorn on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)


class FaultProxy:
    """Forwards to ``target``; ``mode`` is one of pass, down, error, slow,
    truncate, bad (see :meth:`_handle`)."""

    def __init__(self, target: str, *, delay: float = 1.5) -> None:
        self.target = target
        self.mode = "pass"
        self.delay = delay
        self.requests = 0
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])
        self._server = ThreadServer(app)
        self.url = self._server.url

    def start(self) -> FaultProxy:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    async def _handle(self, request: Request) -> Response:
        self.requests += 1
        mode = self.mode
        if mode == "down":
            return Response(b"", status_code=502)
        if mode == "error":
            return Response(b'{"title": "Internal error"}', status_code=500)
        if mode == "slow":
            await asyncio.sleep(self.delay)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "accept", "content-type")
        }
        async with httpx.AsyncClient(timeout=60) as client:
            upstream = await client.request(
                request.method,
                self.target + request.url.path,
                params=list(request.query_params.multi_items()),
                headers=headers,
                content=await request.body(),
            )
        # the node's discovery names its API roots by its own address: a
        # reverse proxy rewrites them to its own, as deployed ones do
        body = upstream.content.replace(self.target.encode(), self.url.encode())
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
        # the mode now, not when the request came in: a page that carries an
        # object posted after the faults began must be spoilt, even if the pull
        # that fetched it was on its way before (the test counts on it)
        mode = self.mode
        if mode == "truncate" and b'"objects"' in body:
            # a page cut off half-way: the declared length is the whole one
            out_headers["content-length"] = str(len(body))
            return _Truncated(body[: len(body) // 2], upstream.status_code, out_headers)
        if mode == "bad" and b'"objects":[' in body:
            page = orjson.loads(body)
            page["objects"] = [
                {"type": "indicator", "id": "indicator--not-a-uuid", "spec_version": "2.1"},
                "not an object",
                forbidden_red(),
                *page["objects"],
            ]
            body = orjson.dumps(page)
        return Response(body, status_code=upstream.status_code, headers=out_headers)


class _Truncated(Response):
    """Sends a body shorter than its Content-Length, then closes the connection."""

    def __init__(self, body: bytes, status: int, headers: dict[str, str]) -> None:
        super().__init__(b"", status_code=status)
        self._part = body
        self.raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self._part, "more_body": True})
        raise ConnectionAbortedError("cut off on purpose")


def forbidden_red() -> dict[str, Any]:
    """A RED object a misbehaving peer sends: the receiver must refuse it."""
    return {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": "attack-pattern--6b0e8a4e-0000-4000-8000-00000000aaaa",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "name": "should never cross a border",
        "object_marking_refs": [Tlp.RED.marking_id],
    }


@dataclass
class Node:
    """One telsec node: database, local organisation, collection, server."""

    name: str
    directory: Path
    db: Any = None
    token: str = ""  # the local organisation's contributor token
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    proxy: FaultProxy | None = None
    sync_interval: float = 0.5
    extra_env: dict[str, str] = field(default_factory=dict)
    serve_args: list[str] = field(default_factory=list)
    scheme: str = "http"
    backend: str = "sqlite"

    def create(self, default_tlp: Tlp = Tlp.GREEN) -> Node:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.db = make_database(self.backend, self.directory)
        org = f"{self.name}-regulator"
        add_organisation(self.db.engine, org)
        add_collection(
            self.db.engine,
            "coalition",
            "Coalition exchange",
            read=[org],
            write=[org],
            alias="coalition",
            default_tlp=default_tlp,
        )
        self.token, _ = issue_token(self.db.engine, org, "contributor")
        self.port = free_port()
        return self

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def peer_url(self) -> str:
        """Where peers reach this node: through its proxy when it has one."""
        return self.proxy.url if self.proxy else self.url

    def with_proxy(self) -> Node:
        self.proxy = FaultProxy(self.url).start()
        return self

    def start(self, timeout: float = 45.0) -> Node:
        log = (self.directory / "serve.log").open("ab")
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "telsec.cli.main",
                    "serve",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                    "--sync-interval",
                    str(self.sync_interval),
                    *self.serve_args,
                ],
                env=cli_env(self.db, **self.extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()[-3000:]}")
            try:
                if httpx.get(self.url + "/taxii2/", timeout=2.0, **self._tls()).status_code == 401:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not come up:\n{self.log()[-3000:]}")

    def _tls(self) -> dict[str, Any]:
        """How the test reaches an HTTPS node (its CA and a client certificate)."""
        if self.scheme != "https":
            return {}
        import ssl

        context = ssl.create_default_context(cafile=self.extra_env["TEST_CA"])
        context.load_cert_chain(
            self.extra_env["TEST_CLIENT_CERT"], self.extra_env["TEST_CLIENT_KEY"]
        )
        return {"verify": context}

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash or a power cut."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proxy is not None:
            self.proxy.stop()
        if self.db is not None:
            close_database(self.db)
            self.db = None

    def log(self) -> str:
        return (self.directory / "serve.log").read_text(errors="replace")

    def post(self, objects: list[dict[str, Any]]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/coalition/collections/coalition/objects/",
            content=orjson.dumps({"objects": objects}),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/taxii+json;version=2.1",
                "Content-Type": "application/taxii+json;version=2.1",
            },
            timeout=60,
            **self._tls(),
        )
        response.raise_for_status()
        status: dict[str, Any] = response.json()
        assert status["failure_count"] == 0, status
        return status

    def versions(self) -> list[tuple[str, str]]:
        """Every (id, version) in the node's coalition collection, straight from its database."""
        with self.db.engine.connect() as conn:
            pk = conn.execute(
                select(Collection.id).where(Collection.alias == "coalition")
            ).scalar_one()
            return [
                (r.stix_id, r.version)
                for r in conn.execute(
                    select(StixObject.stix_id, StixObject.version).where(
                        StixObject.collection_pk == pk
                    )
                )
            ]


def pair(
    a: Node,
    b: Node,
    *,
    a_pulls: bool = True,
    b_pulls: bool = True,
    amber_to_b: bool = False,
    amber_to_a: bool = False,
) -> None:
    """Make ``a`` and ``b`` peers, as their two operators would: each adds the
    other (saying what it pulls and whether AMBER flows to the other) and hands
    over the inbound token it got, which the other sets with ``peer update``."""
    _, token_b_presents = add_peer(
        a.db.engine,
        b.name,
        b.peer_url,
        token=None,
        pull=["coalition"] if a_pulls else [],
        into="coalition",
        forward_amber=amber_to_b,
    )
    _, token_a_presents = add_peer(
        b.db.engine,
        a.name,
        a.peer_url,
        token=None,
        pull=["coalition"] if b_pulls else [],
        into="coalition",
        forward_amber=amber_to_a,
    )
    update_peer(a.db.engine, b.name, token=token_a_presents)
    update_peer(b.db.engine, a.name, token=token_b_presents)


__all__ = ["FaultProxy", "Node", "Tls", "forbidden_red", "pair"]
