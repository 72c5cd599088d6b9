/* Legible at any fleet size: the density view and "colour by parked time".

   At city zoom (DENSITY_ZOOM or less), or when more than MAX_IN_VIEW vehicles
   would be drawn in the view, the vehicles give way to a grid of counts: one
   translucent disc per 64 px cell holding vehicles (area by count, a thick red
   outline when one of them has a violation), so that the zones underneath stay
   visible and a tap on a disc zooms in on it. The discs are Leaflet markers (so
   each is a focusable button for the keyboard); their text is set with
   textContent. The legend's "Display" part chooses the view (automatic, each
   vehicle, density) and the colour (operator or parked time).
   Decision: a grid written here rather than a clustering plugin: nothing to
   vendor, one pass over the vehicles per view change (20,000 in ~10 ms), and
   cells do not move when the data refreshes.
   Sets window.__fleetDensity = {on, cells} for the tests and the bench. */
(function () {
  "use strict";

  var F = window.FleetMap;
  if (!F) { return; }
  var map = F.map;
  var t = F.config.messages;
  var DENSITY_ZOOM = 13;
  var MAX_IN_VIEW = 1200;
  var CELL_PX = 80;
  var mode = "auto";
  var layer = L.layerGroup();
  var on = false;

  function visibleMarkers(bounds) {
    var out = [];
    F.markers.forEach(function (m) {
      var p = m.feature.properties;
      if (F.hidden.has(p.operator) || !F.passes(p)) { return; }
      if (bounds && !bounds.contains(m.getLatLng())) { return; }
      out.push(m);
    });
    return out;
  }

  function wanted() {
    if (mode === "density") { return true; }
    if (mode === "vehicles") { return false; }
    if (map.getZoom() <= DENSITY_ZOOM) { return true; }
    var bounds = map.getBounds();
    var n = 0;
    var over = false;
    F.markers.forEach(function (m) {  // counts only, stops adding past the threshold
      if (over) { return; }
      var p = m.feature.properties;
      if (!F.hidden.has(p.operator) && bounds.contains(m.getLatLng()) && F.passes(p)) {
        n += 1;
        over = n > MAX_IN_VIEW;
      }
    });
    return over;
  }

  function cellIcon(count, violations) {
    var el = document.createElement("span");
    el.className = "fm-cell-count";
    el.textContent = new Intl.NumberFormat(F.config.locale).format(count);
    var size = Math.round(Math.min(60, 26 + 4 * Math.sqrt(count)));
    return L.divIcon({
      html: el, className: "fm-cell" + (violations ? " fm-cell-violation" : ""),
      iconSize: [size, size]
    });
  }

  function draw() {
    layer.clearLayers();
    var bounds = map.getBounds().pad(0.2);
    var cells = new Map();
    visibleMarkers(bounds).forEach(function (m) {
      var ll = m.getLatLng();
      var pt = map.project(ll);
      var key = Math.floor(pt.x / CELL_PX) + ":" + Math.floor(pt.y / CELL_PX);
      var c = cells.get(key);
      if (!c) { c = { n: 0, lat: 0, lng: 0, v: 0 }; cells.set(key, c); }
      c.n += 1;
      c.lat += ll.lat;
      c.lng += ll.lng;
      if (m.feature.properties.violations && m.feature.properties.violations.length) { c.v += 1; }
    });
    cells.forEach(function (c) {
      var centre = L.latLng(c.lat / c.n, c.lng / c.n);
      var label = t.cell.replace("{count}", c.n).replace("{violations}", c.v);
      var marker = L.marker(centre, { icon: cellIcon(c.n, c.v), title: label, alt: label, keyboard: true, riseOnHover: true });
      marker.on("click", function () { map.setView(centre, Math.min(map.getZoom() + 2, 18)); });
      layer.addLayer(marker);
    });
    window.__fleetDensity = { on: true, cells: cells.size };
  }

  function update() {
    var want = wanted();
    if (want !== on) {
      on = want;
      F.setGroupsShown(!on);
      if (on) { layer.addTo(map); } else { map.removeLayer(layer); }
    }
    if (on) { draw(); } else { layer.clearLayers(); window.__fleetDensity = { on: false, cells: 0 }; }
  }

  // Before a large answer is placed, the density view stands in (so that 20,000
  // markers are never handed to the canvas only to be taken off); then the view decides.
  F.onChange(function (what, n) {
    if (what === "loading") {
      if (!on && mode !== "vehicles" && (mode === "density" || map.getZoom() <= DENSITY_ZOOM || n > MAX_IN_VIEW)) {
        on = true;
        F.setGroupsShown(false);
        layer.addTo(map);
      }
      return;
    }
    update();
  });
  map.on("moveend", update);  // after every zoom too (Leaflet fires moveend after zoomend)

  // Legend: the "Display" part (view and colour).
  function select(id, label, options, onChange) {
    var wrap = document.createElement("label");
    wrap.className = "fm-rule-filter";
    var sel = document.createElement("select");
    sel.id = id;
    options.forEach(function (o) {
      var option = document.createElement("option");
      option.value = o[0];
      option.textContent = o[1];
      sel.appendChild(option);
    });
    sel.addEventListener("change", function () { onChange(sel.value); });
    wrap.append(label + " ", sel);
    return wrap;
  }
  var body = document.querySelector(".fm-legend-body");
  if (body) {
    var fieldset = document.createElement("fieldset");
    var title = document.createElement("legend");
    title.textContent = t.display;
    fieldset.appendChild(title);
    fieldset.appendChild(select("fm-view", t.view, [["auto", t["view.auto"]], ["vehicles", t["view.vehicles"]],
      ["density", t["view.density"]]], function (v) { mode = v; update(); }));
    var scale = document.createElement("ul");
    scale.className = "fm-parked-scale";
    scale.hidden = true;
    (F.config.marks.parked || []).forEach(function (c) {
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "fm-swatch";
      sw.style.backgroundColor = c.colour;
      li.append(sw, " " + (t["parked." + c.min_days] || c.min_days));
      scale.appendChild(li);
    });
    fieldset.appendChild(select("fm-colour", t.colour_by, [["operator", t["colour.operator"]],
      ["parked", t["colour.parked"]]], function (v) { F.setColourMode(v); scale.hidden = v !== "parked"; }));
    fieldset.appendChild(scale);
    body.insertBefore(fieldset, body.firstChild);
  }
})();
