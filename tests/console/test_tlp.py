"""The console obeys the same TLP and collection rules as TAXII, on every page,
on SQLite and on PostgreSQL; what it shows at AMBER and above is audited."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from telsec.members import audit
from tests.console.conftest import DemoNode

#: TLP:RED, produced by FCC for Ofcom and NCSC-NZ only (demo data)
RED_REPORT = "BRASS CORMORANT: SMS centre intrusion at a US carrier"


def _red_report_id(node: DemoNode) -> str:
    with node.signed_in("ofcom") as client:
        page = client.get("/objects", params={"q": "cormorant", "type": "report"})
        assert RED_REPORT in page.text
        match = re.search(r'href="/objects/(report--[0-9a-f-]+)"', page.text)
        assert match
        return match.group(1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def node(request: pytest.FixtureRequest) -> DemoNode:
    name = "demo_node" if request.param == "sqlite" else "demo_node_pg"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def test_red_is_invisible_to_a_non_recipient(node: DemoNode) -> None:
    report = _red_report_id(node)
    with node.signed_in("ofcom") as ofcom:
        page = ofcom.get(f"/objects/{quote(report)}")
        assert page.status_code == 200 and "TLP:RED" in page.text
    with node.signed_in("acma") as acma:
        assert acma.get(f"/objects/{quote(report)}").status_code == 404
        for path in ["/objects?q=cormorant", "/objects?tlp=red", "/", "/?days=30"]:
            assert RED_REPORT not in acma.get(path).text, path
        # its relationships do not leak it either
        intrusion = acma.get("/objects", params={"q": "BRASS CORMORANT", "type": "intrusion-set"})
        for object_id in re.findall(r'href="/objects/([^"]+)"', intrusion.text):
            assert RED_REPORT not in acma.get(f"/objects/{object_id}").text


def test_collections_not_granted_are_not_shown(node: DemoNode) -> None:
    # "UK provider reports" is read by Ofcom and UK operators only
    with node.signed_in("ofcom") as ofcom:
        assert "UK provider reports" in ofcom.get("/objects").text
    with node.signed_in("acma") as acma:
        page = acma.get("/objects")
        assert "UK provider reports" not in page.text
        assert "uk-reports" not in page.text
        assert (
            acma.get("/objects", params={"collection": "uk-reports"}).text.count('href="/objects/')
            == 0
        )


def test_map_and_lookups_follow_tlp(node: DemoNode) -> None:
    with node.signed_in("ofcom") as ofcom, node.signed_in("acma") as acma:
        seen_by_ofcom = ofcom.get("/map/tracks.geojson").json()["features"]
        seen_by_acma = acma.get("/map/tracks.geojson").json()["features"]
        assert len(seen_by_acma) < len(seen_by_ofcom)
        levels = {
            f["properties"]["sighting_tlp"]
            for f in seen_by_acma
            if "sighting_tlp" in f["properties"]
        }
        assert "TLP:RED" not in levels
        # the UK reports' findings on this GT are Ofcom's to see, not ACMA's
        gt_ofcom = ofcom.get("/global-titles", params={"gt": "423660710015"}).text
        gt_acma = acma.get("/global-titles", params={"gt": "423660710015"}).text
        assert gt_ofcom.count('href="/objects/indicator--') > gt_acma.count(
            'href="/objects/indicator--'
        )


def test_amber_shown_on_a_page_is_audited(node: DemoNode) -> None:
    engine = node.database.engine
    before = len(audit.entries(engine))
    with node.signed_in("ofcom") as ofcom:
        ofcom.get("/objects", params={"tlp": "amber"})
    new = audit.entries(engine)[before:]
    mine = [e for e in new if e.actor == "user:ofcom" and e.detail == "console search"]
    assert mine and all(e.tlp is not None and e.tlp >= 2 for e in mine)
    assert audit.verify_chain(engine)[1] is None
