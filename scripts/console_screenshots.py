"""Screenshots of the console's main pages for docs/console/ (Debian's Chromium).

telsec demo --serve &          # prints the demo users' password
python scripts/console_screenshots.py http://127.0.0.1:8000 PASSWORD
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = [
    ("dashboard", "/"),
    ("search", "/objects?q=blaster"),
    ("object", None),  # the first indicator of the search above
    ("global-title", "/global-titles?gt=423660710015"),
    ("map", "/map"),
    ("campaigns", "/campaigns"),
    ("upload", "/upload"),
    ("admin", "/admin"),
]


def main(base: str, password: str, out: Path = Path("docs/console")) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for width, suffix in ((1280, ""), (390, "-phone")):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(base + "/login")
            page.fill("#username", "admin")
            page.fill("#password", password)
            page.click("button[type=submit]")
            object_url = None
            for name, path in PAGES:
                if suffix and name not in ("dashboard", "map", "object"):
                    continue
                if path is None:
                    page.goto(base + "/objects?q=blaster&type=indicator")
                    href = page.locator("table a[href^='/objects/']").first.get_attribute("href")
                    object_url = href
                    path = object_url
                page.goto(base + path)
                if name == "map":
                    page.wait_for_selector("#map[data-loaded]")
                    page.wait_for_timeout(500)
                page.screenshot(path=str(out / f"{name}{suffix}.png"), full_page=name != "admin")
            page.close()
        browser.close()
    print("\n".join(sorted(str(f) for f in out.glob("*.png") if re.match(r".*\.png$", str(f)))))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
