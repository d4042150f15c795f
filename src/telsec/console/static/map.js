// telsec console: the SMS blaster map. Leaflet with an offline basemap (no tiles).
(function () {
  "use strict";
  var box = document.getElementById("map");
  if (!box || !window.L) { return; }
  var colours = { "tlp-red": "#FF2B2B", "tlp-amber": "#FFC000", "tlp-amber-strict": "#FFC000",
                  "tlp-green": "#33FF00", "tlp-clear": "#FFFFFF" };
  var map = L.map(box, { worldCopyJump: true, keyboard: true }).setView([30, 0], 2);
  map.attributionControl.addAttribution("Natural Earth (public domain)");
  map.createPane("basemap");
  map.getPane("basemap").style.zIndex = 250;
  var layer = L.layerGroup().addTo(map);
  var features = [];
  var slider = document.getElementById("until");
  var label = document.getElementById("until-text");
  var lo = null, hi = null;
  function fmt(us) { return new Date(us / 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC"; }
  function esc(s) { var d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }
  function cutoff() {
    if (lo === null) { return null; }
    return lo + (hi - lo) * (Number(slider.value) / 1000);
  }
  function draw() {
    layer.clearLayers();
    var t = cutoff();
    label.textContent = t === null ? "all" : fmt(t);
    var tracks = {};
    features.forEach(function (f) {
      var p = f.properties;
      if (p.kind !== "sighting") { return; }
      if (t !== null && p.first_seen !== null && p.first_seen > t) { return; }
      var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
      (tracks[p.indicator] = tracks[p.indicator] || { pts: [], p: p }).pts.push(ll);
      L.circleMarker(ll, { radius: 7, color: "#000", weight: 2, fillOpacity: 0.9,
                           fillColor: colours[p.sighting_tlp_class] || "#888" })
        .bindPopup("<strong><a href='" + esc(p.url) + "'>" + esc(p.name) + "</a></strong><br>" +
                   esc(p.place) + "<br>" + esc(p.sighting_tlp) + (p.count ? " · " + esc(p.count) + " handsets" : "") +
                   "<br>" + (p.first_seen ? esc(fmt(p.first_seen)) : "") + " – " + (p.last_seen ? esc(fmt(p.last_seen)) : ""))
        .addTo(layer);
      if (p.precision_m) {
        L.circle(ll, { radius: p.precision_m, color: "#000", weight: 1, fill: false, dashArray: "3" }).addTo(layer);
      }
    });
    Object.keys(tracks).forEach(function (k) {
      if (tracks[k].pts.length > 1) {
        L.polyline(tracks[k].pts, { color: "#101820", weight: 3, dashArray: "6 4" }).addTo(layer);
      }
    });
  }
  fetch(box.dataset.basemap).then(function (r) { return r.json(); }).then(function (geo) {
    L.geoJSON(geo, { pane: "basemap", interactive: false,
                     style: { color: "#7a8793", weight: 0.6, fillColor: "#f4f1ea", fillOpacity: 1 } }).addTo(map);
    box.dataset.basemap_ready = "yes";
  });
  // the sightings come with the page (the same data as /map/tracks.geojson)
  var data = JSON.parse(document.getElementById("tracks").textContent);
  features = data.features || [];
  var times = [];
  features.forEach(function (f) {
    if (f.properties.first_seen) { times.push(f.properties.first_seen); }
    if (f.properties.last_seen) { times.push(f.properties.last_seen); }
  });
  if (times.length) {
    lo = Math.min.apply(null, times); hi = Math.max.apply(null, times);
  }
  var pts = features.filter(function (f) { return f.properties.kind === "sighting"; })
    .map(function (f) { return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; });
  if (pts.length) { map.fitBounds(pts, { padding: [30, 30], maxZoom: 12 }); }
  box.dataset.loaded = String(pts.length);
  draw();
  slider.addEventListener("input", draw);
})();
