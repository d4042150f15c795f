"""Whatever a browser sends, the console answers with a page, never a stack trace."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.console.conftest import DemoNode

TEXT = st.text(max_size=300)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=TEXT, type_=TEXT, tlp=TEXT, label=TEXT, since=TEXT, before=st.one_of(st.none(), TEXT))
def test_search_parameters(demo_node: DemoNode, q, type_, tlp, label, since, before) -> None:
    with demo_node.signed_in("acma") as client:
        params = {"q": q, "type": type_, "tlp": tlp, "label": label, "since": since}
        if before is not None:
            params["before"] = before
        response = client.get("/objects", params=params)
        assert response.status_code in (200, 400, 422), response.status_code
        assert "Traceback" not in response.text
        assert response.headers["content-type"].startswith("text/html")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(gt=TEXT, object_id=st.text(min_size=1, max_size=400).filter(lambda s: "/" not in s))
def test_lookups(demo_node: DemoNode, gt, object_id) -> None:
    from urllib.parse import quote

    with demo_node.signed_in("acma") as client:
        for response in (
            client.get("/global-titles", params={"gt": gt}),
            client.get("/objects/" + quote(object_id, safe="")),
            client.get("/campaigns/" + quote(object_id, safe="")),
        ):
            assert response.status_code in (200, 400, 404), response.status_code
            assert "Traceback" not in response.text


def test_script_in_an_object_is_shown_as_text(demo_node: DemoNode) -> None:
    import uuid

    from telsec.exchange.client import TaxiiClient

    marker = uuid.uuid4().hex[:8]
    evil = f"<script>alert('{marker}')</script>"
    campaign = {
        "type": "campaign", "spec_version": "2.1", "id": f"campaign--{uuid.uuid4()}",
        "created": "2026-11-20T10:00:00.000Z", "modified": "2026-11-20T10:00:00.000Z",
        "name": evil, "description": evil,
    }  # fmt: skip
    with TaxiiClient(demo_node.url, demo_node.token) as taxii:
        target = taxii.find_collection("coalition-fraud")
        taxii.post(target, [campaign])
    with demo_node.signed_in("ofcom") as client:
        for path in ["/objects?type=campaign", f"/objects/{campaign['id']}", "/campaigns", "/"]:
            page = client.get(path).text
            assert evil not in page, path
        assert "&lt;script&gt;" in client.get(f"/objects/{campaign['id']}").text


def test_a_control_character_in_a_page_path_is_a_page_saying_so(demo_node: DemoNode) -> None:
    """``/objects/%0A`` is the console's, not the TAXII API root ``objects``."""
    with demo_node.signed_in("acma") as client:
        for path in ("/objects/%0A", "/campaigns/%0A", "/objects/%00x", "/global-titles%0D"):
            response = client.get(path)
            assert response.status_code == 400, (path, response.status_code)
            assert response.headers["content-type"].startswith("text/html"), path
            assert "control character" in response.text
