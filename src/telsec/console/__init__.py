"""The web console: what analysts and regulators look at every day.

Served by ``telsec serve`` at ``/`` beside the TAXII API, for the users of
member organisations (the same users, organisations and roles as the API).
Pages are rendered on the server (Jinja2 templates, SVG charts); the only
scripts are the console's own small ones and a vendored Leaflet for the map,
whose basemap ships with telsec, so the console works with no internet.

Every page reads through :mod:`telsec.exchange.browse` and
:mod:`telsec.exchange.profiles`, which apply the same collection grants and TLP
rule as TAXII; AMBER and above shown on a page is written to the audit log.

- :mod:`.sessions`: sign-in sessions and CSRF tokens
- :mod:`.pages`: the routes
- :mod:`.charts`: SVG charts and the relationship graph
- :mod:`.jobs`: uploads analysed in the background, then published
"""

from __future__ import annotations

from telsec.console.pages import mount

__all__ = ["mount"]
