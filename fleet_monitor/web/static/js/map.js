/* Officers' live map: vehicles from /api/vehicles on a canvas, refreshed in place. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("fm-config").textContent);
  var t = config.messages;
  var statusEl = document.getElementById("fm-status");

  var map = L.map("fm-map", { preferCanvas: true, zoomControl: true })
    .setView(config.center, config.zoom);
  var renderer = L.canvas({ padding: 0.5, tolerance: 6 });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, {
      maxZoom: 19,
      attribution: config.tileAttribution || ""
    }).addTo(map);
  }

  var markers = new Map();      // feature id -> circleMarker
  var groups = new Map();       // operator slug -> layerGroup
  var hidden = new Set();       // operator slugs switched off in the legend
  var onlyOperator = new URLSearchParams(window.location.search).get("operator");

  function colourOf(slug) {
    if (config.colours[slug]) { return config.colours[slug]; }
    var h = 0;
    for (var i = 0; i < slug.length; i++) { h = (h * 31 + slug.charCodeAt(i)) >>> 0; }
    config.colours[slug] = config.fallbackColours[h % config.fallbackColours.length];
    return config.colours[slug];
  }

  function styleFor(props) {
    var colour = colourOf(props.operator);
    var style = { renderer: renderer, radius: 7, color: colour, weight: 1.5,
                  fillColor: colour, fillOpacity: 0.85 };
    if (props.state === "reserved") { style.fillOpacity = 0.35; style.weight = 2; }
    if (props.state === "disabled") { style.fillColor = "#ffffff"; style.fillOpacity = 1; style.weight = 3; }
    return style;
  }

  function groupFor(slug) {
    var group = groups.get(slug);
    if (!group) {
      group = L.layerGroup();
      groups.set(slug, group);
      if (!hidden.has(slug)) { group.addTo(map); }
      ensureLegendEntry(slug);
    }
    return group;
  }

  function formatDate(iso) {
    if (!iso) { return t.unknown; }
    return new Intl.DateTimeFormat(config.locale, {
      timeZone: config.timezone, dateStyle: "short", timeStyle: "short"
    }).format(new Date(iso));
  }

  function formatPercent(value) {
    return new Intl.NumberFormat(config.locale, { style: "percent" }).format(value / 100);
  }

  function formatKm(metres) {
    return new Intl.NumberFormat(config.locale, {
      style: "unit", unit: "kilometer", maximumFractionDigits: 1
    }).format(metres / 1000);
  }

  function popupContent(layer) {
    var p = layer.feature.properties;
    var table = document.createElement("table");
    table.className = "fm-popup";
    function row(label, value) {
      var tr = table.insertRow();
      var th = document.createElement("th");
      th.textContent = label;
      tr.appendChild(th);
      tr.insertCell().textContent = value;
    }
    row(t.operator, config.names[p.operator] || p.operator);
    row(t.vehicle_id, p.gbfs_id);
    row(t.vehicle_type, (p.vehicle_type || t.unknown) + " · " + (t["state." + p.state] || p.state));
    if (p.battery_pct !== null && p.battery_pct !== undefined) { row(t.battery, formatPercent(p.battery_pct)); }
    if (p.range_m !== null && p.range_m !== undefined) { row(t.range, formatKm(p.range_m)); }
    var since = formatDate(p.parked_since);
    var confidence = t["confidence." + p.parked_since_confidence];
    row(t.parked_since, confidence ? since + " (" + confidence + ")" : since);
    return table;
  }

  function apply(collection) {
    var seen = new Set();
    var counts = new Map();
    collection.features.forEach(function (feature) {
      var id = feature.id;
      var props = feature.properties;
      var c = feature.geometry.coordinates;
      var latlng = [c[1], c[0]];
      seen.add(id);
      counts.set(props.operator, (counts.get(props.operator) || 0) + 1);
      var marker = markers.get(id);
      if (!marker) {
        marker = L.circleMarker(latlng, styleFor(props));
        marker.feature = feature;
        marker.bindPopup(popupContent);
        markers.set(id, marker);
        groupFor(props.operator).addLayer(marker);
        return;
      }
      var old = marker.feature.properties;
      marker.feature = feature;
      if (old.operator !== props.operator) {
        groupFor(old.operator).removeLayer(marker);
        groupFor(props.operator).addLayer(marker);
      }
      var ll = marker.getLatLng();
      if (ll.lat !== latlng[0] || ll.lng !== latlng[1]) { marker.setLatLng(latlng); }
      if (old.state !== props.state || old.operator !== props.operator) { marker.setStyle(styleFor(props)); }
      if (marker.isPopupOpen()) { marker.setPopupContent(popupContent(marker)); }
    });
    markers.forEach(function (marker, id) {
      if (!seen.has(id)) {
        groupFor(marker.feature.properties.operator).removeLayer(marker);
        markers.delete(id);
      }
    });
    document.querySelectorAll("[data-count-for]").forEach(function (el) {
      el.textContent = "(" + (counts.get(el.getAttribute("data-count-for")) || 0) + ")";
    });
    var now = new Intl.DateTimeFormat(config.locale, { timeZone: config.timezone, timeStyle: "medium" })
      .format(new Date());
    statusEl.textContent = collection.features.length + " " + t.vehicles + " · " + t.updated + " " + now;
    statusEl.classList.remove("fm-error");
  }

  function refresh() {
    var url = config.vehiclesUrl + (onlyOperator ? "?operator=" + encodeURIComponent(onlyOperator) : "");
    return fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(apply)
      .catch(function () {
        statusEl.textContent = t.load_error;
        statusEl.classList.add("fm-error");
      });
  }

  // Legend: colour swatches (set here: the CSP forbids inline styles) and toggles.
  function bindToggle(input) {
    input.addEventListener("change", function () {
      var slug = input.getAttribute("data-operator");
      var group = groups.get(slug);
      if (input.checked) { hidden.delete(slug); if (group) { group.addTo(map); } }
      else { hidden.add(slug); if (group) { map.removeLayer(group); } }
    });
  }

  function ensureLegendEntry(slug) {
    if (document.querySelector('input[data-operator="' + CSS.escape(slug) + '"]')) { return; }
    var li = document.createElement("li");
    var label = document.createElement("label");
    var input = document.createElement("input");
    input.type = "checkbox";
    input.checked = true;
    input.setAttribute("data-operator", slug);
    var swatch = document.createElement("span");
    swatch.className = "fm-swatch";
    swatch.style.backgroundColor = colourOf(slug);
    var count = document.createElement("span");
    count.className = "fm-count";
    count.setAttribute("data-count-for", slug);
    label.append(input, swatch, " " + slug + " ", count);
    li.appendChild(label);
    document.querySelector(".fm-operators").appendChild(li);
    bindToggle(input);
  }

  document.querySelectorAll(".fm-swatch[data-colour]").forEach(function (el) {
    el.style.backgroundColor = el.getAttribute("data-colour");
  });
  document.querySelectorAll("input[data-operator]").forEach(bindToggle);

  refresh();
  window.setInterval(refresh, config.refreshSeconds * 1000);
})();
