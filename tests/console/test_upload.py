"""Upload, analyse, review and publish, through the console's own endpoints."""

from __future__ import annotations

import io
import re
import struct
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from telsec.config import load_settings
from telsec.demo import load_demo
from telsec.fraud.simulate import simulate
from telsec.signalling.encode import PcapWriter, ethernet, ipv4
from telsec.storage.db import make_engine
from tests.conftest import Database
from tests.console.conftest import DemoNode, csrf, sign_in
from tests.fraud.test_ip_links import ip_link_reports
from tests.interop.hub import start_hub
from tests.radio.conftest import SHARED_RADIO

UK_REPORTS = "uk-reports"


def _wait(client: httpx.Client, job: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/upload/{job}/status").json()
        if status["state"] not in ("queued", "running"):
            return status
        time.sleep(0.2)
    raise AssertionError("the analysis did not finish")


def _upload(
    client: httpx.Client, name: str, content: bytes, helper: tuple[str, bytes] | None = None
) -> httpx.Response:
    token = csrf(client.get("/upload"))
    files = {"file": (name, content, "application/octet-stream")}
    if helper is not None:
        files["helper"] = (helper[0], helper[1], "application/octet-stream")
    return client.post(
        "/upload", data={"csrf": token}, files=files, headers={"Accept": "application/json"}
    )


def _publish(client: httpx.Client, job: str, collection: str, tlp: str) -> httpx.Response:
    token = csrf(client.get(f"/upload/{job}"))
    return client.post(
        f"/upload/{job}/publish", data={"csrf": token, "collection": collection, "tlp": tlp}
    )


def _gsmtap_capture(nas: list[tuple[float, bytes]]) -> bytes:
    """A pcap of LTE NAS PDUs as a phone's modem log carries them: GSMTAP over UDP."""
    out = io.BytesIO()
    writer = PcapWriter(out)
    for time_s, pdu in nas:
        gsmtap = struct.pack(">BBBBHbbIBBBB", 2, 4, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0) + pdu
        udp = struct.pack(">HHHH", 40000, 4729, 8 + len(gsmtap), 0) + gsmtap
        writer.write(time_s, ethernet(ipv4("127.0.0.1", "127.0.0.1", 17, udp)))
    return out.getvalue()


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
        published = _publish(client, job, collection, "green")
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
        _publish(client, job, collection, "amber")
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


def test_a_phone_capture_is_a_device_log_not_signalling(demo_node: DemoNode) -> None:
    """A GSMTAP pcap goes to the radio device heuristics (a signalling capture would
    ask for a policy): an IMSI request left unauthenticated, then null ciphering."""
    capture = _gsmtap_capture(
        [
            (1_760_000_000.0, bytes([0x07, 0x55, 0x01])),  # identity request: IMSI
            (1_760_000_000.2, bytes([0x07, 0x44, 0x07])),  # attach reject
            (1_760_000_045.0, bytes([0x07, 0x5D, 0x00, 0x00])),  # security mode: EEA0
        ]
    )
    with demo_node.signed_in("ofcom") as client:
        job = _upload(client, "modem.pcap", capture).json()["job"]
        status = _wait(client, job)
        assert status["state"] == "done", status
        assert status["kind"] == "device"
        assert "3 frames (0 RRC, 3 NAS): 2 device events" in status["message"]
        assert "2 without a serving cell" in status["message"]  # no SIB1 in this log
        page = client.get(f"/upload/{job}").text
        assert "RADIO-DEVICE-IMSI-REQUEST" in page and "RADIO-DEVICE-NULL-CIPHER" in page


def test_a_rayhunter_report_with_its_recording(demo_node: DemoNode) -> None:
    recording = SHARED_RADIO / "rayhunter-traces" / "1749222138-goodsim.pcap"
    if not recording.is_file():
        pytest.skip("shared Rayhunter traces not present")
    report = "\n".join(
        [
            orjson.dumps(
                {
                    "analyzers": [{"name": "IMSI Requested", "description": "", "version": 2}],
                    "report_version": 2,
                }
            ).decode(),
            orjson.dumps(
                {
                    "packet_timestamp": "2025-06-06T15:05:00+00:00",
                    "events": [{"event_type": "High", "message": "IMSI requested"}],
                }
            ).decode(),
        ]
    ).encode()
    with demo_node.signed_in("ofcom") as client:
        alone = _wait(client, _upload(client, "report.ndjson", report).json()["job"])
        assert alone["kind"] == "device" and "1 without a serving cell" in alone["message"]
        placed = _wait(
            client,
            _upload(
                client, "report.ndjson", report, helper=("r.pcap", recording.read_bytes())
            ).json()["job"],
        )
        assert placed["state"] == "done", placed
        assert "serving cells from its capture" in placed["message"]
        assert "without a serving cell" not in placed["message"]


def test_uploads_are_shared_by_the_worker_processes(tmp_path: Path) -> None:
    """``telsec serve --workers 2``: a job started by one process is seen, polled and
    published through the other (every request here opens a new connection, so the
    kernel spreads them over both), and it outlives a restart of the server."""
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'telsec.db'}", data_dir=tmp_path / "data"
    )
    engine = make_engine(settings)
    info = load_demo(engine)
    db = Database("sqlite", settings, engine)
    rows, _labels = simulate(300, 5, False)
    content = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    hub = start_hub(db, tmp_path / "hub.log", workers=2)
    fresh = httpx.Limits(max_keepalive_connections=0)
    try:
        with httpx.Client(base_url=hub.url, limits=fresh, timeout=30) as client:
            sign_in(client, "ofcom", info.password)
            job = _upload(client, "reports.jsonl", content).json()["job"]
            status = _wait(client, job)
            assert status["state"] == "done", status
            for _ in range(10):
                assert client.get(f"/upload/{job}/status").json()["state"] == "done"
                assert job in client.get("/upload").text
            collection = _collection_id(client, job, "UK provider reports")
            published = _publish(client, job, collection, "green")
            assert published.status_code == 303
            again = _publish(client, job, collection, "green")
            assert again.status_code == 409  # published once, whichever process is asked
        hub.stop()
        hub = start_hub(db, tmp_path / "hub.log", workers=2)
        with httpx.Client(base_url=hub.url, limits=fresh, timeout=30) as client:
            sign_in(client, "ofcom", info.password)
            page = client.get(f"/upload/{job}").text
            stored = int(re.search(r"(\d+) objects stored", page).group(1))
            assert stored > status["rows"] and "TLP:GREEN" in page
    finally:
        hub.stop()
        engine.dispose()


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


def test_campaigns_that_link_to_ip_addresses_show_them(demo_node: DemoNode) -> None:
    content = b"".join(orjson.dumps(r) + b"\n" for r in ip_link_reports())
    with demo_node.signed_in("ofcom") as client:
        before = _campaign_links(client)
        job = _upload(client, "ip-links.jsonl", content).json()["job"]
        assert _wait(client, job)["state"] == "done"
        assert "203.0.113.9" in client.get(f"/upload/{job}").text
        _publish(client, job, _collection_id(client, job, "UK provider reports"), "amber")
        published = _campaign_links(client) - before
        assert "via 203.0.113.9" in client.get("/campaigns").text
        pages = [client.get(f"/campaigns/{campaign}").text for campaign in published]
        shown = {
            address
            for page in pages
            if "<h3>IP addresses</h3>" in page
            for address in re.findall(r"<li><code>([0-9a-f.:]+)</code></li>",
                                      page.split("<h3>IP addresses</h3>")[1].split("</ul>")[0])
        }  # fmt: skip
        assert shown == {"203.0.113.9", "2001:db8::7"}
