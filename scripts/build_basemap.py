"""Build the console's offline basemap from Natural Earth country outlines.

Input: ``countries-50m.json`` from the npm package ``world-atlas`` 2.0.2 (TopoJSON
of Natural Earth 1:50m admin-0 countries; Natural Earth is public domain, the
package is ISC-licensed).  Output: a GeoJSON FeatureCollection of
MultiPolygons with coordinates rounded to 0.01 degree (about 1 km), which is
what the console's map draws instead of tiles from the internet.

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python scripts/build_basemap.py package/countries-50m.json \\
        src/telsec/console/static/basemap/countries-50m.geojson
"""

from __future__ import annotations

import json
import sys
from typing import Any


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    scale = topology["transform"]["scale"]
    translate = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale[0] + translate[0], y * scale[1] + translate[1]))
        arcs.append(points)
    return arcs


def ring(indexes: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc if not points else arc[1:])
    out: list[list[float]] = []
    for lon, lat in points:
        p = [round(lon, 2), round(lat, 2)]
        if not out or out[-1] != p:
            out.append(p)
    return out


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as handle:
        topology = json.load(handle)
    arcs = decode_arcs(topology)
    features = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        kind = geometry.get("type")
        if kind == "Polygon":
            polygons = [geometry["arcs"]]
        elif kind == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        coords = [[ring(r, arcs) for r in polygon] for polygon in polygons]
        coords = [[r for r in polygon if len(r) >= 4] for polygon in coords]
        coords = [polygon for polygon in coords if polygon]
        features.append(
            {
                "type": "Feature",
                "properties": {"name": geometry.get("properties", {}).get("name", "")},
                "geometry": {"type": "MultiPolygon", "coordinates": coords},
            }
        )
    collection = {
        "type": "FeatureCollection",
        "attribution": "Natural Earth 1:50m countries (public domain), via world-atlas 2.0.2",
        "features": features,
    }
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(collection, handle, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
