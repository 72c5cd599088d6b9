/* Draws the data of a folium map skeleton (live map, case file map, density map).

   folium's inline script only creates the map, its tiles and scale; everything
   from the database comes here as JSON in <script type="application/json"
   id="fm-map-data"> (never as script) and every text is shown with textContent:
   a zone name or vehicle id is never parsed as HTML.

   The data (see fleet_monitor/web/folium_map.py, case_map.py, stats_map.py):
     mapVar       the global made by folium's script;
     zones        [{kind, css, label, count, shown, style, features}]: a GeoJSON
                  layer per zone kind, feature tooltips from properties.label;
     zoneControl  a layer control listing the zone layers;
     stays, path, violation, violationColour: a case file's positions;
     areas, areaStyle: density choropleth (properties.fill, properties.label);
     fit          {padDeg, maxZoom}: fit the map to what was drawn.
   Sets window.__fleetMapLayersDrawn = true when done (for the tests). */
(function () {
  "use strict";

  var holder = document.getElementById("fm-map-data");
  if (!holder) { return; }
  var data = JSON.parse(holder.textContent);
  var map = window[data.mapVar];
  if (!map) { return; }
  var drawn = [];

  function textTooltip(layer, text, options) {
    if (typeof text !== "string" || !text) { return; }
    layer.bindTooltip(function () {
      var el = document.createElement("span");
      el.textContent = text;
      return el;
    }, options || { sticky: true });
  }

  // Leaflet's layer control inserts each layer's name as HTML: this one is given
  // an object {text, css, kind, count} and writes it with textContent instead.
  var TextLayers = L.Control.Layers.extend({
    _addItem: function (obj) {
      var entry = obj.name;
      var label = L.Control.Layers.prototype._addItem.call(this, L.extend({}, obj, { name: "" }));
      var input = label.querySelector("input");
      var nameEl = input && input.nextSibling ? input.nextSibling : label;
      nameEl.textContent = " ";
      var swatch = document.createElement("span");
      swatch.className = "fm-zone-swatch fm-zone-" + entry.css;
      // the kind's colours, from the style the server sends (rules/registry.py)
      var st = entry.style || {};
      if (st.color) { swatch.style.borderColor = st.color; }
      if (st.dashArray) { swatch.style.borderStyle = "dashed"; }
      if (/^#[0-9a-fA-F]{6}$/.test(st.fillColor || "") && st.fillOpacity !== 0) {
        swatch.style.backgroundColor = st.fillColor + "66";  // 40 % opaque
      }
      var text = document.createElement("span");
      text.className = "fm-zone-label";
      text.setAttribute("data-zone-kind", entry.kind);
      text.textContent = entry.text + " (" + entry.count + ")";
      nameEl.appendChild(swatch);
      nameEl.appendChild(text);
      return label;
    }
  });

  function drawZones(zones, withControl) {
    var control = withControl && zones.length ? new TextLayers(null, null, { collapsed: true, position: "topright" }) : null;
    zones.forEach(function (z) {
      var style = z.style;
      var layer = L.geoJSON({ type: "FeatureCollection", features: z.features }, {
        style: function () { return style; },
        onEachFeature: function (feature, l) { textTooltip(l, feature.properties && feature.properties.label); }
      });
      if (z.shown) { layer.addTo(map); }
      if (control) { control.addOverlay(layer, { text: z.label, css: z.css, kind: z.kind, count: z.count, style: style }); }
    });
    if (control) { control.addTo(map); }
  }

  function drawStays() {
    if (data.path && data.path.length > 1) {
      drawn.push(L.polyline(data.path, { color: "#444444", weight: 2, opacity: 0.7, dashArray: "4 4" }).addTo(map));
    }
    (data.stays || []).forEach(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: 7, color: p.colour, fill: true, fillColor: p.colour, fillOpacity: 0.6
      }).addTo(map);
      marker.options.fmKind = "stay";
      textTooltip(marker, p.label, {});
      drawn.push(marker);
    });
    var v = data.violation;
    if (v) {
      var ring = L.circleMarker([v.lat, v.lon], {
        radius: 11, color: data.violationColour, weight: 3, fill: false
      }).addTo(map);
      ring.options.fmKind = "violation";
      textTooltip(ring, v.label, {});
      drawn.push(ring);
    }
  }

  function drawAreas() {
    var base = data.areaStyle;
    var layer = L.geoJSON(data.areas, {
      style: function (feature) { return L.extend({}, base, { fillColor: feature.properties.fill }); },
      onEachFeature: function (feature, l) { textTooltip(l, feature.properties && feature.properties.label); }
    }).addTo(map);
    drawn.push(layer);
  }

  function fit() {
    var bounds = L.latLngBounds([]);
    drawn.forEach(function (layer) {
      if (layer.getBounds) { bounds.extend(layer.getBounds()); }
      else if (layer.getLatLng) { bounds.extend(layer.getLatLng()); }
    });
    if (!bounds.isValid()) { return; }
    var pad = data.fit.padDeg || 0;
    var sw = bounds.getSouthWest(), ne = bounds.getNorthEast();
    map.fitBounds([[sw.lat - pad, sw.lng - pad], [ne.lat + pad, ne.lng + pad]], { maxZoom: data.fit.maxZoom, animate: false });
  }

  // zones under the positions; the view is fitted to the positions (or areas), not the zones
  if (data.zones) { drawZones(data.zones, !!data.zoneControl); }
  if (data.stays || data.violation) { drawStays(); }
  if (data.areas) { drawAreas(); }
  if (data.fit) { fit(); }
  window.__fleetMapLayersDrawn = true;
})();
