"""Sign-in, sessions and CSRF, against a running node."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select

from telsec.members import service
from telsec.storage.db import read_transaction
from telsec.storage.models import ConsoleSession
from tests.console.conftest import DemoNode, csrf, login_nonce, sign_in


def test_pages_need_sign_in(demo_node: DemoNode) -> None:
    with demo_node.client() as client:
        for path in [
            "/",
            "/objects",
            "/global-titles?gt=1",
            "/map",
            "/campaigns",
            "/upload",
            "/admin",
        ]:
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")
        assert client.get("/map/tracks.geojson").status_code == 401


def test_wrong_password_is_refused_without_saying_which(demo_node: DemoNode) -> None:
    with demo_node.client() as client:
        for user, password in [("ofcom", "not the password"), ("nobody", demo_node.password)]:
            nonce = login_nonce(client)
            response = client.post(
                "/login", data={"username": user, "password": password, "nonce": nonce}
            )
            assert response.status_code == 401
            assert "user name or password is wrong" in response.text
            assert "telsec_session" not in response.cookies


def test_login_form_must_come_from_the_console(demo_node: DemoNode) -> None:
    with demo_node.client() as client:
        response = client.post(
            "/login", data={"username": "ofcom", "password": demo_node.password, "nonce": "x"}
        )
        assert response.status_code == 403
        assert "Traceback" not in response.text


def test_session_cookie_is_strict_and_stored_hashed(demo_node: DemoNode) -> None:
    with demo_node.client() as client:
        response = sign_in(client, "ofcom", demo_node.password)
        header = response.headers["set-cookie"].lower()
        assert "httponly" in header and "samesite=strict" in header
        secret = client.cookies["telsec_session"]
        with read_transaction(demo_node.database.engine) as conn:
            stored = conn.execute(select(ConsoleSession.secret_sha256)).scalars().all()
        assert secret not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() in stored


def test_sign_out_ends_the_session(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        secret = client.cookies["telsec_session"]
        page = client.get("/")
        assert page.status_code == 200
        assert client.post("/logout", data={"csrf": csrf(page)}).status_code == 303
    with demo_node.client() as other:
        other.cookies.set("telsec_session", secret)
        assert other.get("/").status_code == 303  # the old cookie no longer works


def test_posts_without_the_csrf_token_are_refused(demo_node: DemoNode) -> None:
    with demo_node.signed_in("admin") as client:
        before = len(service.list_organisations(demo_node.database.engine))
        for data in [{}, {"csrf": "0" * 64}]:
            response = client.post("/admin/organisations", data={**data, "name": "Evil Org"})
            assert response.status_code == 403
            assert "reload" in response.text
        assert len(service.list_organisations(demo_node.database.engine)) == before
        # another session's token does not work either
        with demo_node.signed_in("admin") as second:
            token = csrf(second.get("/admin"))
        response = client.post("/admin/organisations", data={"csrf": token, "name": "Evil Org"})
        assert response.status_code == 403


def test_deactivated_user_is_signed_out_at_once(demo_node: DemoNode) -> None:
    engine = demo_node.database.engine
    service.add_user(engine, "leaver", "Ofcom", "reader", "a long enough password")
    with demo_node.client() as client:
        sign_in(client, "leaver", "a long enough password")
        assert client.get("/").status_code == 200
        service.set_user_active(engine, "leaver", False)
        assert client.get("/").status_code == 303


def test_next_cannot_send_the_user_elsewhere(demo_node: DemoNode) -> None:
    for target in ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"]:
        with demo_node.client() as client:
            nonce = login_nonce(client)
            response = client.post(
                "/login",
                data={
                    "username": "ofcom",
                    "password": demo_node.password,
                    "nonce": nonce,
                    "next": target,
                },
            )
            assert response.status_code == 303
            assert response.headers["location"] == "/", target


def test_security_headers_on_pages(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        response = client.get("/objects")
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"


def test_taxii_errors_stay_taxii(demo_node: DemoNode) -> None:
    with httpx.Client(base_url=demo_node.url) as client:
        response = client.get("/coalition/unknown/")
        assert response.headers["content-type"].startswith("application/taxii+json")
        page = client.get("/objects/x/y")
        assert page.headers["content-type"].startswith("text/html")
        assert page.status_code == 404
