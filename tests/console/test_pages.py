"""Each page of the console, with the demo data, as an analyst and an administrator."""

from __future__ import annotations

import re

import httpx

from telsec.members import service
from tests.console.conftest import DemoNode, csrf


def test_dashboard_counts_and_charts(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        page = client.get("/?days=7")
        assert page.status_code == 200
        total = int(re.search(r"<strong>(\d+)</strong> threat objects", page.text).group(1))
        assert total > 500
        assert page.text.count("<svg") == 4
        for threat in ["Global Title misuse", "SMS blaster", "Fraud"]:
            assert threat in page.text
        assert "Newest high-severity items" in page.text
        assert 'href="/objects/indicator--' in page.text


def test_search_filters(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        everything = client.get("/objects").text
        assert "Older results" in everything  # more than a page
        campaigns = client.get("/objects", params={"type": "campaign"}).text
        types = re.findall(r"<td>([a-z-]+)</td>\s*<td><a href", campaigns)
        assert types and set(types) == {"campaign"}
        green = client.get("/objects", params={"tlp": "green"}).text
        assert 'class="tlp tlp-green"' in green and 'class="tlp tlp-amber"' not in green
        labelled = client.get("/objects", params={"label": "SIG-CAT1"}).text
        assert "SIG-CAT1" in labelled and labelled.count('href="/objects/') > 0
        by_producer = client.get("/objects", params={"producer": "Thames Telecom"}).text
        assert "Thames Telecom" in by_producer
        assert client.get("/objects", params={"since": "31-12-2026"}).status_code == 400
        nothing = client.get("/objects", params={"q": "zzqqxx-no-such-words"}).text
        assert "Nothing to show." in nothing


def test_object_page_shows_versions_graph_and_sightings(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        search = client.get(
            "/objects", params={"q": "central London fake GSM", "type": "indicator"}
        ).text
        object_id = re.search(r'href="/objects/(indicator--[0-9a-f-]+)"', search).group(1)
        page = client.get(f"/objects/{object_id}").text
        assert "<h2>Versions</h2>" in page and '<svg class="graph"' in page
        assert "sightings of this object" in page
        assert page.count("sighting of") >= 3
        assert "indicates" in page  # relationships to techniques


def test_global_title_lookup(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        page = client.get("/global-titles", params={"gt": "+42 366 071 0015"}).text
        assert "GT 423660710015" in page
        assert 'class="verdict block"' in page
        assert "Albion Mobile" in page and "Thames Telecom" in page  # reporters
        assert "exact" in page
        unknown = client.get("/global-titles", params={"gt": "999999999999"}).text
        assert "knows nothing" in unknown
        assert client.get("/global-titles", params={"gt": "<script>"}).status_code == 400


def test_map_data_is_geojson_with_tracks(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        page = client.get("/map").text
        assert "/static/vendor/leaflet/leaflet.js" in page
        assert "http://" not in page.split("<main")[1].split("</main>")[0].replace(
            demo_node.url, ""
        )
        data = client.get("/map/tracks.geojson").json()
        kinds = {f["properties"]["kind"] for f in data["features"]}
        assert kinds == {"sighting", "track"}
        for feature in data["features"]:
            lon, lat = (
                feature["geometry"]["coordinates"]
                if feature["geometry"]["type"] == "Point"
                else feature["geometry"]["coordinates"][0]
            )
            assert -180 <= lon <= 180 and -90 <= lat <= 90
        basemap = client.get(
            "/static/basemap/countries-50m.geojson", headers={"accept-encoding": "gzip"}
        )
        assert basemap.status_code == 200 and len(basemap.json()["features"]) > 200


def test_campaigns(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        page = client.get("/campaigns").text
        assert "SwiftParcel redelivery fee" in page
        campaign = re.search(r'href="/campaigns/(campaign--[0-9a-f-]+)">SwiftParcel', page).group(1)
        detail = client.get(f"/campaigns/{campaign}").text
        assert "Volume over time" in detail and "<svg" in detail
        blasters = detail.split("SMS blasters</h2>")[1].split("</section>")[0]
        assert "central London" in blasters
        assert client.get("/campaigns/campaign--nope").status_code == 404


def test_admin_is_for_administrators(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        assert client.get("/admin").status_code == 403
        assert client.get("/admin/audit").status_code == 403


def test_admin_adds_and_revokes(demo_node: DemoNode) -> None:
    engine = demo_node.database.engine
    with demo_node.signed_in("admin") as client:
        page = client.get("/admin")
        for text in [
            "Organisations",
            "Users",
            "API tokens",
            "Collections and grants",
            "Federation peers",
        ]:
            assert text in page.text
        token = csrf(page)
        assert (
            client.post(
                "/admin/organisations", data={"csrf": token, "name": "Kea Telecom", "country": "nz"}
            ).status_code
            == 303
        )
        assert "Kea Telecom" in {o.name for o in service.list_organisations(engine)}
        issued = client.post(
            "/admin/tokens",
            data={"csrf": token, "org": "Kea Telecom", "role": "reader", "label": "t"},
        )
        secret = re.search(r'<code id="issued-token">([^<]+)</code>', issued.text).group(1)
        discovery = httpx.get(
            f"{demo_node.url}/taxii2/",
            headers={
                "Authorization": f"Bearer {secret}",
                "Accept": "application/taxii+json;version=2.1",
            },
        )
        assert discovery.status_code == 200
        token_id = secret.split("_")[1]
        assert (
            client.post(
                "/admin/tokens/revoke", data={"csrf": token, "token_id": token_id}
            ).status_code
            == 303
        )
        again = httpx.get(
            f"{demo_node.url}/taxii2/",
            headers={
                "Authorization": f"Bearer {secret}",
                "Accept": "application/taxii+json;version=2.1",
            },
        )
        assert again.status_code == 401
        bad = client.post(
            "/admin/users",
            data={
                "csrf": token,
                "username": "x",
                "org": "Kea Telecom",
                "role": "reader",
                "password": "short",
            },
        )
        assert bad.status_code == 400 and "12 characters" in bad.text
        audit_page = client.get("/admin/audit").text
        assert "Hash chain verified" in audit_page
