// Runs fleet_monitor/web/static/js/map.js against minimal stubs of the DOM and
// Leaflet (the map object as folium's script would have made it), feeds it
// successive /api/vehicles answers, works the legend's filters, and prints
// what it drew as JSON.
// Usage: node harness.js map.js config.json responses.json NOW_ISO
"use strict";
const fs = require("fs");
const [script, configPath, responsesPath, nowIso] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
const responses = JSON.parse(fs.readFileSync(responsesPath, "utf8"));
const NOW = Date.parse(nowIso);
Date.now = () => NOW;

function el(tag) {
  const e = {
    tag, children: [], style: {}, attrs: {}, textContent: "", classes: new Set(), listeners: {},
    checked: true, value: "",
    setAttribute(k, v) { this.attrs[k] = v; }, getAttribute(k) { return this.attrs[k]; },
    appendChild(c) { this.children.push(c); return c; }, append(...c) { this.children.push(...c); },
    addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); },
    fire(type) { (this.listeners[type] || []).forEach((fn) => fn()); },
    insertRow() { const r = el("tr"); r.insertCell = () => r.appendChild(el("td")); this.children.push(r); return r; },
  };
  e.classList = { add: (c) => e.classes.add(c), remove: (c) => e.classes.delete(c) };
  return e;
}
const status = el("span");
const legendList = el("ul");
const legendBody = el("div");
const minDays = el("input");
const stateInputs = ["available", "reserved", "disabled"].map((s) => {
  const input = el("input");
  input.setAttribute("data-state", s);
  return input;
});
global.document = {
  getElementById: (id) => ({ "fm-config": { textContent: JSON.stringify(config) }, "fm-status": status,
                             "fm-min-days": minDays })[id] || null,
  querySelectorAll: (sel) => (sel === "input[data-state]" ? stateInputs : []),
  querySelector: (sel) => ({ ".fm-operators": legendList, ".fm-legend-body": legendBody })[sel] || null,
  createElement: el,
};
global.CSS = { escape: (s) => s };
let refresh = null;
let intervalMs = null;
global.window = { setInterval: (fn, ms) => { refresh = fn; intervalMs = ms; }, location: { reload() {} } };

const groups = [];
const controls = [];
const mapEvents = {};
const onMap = new Set();
class Marker {
  constructor(ll, style) { this.ll = ll; this.style = style; }
  setLatLng(ll) { this.ll = ll; } getLatLng() { return { lat: this.ll[0], lng: this.ll[1] }; }
  setStyle(s) { this.style = s; } bindPopup(fn) { this.popup = fn; return this; } isPopupOpen() { return false; }
  bindTooltip() { return this; }
  on(type, fn) { this.handlers = this.handlers || {}; this.handlers[type] = fn; return this; }
  getPopup() { return this.popup; }
}
class Group {
  constructor() { this.layers = new Set(); }
  addTo() { onMap.add(this); return this; }
  addLayer(l) { this.layers.add(l); } removeLayer(l) { this.layers.delete(l); }
  hasLayer(l) { return this.layers.has(l); } getLayers() { return [...this.layers]; }
}
const map = {
  removeLayer(g) { onMap.delete(g); },
  on(types, fn) { types.split(" ").forEach((t) => { mapEvents[t] = fn; }); },
  locate(options) { this.located = options; },
};
global.window[config.mapVar] = map;
global.L = {
  layerGroup: () => { const g = new Group(); groups.push(g); return g; },
  circleMarker: (ll, style) => new Marker(ll, style),
  circle: (ll, style) => new Marker(ll, style),
  Control: { extend: (proto) => function () { this.addTo = (m) => { controls.push(proto.onAdd.call(this, m)); return this; }; } },
  DomUtil: { create: (tag, cls, parent) => { const e = el(tag); e.className = cls; if (parent) { parent.appendChild(e); } return e; } },
  DomEvent: { on: (e, type, fn) => e.addEventListener(type, fn), disableClickPropagation() {}, preventDefault() {} },
};
global.fetch = () => Promise.resolve({ ok: true, status: 200, json: () => Promise.resolve(responses.shift()) });

function find(node, tag) {
  if (node.tag === tag) { return node; }
  for (const c of node.children || []) { if (typeof c === "object") { const f = find(c, tag); if (f) { return f; } } }
  return null;
}
function text(node) {
  if (typeof node !== "object") { return String(node); }
  return node.textContent + (node.children || []).map(text).join("");
}
function links(node) {
  if (typeof node !== "object") { return []; }
  const own = node.tag === "a" ? [{ href: node.href, text: node.textContent }] : [];
  return own.concat(...(node.children || []).map(links));
}

function snapshot() {
  const markers = groups.filter((g) => onMap.has(g)).flatMap((g) => [...g.layers]);
  return {
    status: status.textContent,
    markers: markers.map((m) => ({
      id: m.feature.id, latlng: m.ll, fillColor: m.style.fillColor, fillOpacity: m.style.fillOpacity,
      renderer: m.style.renderer === undefined ? null : "own",
      popup: (m.popup || global.window.FleetMap.popupContent)(m).children.map((r) => r.children.map(text)),
      links: links((m.popup || global.window.FleetMap.popupContent)(m)),
      color: m.style.color, weight: m.style.weight, dashArray: m.style.dashArray || null,
    })),
  };
}

eval(fs.readFileSync(script, "utf8"));
setTimeout(() => {
  const out = { intervalMs, first: snapshot() };
  stateInputs[2].checked = false;  // hide disabled vehicles
  stateInputs[2].fire("change");
  out.noDisabled = snapshot();
  stateInputs[2].checked = true;
  stateInputs[2].fire("change");
  minDays.value = "3";  // parked for at least 3 days
  minDays.fire("input");
  out.threeDays = snapshot();
  minDays.value = "";
  minDays.fire("input");
  const rule = find(legendBody, "select");
  if (rule) {
    out.legend = { text: text(legendBody), options: rule.children.map((o) => o.value) };
    for (const value of ["in_water", "*"]) {
      rule.value = value;
      rule.fire("change");
      out["rule:" + value] = snapshot();
    }
    rule.value = "";
    rule.fire("change");
  }
  const button = controls[0].children[0];
  button.fire("click");
  out.locate = { label: button.attrs["aria-label"], options: map.located };
  refresh().then(() => {
    out.second = snapshot();
    console.log(JSON.stringify(out));
  });
}, 50);
