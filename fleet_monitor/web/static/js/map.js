/* Officers' live map: vehicles from /api/vehicles drawn on the canvas of the
   folium-generated Leaflet map, refreshed in place; legend filters by operator,
   state, parked time and violated rule; vehicles with open violations get a
   thick ring in the colour of their most urgent rule (dashed when uncertain),
   their popup links each case file; a "locate me" button.
   Sets window.__fleetVehiclesDrawnAt (performance.now()) and
   window.__fleetVehiclesDrawn once the first answer is drawn (for the bench). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("fm-config").textContent);
  var t = config.messages;
  var statusEl = document.getElementById("fm-status");
  var map = window[config.mapVar];  // made by folium's script (preferCanvas: one shared canvas)
  var DAY_MS = 86400000;

  var markers = new Map();      // feature id -> circleMarker
  var groups = new Map();       // operator slug -> layerGroup
  var hidden = new Set();       // operator slugs switched off in the legend
  var hiddenStates = new Set(); // states switched off
  var minParkedMs = 0;          // "parked for at least N days"
  var ruleFilter = "";          // "" all vehicles, "*" any violation, else a rule type
  var total = 0;

  function colourOf(slug) {
    if (config.colours[slug]) { return config.colours[slug]; }
    var h = 0;
    for (var i = 0; i < slug.length; i++) { h = (h * 31 + slug.charCodeAt(i)) >>> 0; }
    config.colours[slug] = config.fallbackColours[h % config.fallbackColours.length];
    return config.colours[slug];
  }

  // Vehicle rules, most urgent first, with the colour of their ring: the server's
  // rule registry (rules/registry.py), given in the page's JSON config.
  var RULES = config.rules || [];
  var RULE_COLOURS = {};
  var RULE_RANK = {};
  var RULE_NAMES = {};
  RULES.forEach(function (r, i) {
    RULE_COLOURS[r.id] = r.colour; RULE_RANK[r.id] = i; RULE_NAMES[r.id] = r.symbol + " " + r.label;
  });
  var OTHER_RULE_COLOUR = "#555555";

  function ruleName(rule) { return RULE_NAMES[rule] || rule.replace(/_/g, " "); }

  // The violation that decides the ring: certain before uncertain, then the most urgent rule.
  function mainViolation(props) {
    var list = props.violations;
    if (!list || !list.length) { return null; }
    var best = null;
    list.forEach(function (v) {
      var key = [v.status === "uncertain" ? 1 : 0, RULE_RANK[v.rule_type] === undefined ? 99 : RULE_RANK[v.rule_type]];
      if (!best || key[0] < best.key[0] || (key[0] === best.key[0] && key[1] < best.key[1])) {
        best = { v: v, key: key };
      }
    });
    return best.v;
  }

  function violationsKey(props) {
    return (props.violations || []).map(function (v) { return v.id + ":" + v.rule_type + ":" + v.status; }).join(",");
  }

  function styleFor(props) {
    var colour = colourOf(props.operator);
    var style = { radius: 8, color: colour, weight: 1.5, fillColor: colour, fillOpacity: 0.85 };
    if (props.state === "reserved") { style.fillOpacity = 0.35; style.weight = 2; }
    if (props.state === "disabled") { style.fillColor = "#ffffff"; style.fillOpacity = 1; style.weight = 3; }
    var main = mainViolation(props);
    if (main) {
      style.radius = 10;
      style.weight = 4;
      style.color = RULE_COLOURS[main.rule_type] || OTHER_RULE_COLOUR;
      style.opacity = 1;
      if (main.status === "uncertain") { style.dashArray = "4 3"; style.opacity = 0.6; }
    }
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

  function parkedMs(props) {
    return props.parked_since ? Date.now() - Date.parse(props.parked_since) : null;
  }

  function hasRule(props) {
    var list = props.violations || [];
    if (ruleFilter === "*") { return list.length > 0; }
    return list.some(function (v) { return v.rule_type === ruleFilter; });
  }

  function passes(props) {
    if (hiddenStates.has(props.state)) { return false; }
    if (ruleFilter && !hasRule(props)) { return false; }
    if (minParkedMs > 0) {
      var ms = parkedMs(props);
      if (ms === null || ms < minParkedMs) { return false; }
    }
    return true;
  }

  // A marker belongs to its operator's group only while it passes the filters.
  function place(marker) {
    var group = groupFor(marker.feature.properties.operator);
    var want = passes(marker.feature.properties);
    if (want && !group.hasLayer(marker)) { group.addLayer(marker); }
    if (!want && group.hasLayer(marker)) { group.removeLayer(marker); }
  }

  function formatDate(iso) {
    if (!iso) { return t.unknown; }
    return new Intl.DateTimeFormat(config.locale, {
      timeZone: config.timezone, dateStyle: "short", timeStyle: "short"
    }).format(new Date(iso));
  }

  function formatDuration(ms) {
    var days = ms / DAY_MS;
    var unit = days >= 1 ? "day" : "hour";
    var value = days >= 1 ? days : ms / 3600000;
    return new Intl.NumberFormat(config.locale, {
      style: "unit", unit: unit, unitDisplay: "long", maximumFractionDigits: 1
    }).format(Math.max(0, value));
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
    var ms = parkedMs(p);
    if (ms !== null) { row(t.parked_for, formatDuration(ms)); }
    (p.violations || []).forEach(function (v) {
      var tr = table.insertRow();
      tr.className = "fm-violation";
      var th = document.createElement("th");
      th.textContent = t.violation;
      tr.appendChild(th);
      var cell = tr.insertCell();
      var link = document.createElement("a");
      link.href = config.casesUrl + encodeURIComponent(v.id);
      link.className = "fm-case-link";
      link.setAttribute("data-violation", String(v.id));
      link.textContent = ruleName(v.rule_type) + (v.status === "uncertain" ? " (" + t.uncertain + ")" : "");
      cell.appendChild(link);
    });
    return table;
  }

  function updateCounts() {
    var counts = new Map();
    var shown = 0;
    groups.forEach(function (group, slug) {
      var n = group.getLayers().length;
      counts.set(slug, n);
      if (!hidden.has(slug)) { shown += n; }
    });
    document.querySelectorAll("[data-count-for]").forEach(function (el) {
      el.textContent = "(" + (counts.get(el.getAttribute("data-count-for")) || 0) + ")";
    });
    return shown;
  }

  function showStatus() {
    var shown = updateCounts();
    var now = new Intl.DateTimeFormat(config.locale, { timeZone: config.timezone, timeStyle: "medium" })
      .format(new Date());
    var number = new Intl.NumberFormat(config.locale);
    statusEl.textContent = t.status.replace("{shown}", number.format(shown))
      .replace("{total}", number.format(total)).replace("{time}", now);
    statusEl.classList.remove("fm-error");
  }

  function apply(collection) {
    var seen = new Set();
    collection.features.forEach(function (feature) {
      var id = feature.id;
      var props = feature.properties;
      var c = feature.geometry.coordinates;
      var latlng = [c[1], c[0]];
      seen.add(id);
      var marker = markers.get(id);
      if (!marker) {
        marker = L.circleMarker(latlng, styleFor(props));
        marker.feature = feature;
        marker.bindPopup(popupContent);
        markers.set(id, marker);
        place(marker);
        return;
      }
      var old = marker.feature.properties;
      marker.feature = feature;
      if (old.operator !== props.operator) { groupFor(old.operator).removeLayer(marker); }
      var ll = marker.getLatLng();
      if (ll.lat !== latlng[0] || ll.lng !== latlng[1]) { marker.setLatLng(latlng); }
      if (old.state !== props.state || old.operator !== props.operator ||
          violationsKey(old) !== violationsKey(props)) { marker.setStyle(styleFor(props)); }
      place(marker);
      if (marker.isPopupOpen()) { marker.setPopupContent(popupContent(marker)); }
    });
    markers.forEach(function (marker, id) {
      if (!seen.has(id)) {
        groupFor(marker.feature.properties.operator).removeLayer(marker);
        markers.delete(id);
      }
    });
    total = collection.features.length;
    showStatus();
    if (window.__fleetVehiclesDrawnAt === undefined) {
      window.__fleetVehiclesDrawn = markers.size;
      window.__fleetVehiclesDrawnAt = window.performance ? window.performance.now() : Date.now();
    }
  }

  function refresh() {
    var url = config.vehiclesUrl + (config.operator ? "?operator=" + encodeURIComponent(config.operator) : "");
    return fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); }  // session ended: to the login page
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(apply)
      .catch(function () {
        statusEl.textContent = t.load_error;
        statusEl.classList.add("fm-error");
      });
  }

  function refilter() {
    markers.forEach(place);
    showStatus();
  }

  // Legend: colour swatches (set here: the CSP forbids inline style attributes) and toggles.
  function bindToggle(input) {
    input.addEventListener("change", function () {
      var slug = input.getAttribute("data-operator");
      var group = groups.get(slug);
      if (input.checked) { hidden.delete(slug); if (group) { group.addTo(map); } }
      else { hidden.add(slug); if (group) { map.removeLayer(group); } }
      showStatus();
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
    label.append(input, swatch, " " + (config.names[slug] || slug) + " ", count);
    li.appendChild(label);
    document.querySelector(".fm-operators").appendChild(li);
    bindToggle(input);
  }

  // "Locate me": Leaflet's map.locate, the position drawn with its accuracy.
  var here = null;
  var LocateControl = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var bar = L.DomUtil.create("div", "leaflet-bar fm-locate");
      var button = L.DomUtil.create("a", "fm-locate-button", bar);
      button.href = "#";
      button.title = t.locate;
      button.setAttribute("role", "button");
      button.setAttribute("aria-label", t.locate);
      L.DomEvent.disableClickPropagation(bar);
      L.DomEvent.on(button, "click", function (event) {
        L.DomEvent.preventDefault(event);
        button.classList.add("fm-busy");
        map.locate({ setView: true, maxZoom: 17, enableHighAccuracy: true, timeout: 15000 });
      });
      map.on("locationfound locationerror", function () { button.classList.remove("fm-busy"); });
      return bar;
    }
  });
  new LocateControl().addTo(map);
  map.on("locationfound", function (e) {
    if (here) { map.removeLayer(here); }
    here = L.layerGroup([
      L.circle(e.latlng, { radius: e.accuracy, color: "#1a73e8", weight: 1, fillOpacity: 0.1, interactive: false }),
      L.circleMarker(e.latlng, { radius: 7, color: "#ffffff", weight: 3, fillColor: "#1a73e8", fillOpacity: 1 })
        .bindTooltip(function () {  // text, never HTML
          var el = document.createElement("span");
          el.textContent = t.you_are_here.replace("{metres}", Math.round(e.accuracy));
          return el;
        })
    ]).addTo(map);
  });
  map.on("locationerror", function () {
    statusEl.textContent = t.locate_error;
    statusEl.classList.add("fm-error");
  });

  // On a phone the legend starts folded (one tap on its title opens it).
  var legend = document.getElementById("fm-legend");
  if (legend && window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) {
    legend.open = false;
  }

  document.querySelectorAll(".fm-swatch[data-colour]").forEach(function (el) {
    el.style.backgroundColor = el.getAttribute("data-colour");
  });
  document.querySelectorAll("input[data-operator]").forEach(bindToggle);
  document.querySelectorAll("input[data-state]").forEach(function (input) {
    input.addEventListener("change", function () {
      var state = input.getAttribute("data-state");
      if (input.checked) { hiddenStates.delete(state); } else { hiddenStates.add(state); }
      refilter();
    });
  });
  // Legend: what the rings mean, and the "rule" filter (built here, in the legend's body).
  function buildRuleLegend() {
    var body = document.querySelector(".fm-legend-body");
    if (!body) { return; }
    var fieldset = document.createElement("fieldset");
    fieldset.className = "fm-rules";
    var title = document.createElement("legend");
    title.textContent = t.violations;
    fieldset.appendChild(title);
    var note = document.createElement("p");
    note.className = "fm-note";
    note.textContent = t.violations_help;
    fieldset.appendChild(note);
    var list = document.createElement("ul");
    list.className = "fm-rule-list";
    RULES.forEach(function (r) {
      var li = document.createElement("li");
      var ring = document.createElement("span");
      ring.className = "fm-ring";
      ring.style.borderColor = r.colour;
      li.append(ring, " " + ruleName(r.id));
      list.appendChild(li);
    });
    var li = document.createElement("li");
    var dashed = document.createElement("span");
    dashed.className = "fm-ring fm-ring-uncertain";
    li.append(dashed, " " + t.uncertain);
    list.appendChild(li);
    fieldset.appendChild(list);
    var label = document.createElement("label");
    label.className = "fm-rule-filter";
    var select = document.createElement("select");
    select.id = "fm-rule";
    [["", t.all_vehicles], ["*", t.any_violation]].concat(RULES.map(function (r) {
      return [r.id, ruleName(r.id)];
    })).forEach(function (o) {
      var option = document.createElement("option");
      option.value = o[0];
      option.textContent = o[1];
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      ruleFilter = select.value;
      refilter();
    });
    label.append(t.rule + " ", select);
    fieldset.appendChild(label);
    var parked = body.querySelector ? body.querySelector("fieldset:last-of-type") : null;
    if (parked && parked.nextSibling) { body.insertBefore(fieldset, parked.nextSibling); }
    else { body.appendChild(fieldset); }
  }
  buildRuleLegend();

  var days = document.getElementById("fm-min-days");
  if (days) {
    days.addEventListener("input", function () {
      var n = parseFloat(days.value);
      minParkedMs = isFinite(n) && n > 0 ? n * DAY_MS : 0;
      refilter();
    });
  }

  refresh();
  window.setInterval(refresh, config.refreshSeconds * 1000);
})();
