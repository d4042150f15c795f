"""End-to-end in a real browser: Playwright driving Debian's Chromium
(``/usr/bin/chromium``, installed by ``scripts/install-browser``; no browser
download) against a running node with the demo data."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.console.conftest import DemoNode

CHROMIUM = os.environ.get("TELSEC_TEST_CHROMIUM", "/usr/bin/chromium")

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None or not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (run scripts/install-browser)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, demo_node: DemoNode) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_this_node(route, request) -> None:  # the console must work with no internet
        if request.url.startswith(demo_node.url):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    context.route("**/*", only_this_node)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not outside, f"requests left the node: {outside}"
    assert not errors, f"script errors: {errors}"


def sign_in(page: Page, node: DemoNode, username: str) -> None:
    page.goto(node.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#username", username)
    page.fill("#password", node.password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("What arrived")


def test_sign_in_search_and_open_an_object(page: Page, demo_node: DemoNode) -> None:
    sign_in(page, demo_node, "ofcom")
    page.click("nav >> text=Search")
    page.fill("#q", "central London")
    page.select_option("#type", "indicator")
    page.click("form[role=search] button[type=submit]")
    link = page.locator("table a[href^='/objects/indicator--']").first
    expect(link).to_contain_text("central London")
    link.click()
    expect(page.locator("h1")).to_contain_text("SMS blaster, central London")
    expect(page.locator("h1 .tlp")).to_have_text("TLP:GREEN")
    expect(page.locator("svg.graph")).to_be_visible()
    expect(page.locator("text=sightings of this object")).to_be_visible()


def test_tlp_red_is_invisible_to_a_non_recipient(page: Page, demo_node: DemoNode) -> None:
    sign_in(page, demo_node, "ofcom")
    page.goto(demo_node.url + "/objects?q=cormorant&type=report")
    red = page.locator("table a", has_text="SMS centre intrusion")
    expect(red).to_have_count(1)
    href = red.get_attribute("href")
    page.click("text=Sign out")
    sign_in(page, demo_node, "acma")
    page.goto(demo_node.url + "/objects?q=cormorant")
    expect(page.locator("table a", has_text="SMS centre intrusion")).to_have_count(0)
    response = page.goto(demo_node.url + href)
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")


def test_publish_a_file(page: Page, demo_node: DemoNode, tmp_path: Path) -> None:
    import uuid

    import orjson

    marker = f"browser-{uuid.uuid4().hex[:8]}"
    stamp = "2026-11-21T09:00:00.000Z"
    bundle = {
        "type": "bundle", "id": f"bundle--{uuid.uuid4()}",
        "objects": [{
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": stamp, "modified": stamp, "name": marker, "pattern_type": "stix",
            "pattern": "[global-title:digits = '447700900777']", "valid_from": stamp,
        }],
    }  # fmt: skip
    upload = tmp_path / "finding.json"
    upload.write_bytes(orjson.dumps(bundle))
    sign_in(page, demo_node, "ofcom")
    page.click("nav >> text=Upload")
    page.set_input_files("#file", str(upload))
    page.click("#upload button[type=submit]")
    expect(page.locator("#job-state")).to_have_text("done", timeout=60_000)
    expect(page.locator("table")).to_contain_text(marker)
    option = page.locator("#collection option", has_text="UK provider reports")
    page.select_option("#collection", option.get_attribute("value"))
    page.select_option("#tlp", "green")
    page.click("button:has-text('Publish')")
    expect(page.locator("text=1 objects stored")).to_be_visible()
    page.goto(demo_node.url + f"/objects?q={marker}")
    expect(page.locator("table a", has_text=marker)).to_have_count(1)


def test_map_draws_offline(page: Page, demo_node: DemoNode) -> None:
    sign_in(page, demo_node, "ofcom")
    page.click("nav >> text=Blaster map")
    page.wait_for_selector("#map[data-loaded]")
    assert int(page.locator("#map").get_attribute("data-loaded") or 0) > 5
    expect(page.locator(".leaflet-interactive").first).to_be_attached()
    page.focus("#until")
    page.keyboard.press("Home")  # the time slider works from the keyboard
    expect(page.locator("#until-text")).not_to_have_text("all")


def test_keyboard_and_phone_width(page: Page, demo_node: DemoNode) -> None:
    sign_in(page, demo_node, "ofcom")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Enter")
    # the skip link moves focus to <main> (waited for: under load the next key
    # could otherwise arrive before the jump, and land in the navigation)
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # into the page's content, past the navigation
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ["/", "/objects", "/map", "/campaigns", "/global-titles?gt=423660710015"]:
        page.goto(demo_node.url + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, (path, overflow)
