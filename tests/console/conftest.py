"""A running node with the demo data set and its console users, for the console tests.

The node is a real uvicorn server on a loopback port (the same application
``telsec serve`` runs), over SQLite by default; ``demo_node_pg`` is the same
on the PostgreSQL server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from telsec.config import load_settings
from telsec.demo import load_demo
from telsec.exchange.taxii import create_app
from telsec.storage.db import make_engine
from tests.conftest import Database, _postgres_database
from tests.federation.cluster import ThreadServer


@dataclass
class DemoNode:
    url: str
    password: str
    token: str  # Ofcom contributor API token
    database: Database

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)

    @contextmanager
    def signed_in(self, username: str) -> Iterator[httpx.Client]:
        with self.client() as client:
            sign_in(client, username, self.password)
            yield client


def login_nonce(client: httpx.Client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    match = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    nonce = login_nonce(client)
    response = client.post(
        "/login", data={"username": username, "password": password, "nonce": nonce, "next": "/"}
    )
    assert response.status_code == 303, response.text
    return response


def csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def _serve(db: Database) -> Iterator[DemoNode]:
    info = load_demo(db.engine)
    server = ThreadServer(create_app(db.settings, engine=db.engine))
    server.start()
    try:
        yield DemoNode(server.url, info.password, info.token, db)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoNode]:
    path: Path = tmp_path_factory.mktemp("console")
    settings = load_settings(database_url=f"sqlite:///{path / 'telsec.db'}", data_dir=path)
    engine = make_engine(settings)
    yield from _serve(Database("sqlite", settings, engine))
    engine.dispose()


@pytest.fixture(scope="module")
def demo_node_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoNode]:
    db = _postgres_database(tmp_path_factory.mktemp("console-pg"))
    try:
        yield from _serve(db)
    finally:
        for step in reversed(db.cleanup):
            step()
