"""Upload, analyse, review and publish, through the console's own endpoints."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import orjson

from telsec.fraud.simulate import simulate
from tests.console.conftest import DemoNode, csrf

UK_REPORTS = "uk-reports"


def _wait(client: httpx.Client, job: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/upload/{job}/status").json()
        if status["state"] not in ("queued", "running"):
            return status
        time.sleep(0.2)
    raise AssertionError("the analysis did not finish")


def _upload(client: httpx.Client, name: str, content: bytes) -> httpx.Response:
    token = csrf(client.get("/upload"))
    return client.post(
        "/upload",
        data={"csrf": token},
        files={"file": (name, content, "application/octet-stream")},
        headers={"Accept": "application/json"},
    )


def _collection_id(client: httpx.Client, job: str, alias_title: str) -> str:
    page = client.get(f"/upload/{job}").text
    match = re.search(rf'<option value="([0-9a-f-]+)">{alias_title}', page)
    assert match, page
    return match.group(1)


def test_stix_upload_is_published_with_the_chosen_tlp(demo_node: DemoNode) -> None:
    marker = uuid.uuid4().hex
    bundle = {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [
            {
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                "created": "2026-11-20T10:00:00.000Z", "modified": "2026-11-20T10:00:00.000Z",
                "name": f"upload test {marker}", "pattern_type": "stix",
                "pattern": "[global-title:digits = '447700900123']",
                "valid_from": "2026-11-20T10:00:00.000Z",
            },
            "not an object",
        ],
    }  # fmt: skip
    with demo_node.signed_in("ofcom") as client:
        response = _upload(client, "finding.json", orjson.dumps(bundle))
        assert response.status_code == 200
        job = response.json()["job"]
        status = _wait(client, job)
        assert status["state"] == "done", status
        page = client.get(f"/upload/{job}").text
        assert marker in page and "Skipped records" in page
        collection = _collection_id(client, job, "UK provider reports")
        published = client.post(
            f"/upload/{job}/publish",
            data={
                "csrf": csrf(client.get(f"/upload/{job}")),
                "collection": collection,
                "tlp": "green",
            },
        )
        assert published.status_code == 303
        assert "1 objects stored" in client.get(f"/upload/{job}").text
        found = client.get("/objects", params={"q": marker}).text
        assert 'class="tlp tlp-green"' in found
    # over TAXII too, by an organisation that reads the collection
    response = httpx.get(
        f"{demo_node.url}/uk/collections/{collection}/objects/",
        params={"match[type]": "indicator"},
        headers={
            "Authorization": f"Bearer {demo_node.token}",
            "Accept": "application/taxii+json;version=2.1",
        },
    )
    assert marker in response.text


def _campaign_links(client: httpx.Client) -> set[str]:
    return set(
        re.findall(r'href="/campaigns/(campaign--[0-9a-f-]+)"', client.get("/campaigns").text)
    )


def test_spam_reports_become_campaigns(demo_node: DemoNode, tmp_path) -> None:
    rows, _labels = simulate(400, 3, False)
    content = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    with demo_node.signed_in("ofcom") as client:
        before = _campaign_links(client)
        job = _upload(client, "reports.jsonl", content).json()["job"]
        status = _wait(client, job)
        assert status["state"] == "done", status
        page = client.get(f"/upload/{job}").text
        assert "campaigns" in page and status["rows"] > 0
        collection = _collection_id(client, job, "UK provider reports")
        client.post(
            f"/upload/{job}/publish",
            data={
                "csrf": csrf(client.get(f"/upload/{job}")),
                "collection": collection,
                "tlp": "amber",
            },
        )
        done = client.get(f"/upload/{job}").text
        stored = int(re.search(r"(\d+) objects stored", done).group(1))
        assert stored > status["rows"]
        # each published campaign has its volume over time, from its daily sightings
        published = _campaign_links(client) - before
        assert published
        for campaign in published:
            page = client.get(f"/campaigns/{campaign}").text
            reports = int(re.search(r"([\d,]+) reports from", page).group(1).replace(",", ""))
            per_day = [int(n) for n in re.findall(r": (\d+) messages</title>", page)]
            assert per_day and sum(per_day) == reports, campaign


def test_unrecognised_files_get_a_clear_error(demo_node: DemoNode) -> None:
    with demo_node.signed_in("ofcom") as client:
        response = _upload(client, "photo.bin", b"\x00\x01binary junk" * 100)
        assert response.status_code == 400
        assert "not a capture, observations, spam reports or STIX file" in response.text
        capture = _upload(client, "capture.pcap", b"\xd4\xc3\xb2\xa1" + b"\x00" * 40)
        job = capture.json()["job"]
        status = _wait(client, job)
        assert status["state"] == "failed"
        assert "policy" in status["message"]  # no policy uploaded or configured


def test_readers_may_not_upload_and_jobs_are_private(demo_node: DemoNode) -> None:
    from telsec.members import service

    service.add_user(
        demo_node.database.engine, "reader1", "Ofcom", "reader", "another long password"
    )
    with demo_node.signed_in("ofcom") as owner:
        job = _upload(
            owner, "x.json", b'{"type": "bundle", "id": "bundle--1", "objects": []}'
        ).json()["job"]
    with demo_node.client() as other:
        from tests.console.conftest import sign_in

        sign_in(other, "reader1", "another long password")
        assert other.get(f"/upload/{job}").status_code == 404
        assert other.get(f"/upload/{job}/status").status_code == 404
        token = csrf(other.get("/upload"))
        refused = other.post("/upload", data={"csrf": token}, files={"file": ("a.json", b"[]")})
        assert refused.status_code == 403
