/* A keyboard- and screen-reader-reachable list of the vehicles on screen.

   The vehicles are drawn on a canvas, which neither a keyboard nor a screen
   reader can reach: the folded panel "Vehicles on screen" (a <details> in the
   page) lists those in the view that pass the legend's filters, violations
   first then the longest parked, up to MAX_ROWS; each row is a button that
   centres the map on the vehicle and opens its popup. Text goes in with
   textContent only. Refreshed when the view or the data changes, while open. */
(function () {
  "use strict";

  var F = window.FleetMap;
  var panel = document.getElementById("fm-list");
  if (!F || !panel) { return; }
  var map = F.map;
  var t = F.config.messages;
  var MAX_ROWS = 100;
  var list = panel.querySelector("ol");
  var more = panel.querySelector(".fm-list-more");
  var count = panel.querySelector(".fm-list-count");

  function onScreen(sorted) {
    var bounds = map.getBounds();
    var out = [];
    F.markers.forEach(function (m) {
      var p = m.feature.properties;
      if (F.hidden.has(p.operator) || !F.passes(p) || !bounds.contains(m.getLatLng())) { return; }
      out.push(m);
    });
    if (!sorted) { return out; }  // folded: only the count is shown
    out.sort(function (a, b) {
      var va = a.feature.properties.violations ? 1 : 0, vb = b.feature.properties.violations ? 1 : 0;
      if (va !== vb) { return vb - va; }
      return (F.parkedMs(b.feature.properties) || 0) - (F.parkedMs(a.feature.properties) || 0);
    });
    return out;
  }

  function describe(m) {
    var p = m.feature.properties;
    var parts = [F.config.names[p.operator] || p.operator, p.gbfs_id, t["state." + p.state] || p.state];
    var ms = F.parkedMs(p);
    if (ms !== null) { parts.push(t.parked_for + " " + F.formatDuration(ms)); }
    var main = F.mainViolation(p);
    if (main) { parts.push(t.violation + ": " + F.ruleName(main.rule_type)); }
    if (F.isStale(p.operator)) { parts.push(t.last_known.replace("{time}", "").replace(/\s*$/, "")); }
    return parts.join(" · ");
  }

  function render() {
    var rows = onScreen(panel.open);
    count.textContent = "(" + new Intl.NumberFormat(F.config.locale).format(rows.length) + ")";
    if (!panel.open) { return; }
    list.textContent = "";
    rows.slice(0, MAX_ROWS).forEach(function (m) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "fm-list-item";
      button.textContent = describe(m);
      button.addEventListener("click", function () {
        map.setView(m.getLatLng(), Math.max(map.getZoom(), 17), { animate: false });
        if (map.hasLayer(m)) { F.openPopup(m); }
      });
      li.appendChild(button);
      list.appendChild(li);
    });
    more.textContent = rows.length === 0 ? t.list_empty
      : rows.length > MAX_ROWS ? t.list_more.replace("{count}", rows.length - MAX_ROWS) : "";
  }

  F.onChange(render);
  map.on("moveend", render);
  panel.addEventListener("toggle", render);
})();
