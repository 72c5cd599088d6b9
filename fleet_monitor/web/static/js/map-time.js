/* The map as of a time: a slider over the last 7 days (hour steps) in the legend
   redraws the vehicles and their violations as they were, from the stored
   history (/api/vehicles?at=...). "Now" goes back to the live map, which the
   30-second refresh then keeps current; the past view is not refreshed. */
(function () {
  "use strict";
  var F = window.FleetMap;
  var body = document.querySelector(".fm-legend-body");
  if (!F || !body) { return; }
  var t = F.config.messages;
  var HOURS = 7 * 24;
  var banner = document.getElementById("fm-asof");

  function label(ms) {
    return new Intl.DateTimeFormat(F.config.locale, {
      timeZone: F.config.timezone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"
    }).format(new Date(ms));
  }

  var fieldset = document.createElement("fieldset");
  var title = document.createElement("legend");
  title.textContent = t.time;
  fieldset.appendChild(title);
  var wrap = document.createElement("label");
  wrap.className = "fm-time";
  var range = document.createElement("input");
  range.type = "range";
  range.id = "fm-time";
  range.min = String(-HOURS);
  range.max = "0";
  range.step = "1";
  range.value = "0";
  var shown = document.createElement("output");
  shown.setAttribute("for", "fm-time");
  shown.textContent = t.live;
  wrap.append(t.time_help + " ", range, " ", shown);
  fieldset.appendChild(wrap);
  var now = document.createElement("button");
  now.type = "button";
  now.id = "fm-time-now";
  now.textContent = t.back_to_live;
  fieldset.appendChild(now);
  body.appendChild(fieldset);

  var base = null;  // the service's time when the slider was first moved (hour steps from it)
  function apply() {
    var hours = parseInt(range.value, 10) || 0;
    if (hours === 0) {
      base = null;
      shown.textContent = t.live;
      range.setAttribute("aria-valuetext", t.live);
      if (banner) { banner.hidden = true; }
      F.setAsOf(null);
      return;
    }
    if (base === null) { base = F.serviceNow(); }
    var at = base + hours * 3600000;
    var text = label(at);
    shown.textContent = text;
    range.setAttribute("aria-valuetext", text);
    if (banner) { banner.textContent = t.as_of.replace("{time}", text); banner.hidden = false; }
    F.setAsOf(new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z"));
  }
  range.addEventListener("change", apply);
  now.addEventListener("click", function () { range.value = "0"; apply(); });
})();
