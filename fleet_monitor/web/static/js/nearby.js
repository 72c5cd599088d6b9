/* "Around me": the tablet's position, then the vehicles and open cases within
   100 m from /api/nearby, each list sorted by distance, with a "navigate here"
   geo: link and the case file's link. Text goes in with textContent only. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("fm-nearby-config").textContent);
  var t = config.messages;
  var status = document.getElementById("fm-nearby-status");
  var number = new Intl.NumberFormat(config.locale);

  function metres(m) {
    return new Intl.NumberFormat(config.locale, { style: "unit", unit: "meter", maximumFractionDigits: 0 }).format(m);
  }

  function item(list, parts, links) {
    var li = document.createElement("li");
    var text = document.createElement("span");
    text.textContent = parts.filter(Boolean).join(" · ");
    li.appendChild(text);
    links.forEach(function (l) {
      var a = document.createElement("a");
      a.href = l[0];
      a.className = "fm-button fm-nearby-link";
      a.textContent = l[1];
      li.append(" ", a);
    });
    list.appendChild(li);
  }

  function show(answer, position) {
    var cases = document.getElementById("fm-nearby-cases");
    var vehicles = document.getElementById("fm-nearby-vehicles");
    cases.textContent = "";
    vehicles.textContent = "";
    answer.cases.forEach(function (c) {
      item(cases, [metres(c.distance_m), c.rule, c.operator, c.gbfs_id],
        [[c.url, t.open_case.replace("{id}", c.id)], [c.geo, t.navigate]]);
    });
    answer.vehicles.forEach(function (v) {
      var battery = v.battery_pct === null ? "" : t.battery.replace("{pct}", number.format(v.battery_pct) + " %");
      item(vehicles, [metres(v.distance_m), v.operator, v.vehicle_type, t["state." + v.state] || v.state, v.gbfs_id, battery],
        [[v.geo, t.navigate]]);
    });
    if (!answer.cases.length) { item(cases, [t.none_cases.replace("{radius}", config.radius)], []); }
    if (!answer.vehicles.length) { item(vehicles, [t.none_vehicles.replace("{radius}", config.radius)], []); }
    var time = new Intl.DateTimeFormat(config.locale, { timeZone: config.timezone, timeStyle: "short" })
      .format(new Date(answer.now));
    status.textContent = t.accuracy.replace("{metres}", Math.round(position.coords.accuracy)).replace("{time}", time);
  }

  function locate() {
    status.textContent = t.locating;
    if (!navigator.geolocation) { status.textContent = t.denied; return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      var url = config.url + "?lat=" + encodeURIComponent(position.coords.latitude) +
        "&lon=" + encodeURIComponent(position.coords.longitude);
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (answer) { show(answer, position); window.__fleetNearbyShown = true; })
        .catch(function () { status.textContent = t.load_error; });
    }, function () { status.textContent = t.denied; }, { enableHighAccuracy: true, timeout: 15000 });
  }

  document.getElementById("fm-nearby-refresh").addEventListener("click", locate);
  locate();
})();
