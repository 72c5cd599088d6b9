// Runs fleet_monitor/web/static/js/map.js against minimal stubs of the DOM and
// Leaflet, feeds it two successive /api/vehicles answers, and prints what it
// drew as JSON. Usage: node harness.js map.js config.json responses.json
"use strict";
const fs = require("fs");
const [script, configPath, responsesPath] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
const responses = JSON.parse(fs.readFileSync(responsesPath, "utf8"));

function element(tag) {
  return {
    tag, children: [], style: {}, attrs: {}, textContent: "", classes: new Set(),
    classList: { add(c) { this.owner.classes.add(c); }, remove(c) { this.owner.classes.delete(c); } },
    setAttribute(k, v) { this.attrs[k] = v; }, getAttribute(k) { return this.attrs[k]; },
    appendChild(c) { this.children.push(c); return c; }, append(...c) { this.children.push(...c); },
    addEventListener() {},
    insertRow() { const r = element("tr"); r.insertCell = () => r.appendChild(element("td")); this.children.push(r); return r; },
  };
}
function el(tag) { const e = element(tag); e.classList.owner = e; return e; }
const status = el("span");
const legendList = el("ul");
global.document = {
  getElementById: (id) => (id === "fm-config" ? { textContent: JSON.stringify(config) } : status),
  querySelectorAll: () => [],
  querySelector: (sel) => (sel === ".fm-operators" ? legendList : null),
  createElement: el,
};
global.CSS = { escape: (s) => s };
let refresh = null;
global.window = { location: { search: "" }, setInterval: (fn, ms) => { refresh = fn; global.intervalMs = ms; } };

const groups = [];
const mapOptions = {};
let tileLayers = 0;
class Marker {
  constructor(ll, style) { this.ll = ll; this.style = style; }
  setLatLng(ll) { this.ll = ll; } getLatLng() { return { lat: this.ll[0], lng: this.ll[1] }; }
  setStyle(s) { this.style = s; } bindPopup(fn) { this.popup = fn; } isPopupOpen() { return false; }
}
class Group {
  constructor() { this.layers = new Set(); } addTo() { return this; }
  addLayer(l) { this.layers.add(l); } removeLayer(l) { this.layers.delete(l); }
}
global.L = {
  map: (id, options) => { Object.assign(mapOptions, options); return { setView() { return this; }, removeLayer() {} }; },
  canvas: () => ({ canvas: true }),
  tileLayer: () => { tileLayers += 1; return { addTo() {} }; },
  layerGroup: () => { const g = new Group(); groups.push(g); return g; },
  circleMarker: (ll, style) => new Marker(ll, style),
};
global.fetch = () => Promise.resolve({ ok: true, json: () => Promise.resolve(responses.shift()) });

function snapshot() {
  const markers = groups.flatMap((g) => [...g.layers]);
  return {
    status: status.textContent,
    markers: markers.map((m) => ({
      id: m.feature.id, latlng: m.ll, fillColor: m.style.fillColor, fillOpacity: m.style.fillOpacity,
      canvas: !!(m.style.renderer && m.style.renderer.canvas),
      popup: m.popup(m).children.map((r) => r.children.map((c) => c.textContent)),
    })),
  };
}

eval(fs.readFileSync(script, "utf8"));
setTimeout(() => {
  const first = snapshot();
  refresh().then(() => {
    console.log(JSON.stringify({ mapOptions, tileLayers, intervalMs: global.intervalMs, first, second: snapshot() }));
  });
}, 50);
