/* The base map's extras (fleet_monitor/web/basemap.py):

   - the street layer, when no tile source is configured: named street lines
     from streetsUrl, drawn under the zones and vehicles (own panes), with their
     names as labels from zoom 16 (shown with textContent, never as HTML);
   - the nearest address in vehicle popups: when a popup holding a
     table.fm-popup opens, /api/address?lat&lon is asked once per position and
     an "Address" row is added (and added again when map.js refreshes the popup).

   Configuration: <script type="application/json" id="fm-basemap">
   {mapVar, streetsUrl, addressUrl, messages}. Sets window.__fleetStreetsDrawn
   when the street layer is on the map (for the tests). */
(function () {
  "use strict";

  var holder = document.getElementById("fm-basemap");
  if (!holder) { return; }
  var config = JSON.parse(holder.textContent);
  var map = window[config.mapVar];
  if (!map) { return; }
  var t = config.messages;
  var LABEL_MIN_ZOOM = 16;

  function midpoint(geometry) {
    var lines = geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates;
    var longest = lines.reduce(function (a, b) { return b.length > a.length ? b : a; }, lines[0]);
    var i = Math.floor((longest.length - 1) / 2);
    var a = longest[i], b = longest[Math.min(i + 1, longest.length - 1)];
    return L.latLng((a[1] + b[1]) / 2, (a[0] + b[0]) / 2);
  }

  function drawStreets(collection) {
    map.createPane("fm-streets").style.zIndex = 250;
    var labelPane = map.createPane("fm-street-labels");
    labelPane.style.zIndex = 260;
    labelPane.style.pointerEvents = "none";
    var renderer = L.canvas({ pane: "fm-streets" });
    var container = map.getContainer();
    container.classList.add("fm-street-base");
    var casing = L.geoJSON(collection, {
      pane: "fm-streets", renderer: renderer, interactive: false,
      style: { color: "#b9b2a6", opacity: 1, lineCap: "round" }
    });
    function isMain(f) { return f.properties && f.properties.rank === "main"; }
    var fill = L.geoJSON(collection, {
      pane: "fm-streets", renderer: renderer, interactive: false,
      style: function (f) { return { color: isMain(f) ? "#f9e0a6" : "#ffffff", opacity: 1, lineCap: "round" }; }
    });
    // street widths grow with the zoom, as on a printed plan; avenues are wider
    function widen() {
      var z = map.getZoom();
      var w = z <= 12 ? 1 : z === 13 ? 1.5 : z === 14 ? 2.5 : z === 15 ? 4 : z === 16 ? 6 : 9;
      fill.setStyle(function (f) { return { weight: isMain(f) ? w * 1.6 : w }; });
      casing.setStyle(function (f) {
        return { weight: (isMain(f) ? w * 1.6 : w) + (z <= 13 ? 0.8 : 2), color: isMain(f) ? "#c9a55c" : "#b9b2a6" };
      });
    }
    widen();
    map.on("zoomend", widen);
    casing.addTo(map);
    fill.addTo(map);
    var labels = L.layerGroup();
    var named = new Set();
    collection.features.forEach(function (f) {
      var name = f.properties && f.properties.name;
      if (!name) { return; }
      var el = document.createElement("span");
      el.textContent = name;
      named.add(name);
      labels.addLayer(L.tooltip({
        permanent: true, direction: "center", className: "fm-street-label",
        pane: "fm-street-labels", interactive: false
      }).setLatLng(midpoint(f.geometry)).setContent(el));
    });
    function toggleLabels() {
      if (map.getZoom() >= LABEL_MIN_ZOOM) { labels.addTo(map); } else { labels.remove(); }
    }
    map.on("zoomend", toggleLabels);
    toggleLabels();
    window.__fleetStreetsDrawn = { lines: collection.features.length, names: named.size };
  }

  if (config.streetsUrl) {
    fetch(config.streetsUrl, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(drawStreets)
      .catch(function () { window.__fleetStreetsDrawn = false; });
  }

  // ------------------------------------------------------------------ addresses
  var cache = new Map();

  function addressText(answer) {
    if (!answer.address) {
      return t.no_address.replace("{metres}", String(Math.round(answer.max_distance_m)));
    }
    var a = answer.address;
    return a.label + " (" + t.distance.replace("{metres}", String(a.distance_m)) + ")";
  }

  function show(popup, key) {
    var el = popup.getElement();
    var table = el && el.querySelector("table.fm-popup");
    var answer = cache.get(key);
    if (!table || !answer || table.querySelector("tr.fm-address")) { return; }
    var tr = table.insertRow();
    tr.className = "fm-address";
    var th = document.createElement("th");
    th.textContent = t.address;
    tr.appendChild(th);
    tr.insertCell().textContent = addressText(answer);
  }

  function addAddress(popup) {
    var el = popup.getElement();
    if (!el || !el.querySelector("table.fm-popup")) { return; }
    var ll = popup.getLatLng();
    var key = ll.lat.toFixed(6) + "," + ll.lng.toFixed(6);
    if (cache.has(key)) { show(popup, key); return; }
    var url = config.addressUrl + "?lat=" + encodeURIComponent(ll.lat.toFixed(6)) +
      "&lon=" + encodeURIComponent(ll.lng.toFixed(6));
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (answer) {
        cache.set(key, answer);
        if (map.hasLayer(popup)) { show(popup, key); }
      })
      .catch(function () { /* no address row: the popup stays as it was */ });
  }

  map.on("popupopen", function (e) {
    var popup = e.popup;
    if (!popup.__fmAddress) {
      popup.__fmAddress = true;
      popup.on("contentupdate", function () { addAddress(popup); });
    }
    addAddress(popup);
  });
})();
