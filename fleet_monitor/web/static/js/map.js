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
  // The service's clock (the demo's simulated one included): every duration is
  // computed against it, never against the browser's clock. The offset is taken
  // from the page's config, then from each /api/vehicles answer ("now").
  var clockOffset = config.now ? Date.parse(config.now) - Date.now() : 0;
  function serviceNow() { return Date.now() + clockOffset; }
  var marks = config.marks || { rules: [], other: ["#444444", "square"], halo: "#ffffff", parked: [], stale: "#8a8a8a" };
  var health = {};              // operator slug -> {data_at, age_s, outage_since}
  var colourMode = "operator";  // or "parked": colour by parked time

  var markers = new Map();      // feature id -> circleMarker
  var groups = new Map();       // operator slug -> layerGroup
  var hidden = new Set();       // operator slugs switched off in the legend
  var hiddenStates = new Set(); // states switched off
  var minParkedMs = 0;          // "parked for at least N days"
  var ruleFilter = "";          // "" all vehicles, "*" any violation, else a rule type
  var total = 0;
  var positionless = 0;  // vehicles listed without a position (not drawn)
  var asOf = null;              // an ISO time: the map as it was (map-time.js); null: live
  var groupsShown = true;       // false while the density view (map-density.js) stands in
  var hooks = [];               // listeners of map-density.js and map-list.js
  function notify(what, n) { hooks.forEach(function (fn) { fn(what, n); }); }

  function colourOf(slug) {
    if (config.colours[slug]) { return config.colours[slug]; }
    var h = 0;
    for (var i = 0; i < slug.length; i++) { h = (h * 31 + slug.charCodeAt(i)) >>> 0; }
    config.colours[slug] = config.fallbackColours[h % config.fallbackColours.length];
    return config.colours[slug];
  }

  // Vehicle rules, most urgent first: names, colours and order from the server's rule
  // registry (rules/registry.py); the shape of each rule's mark from map_marks.py
  // (colours contrast-checked by tests/web/test_map_marks.py).
  var RULES = config.rules || [];
  var RULE_COLOURS = {};
  var RULE_SHAPES = {};
  var RULE_RANK = {};
  var RULE_NAMES = {};
  RULES.forEach(function (r, i) {
    RULE_COLOURS[r.id] = r.colour; RULE_RANK[r.id] = i; RULE_NAMES[r.id] = r.symbol + " " + r.label;
    RULE_SHAPES[r.id] = (marks.shapes || {})[r.id] || marks.other[1];
  });
  var OTHER_RULE_COLOUR = marks.other[0];
  var OTHER_RULE_SHAPE = marks.other[1];
  var newMarker = window.FleetShapes ? window.FleetShapes.marker : L.circleMarker;

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

  function isStale(slug) { return !!(health[slug] && health[slug].outage_since); }

  function parkedColour(props) {
    var ms = parkedMs(props);
    var colour = marks.parked.length ? marks.parked[0].colour : "#555555";
    marks.parked.forEach(function (c) { if (ms !== null && ms >= c.min_days * DAY_MS) { colour = c.colour; } });
    return colour;
  }

  function parkedClass(props) {
    var ms = parkedMs(props);
    var k = 0;
    marks.parked.forEach(function (c, i) { if (ms !== null && ms >= c.min_days * DAY_MS) { k = i; } });
    return k;
  }

  // Base colour: the operator's, or the parked-time class on demand; grey while the
  // operator's feed is in an outage (last known positions). A violation draws the
  // vehicle as its rule's shape: outline in the rule's colour over a white halo,
  // white inside, the base colour as a dot in the middle (map_marks.py).
  function styleFor(props) {
    var stale = isStale(props.operator);
    var colour = stale ? marks.stale : (colourMode === "parked" ? parkedColour(props) : colourOf(props.operator));
    var style = { radius: 8, color: colour, weight: 1.5, fillColor: colour, fillOpacity: 0.85, shape: null, dashArray: null, opacity: 1 };
    if (props.state === "reserved") { style.fillOpacity = 0.35; style.weight = 2; }
    if (props.state === "disabled") { style.fillColor = "#ffffff"; style.fillOpacity = 1; style.weight = 3; }
    if (stale) { style.fillOpacity = 0.45; style.dashArray = "2 2"; }
    var main = mainViolation(props);
    if (main) {
      style.radius = 13;
      style.weight = 3;
      style.color = RULE_COLOURS[main.rule_type] || OTHER_RULE_COLOUR;
      style.shape = RULE_SHAPES[main.rule_type] || OTHER_RULE_SHAPE;
      style.fillColor = marks.halo;
      style.fillOpacity = 1;
      style.halo = marks.halo;
      style.dotColour = colour;
      if (main.status === "uncertain") { style.dashArray = "4 3"; }
    }
    return style;
  }

  function styleKey(props) {
    return [props.state, props.operator, violationsKey(props), isStale(props.operator),
            colourMode === "parked" ? parkedClass(props) : ""].join("|");
  }

  function groupFor(slug) {
    var group = groups.get(slug);
    if (!group) {
      group = L.layerGroup();
      groups.set(slug, group);
      if (!hidden.has(slug) && groupsShown) { group.addTo(map); }
      ensureLegendEntry(slug);
    }
    return group;
  }

  function parkedMs(props) {
    return props.parked_since ? serviceNow() - Date.parse(props.parked_since) : null;
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

  function formatTime(iso) {
    return new Intl.DateTimeFormat(config.locale, { timeZone: config.timezone, timeStyle: "short" })
      .format(new Date(iso));
  }

  function formatAge(seconds) {
    var minutes = Math.round(seconds / 60);
    var unit = seconds >= 172800 ? "day" : minutes >= 120 ? "hour" : "minute";
    var value = unit === "day" ? seconds / 86400 : unit === "hour" ? seconds / 3600 : minutes;
    return new Intl.NumberFormat(config.locale, {
      style: "unit", unit: unit, unitDisplay: "long", maximumFractionDigits: unit === "day" ? 1 : 0
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
    if (isStale(p.operator) && health[p.operator].data_at) {
      var warn = table.insertRow();
      warn.className = "fm-stale";
      var cell0 = warn.insertCell();
      cell0.colSpan = 2;
      cell0.textContent = t.last_known.replace("{time}", formatTime(health[p.operator].data_at));
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

  function openPopup(e) {
    var marker = e && e.target ? e.target : e;
    if (!marker.getPopup()) { marker.bindPopup(popupContent); }
    marker.openPopup();
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
      .format(new Date(serviceNow()));
    var number = new Intl.NumberFormat(config.locale);
    var text = t.status.replace("{shown}", number.format(shown))
      .replace("{total}", number.format(total)).replace("{time}", now);
    if (positionless > 0) {  // listed without a position: counted apart, never hidden
      text += " · " + t.positionless.replace("{n}", number.format(positionless));
    }
    statusEl.textContent = text;
    statusEl.classList.remove("fm-error");
  }

  // Data health: each operator's data age in the legend; during an outage, a banner.
  function showHealth(operators) {
    var before = JSON.stringify(Object.keys(health).filter(isStale).sort());
    health = operators || {};
    var banner = document.getElementById("fm-outage");
    var lines = [];
    Object.keys(health).sort().forEach(function (slug) {
      var h = health[slug];
      if (h.outage_since) {
        lines.push(t.outage.replace("{operator}", config.names[slug] || slug)
          .replace("{since}", formatTime(h.outage_since))
          .replace("{time}", h.data_at ? formatTime(h.data_at) : t.unknown));
      }
    });
    if (banner) {
      banner.textContent = "";
      lines.forEach(function (line) {
        var p = document.createElement("p");
        p.textContent = line;
        banner.appendChild(p);
      });
      banner.hidden = lines.length === 0;
    }
    document.querySelectorAll("[data-age-for]").forEach(function (el) {
      var h = health[el.getAttribute("data-age-for")];
      el.textContent = h && h.age_s !== null && h.age_s !== undefined ? t.data_age.replace("{age}", formatAge(h.age_s)) : "";
      if (el.classList) { el.classList[h && h.outage_since ? "add" : "remove"]("fm-stale-age"); }
    });
    return before !== JSON.stringify(Object.keys(health).filter(isStale).sort());
  }

  function apply(collection) {
    var started = window.performance ? window.performance.now() : 0;
    if (collection.now) { clockOffset = Date.parse(collection.now) - Date.now(); }
    showHealth(collection.operators);
    notify("loading", collection.features.length);  // lets the density view stand in first
    var seen = new Set();
    collection.features.forEach(function (feature) {
      var id = feature.id;
      var props = feature.properties;
      var c = feature.geometry.coordinates;
      var latlng = [c[1], c[0]];
      seen.add(id);
      var marker = markers.get(id);
      if (!marker) {
        marker = newMarker(latlng, styleFor(props));
        marker.feature = feature;
        marker.fmKey = styleKey(props);
        marker.on("click", openPopup);  // the popup is made on the first tap (20,000 markers)
        markers.set(id, marker);
        place(marker);
        return;
      }
      var old = marker.feature.properties;
      marker.feature = feature;
      if (old.operator !== props.operator) { groupFor(old.operator).removeLayer(marker); }
      var ll = marker.getLatLng();
      if (ll.lat !== latlng[0] || ll.lng !== latlng[1]) { marker.setLatLng(latlng); }
      var key = styleKey(props);
      if (key !== marker.fmKey) { marker.fmKey = key; marker.setStyle(styleFor(props)); }
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
    positionless = typeof collection.positionless === "number" ? collection.positionless : 0;
    showStatus();
    notify("drawn");
    if (window.__fleetVehiclesDrawnAt === undefined) {
      window.__fleetApplyMs = (window.performance ? window.performance.now() : 0) - started;
      window.__fleetVehiclesDrawn = markers.size;
      window.__fleetVehiclesDrawnAt = window.performance ? window.performance.now() : Date.now();
    }
  }

  function refresh() {
    var query = [];
    if (config.operator) { query.push("operator=" + encodeURIComponent(config.operator)); }
    if (asOf) { query.push("at=" + encodeURIComponent(asOf)); }
    var url = config.vehiclesUrl + (query.length ? "?" + query.join("&") : "");
    var asked = window.performance ? window.performance.now() : 0;
    return fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (window.__fleetFetchStartedAt === undefined) { window.__fleetFetchStartedAt = asked; }
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
    notify("filter");
  }

  // Legend: colour swatches (set here: the CSP forbids inline style attributes) and toggles.
  function bindToggle(input) {
    input.addEventListener("change", function () {
      var slug = input.getAttribute("data-operator");
      var group = groups.get(slug);
      if (input.checked) { hidden.delete(slug); if (group && groupsShown) { group.addTo(map); } }
      else { hidden.add(slug); if (group) { map.removeLayer(group); } }
      showStatus();
      notify("filter");
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

  // On phones and tablets (up to 1024 px wide, either way round) the legend starts
  // folded (one tap on its title opens it): open, it would hide a third of the map.
  var legend = document.getElementById("fm-legend");
  if (legend && window.matchMedia && window.matchMedia("(max-width: 64.1rem)").matches) {
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
    var shapes = window.FleetShapes;
    RULES.forEach(function (r) {
      var li = document.createElement("li");
      var mark = shapes ? shapes.svg(RULE_SHAPES[r.id], r.colour, marks.halo, false) : document.createElement("span");
      li.append(mark, " " + ruleName(r.id));
      list.appendChild(li);
    });
    var li = document.createElement("li");
    var dashed = shapes ? shapes.svg("square", "#444444", marks.halo, true) : document.createElement("span");
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

  // For map-density.js (density view, colour by parked time) and map-list.js (list view).
  window.FleetMap = {
    map: map, config: config, markers: markers, groups: groups, hidden: hidden,
    passes: passes, isStale: isStale, mainViolation: mainViolation, ruleName: ruleName,
    parkedMs: parkedMs, formatDuration: formatDuration, serviceNow: serviceNow,
    openPopup: openPopup, popupContent: popupContent,
    onChange: function (fn) { hooks.push(fn); },
    setColourMode: function (mode) {
      colourMode = mode;
      markers.forEach(function (m) {
        m.fmKey = styleKey(m.feature.properties);
        m.setStyle(styleFor(m.feature.properties));
      });
    },
    setAsOf: function (iso) { asOf = iso; return refresh(); },
    liveNow: function () { return asOf ? null : serviceNow(); },
    setGroupsShown: function (shown) {
      groupsShown = shown;
      groups.forEach(function (group, slug) {
        if (shown && !hidden.has(slug)) { group.addTo(map); } else { map.removeLayer(group); }
      });
    }
  };

  refresh();
  // the live map is kept current; a past view (map-time.js) is not refetched
  window.setInterval(function () { return asOf ? Promise.resolve() : refresh(); }, config.refreshSeconds * 1000);
})();
