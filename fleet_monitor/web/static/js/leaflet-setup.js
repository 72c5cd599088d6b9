/* Leaflet defaults for the officers' tablets, loaded right after Leaflet and
   before the folium-generated map: a wider hit area around canvas markers, and
   Leaflet's own control titles in the page's language (from the JSON block
   "fm-leaflet-labels" that base.html writes before the page's scripts). */
(function () {
  "use strict";
  L.Canvas.mergeOptions({ tolerance: 8, padding: 0.5 });

  function labels() {
    var el = document.getElementById("fm-leaflet-labels");
    return el ? JSON.parse(el.textContent) : null;
  }
  function relabel(el, text) {
    if (!el || !text) { return; }
    el.title = text;
    el.setAttribute("aria-label", text);
  }

  L.Map.addInitHook(function () {
    var t = labels();
    if (!t) { return; }
    // Leaflet's prefix links out with an English title: its name only, as text
    if (this.attributionControl) { this.attributionControl.setPrefix("Leaflet"); }
    if (this.zoomControl) {
      relabel(this.zoomControl._zoomInButton, t.zoomIn);
      relabel(this.zoomControl._zoomOutButton, t.zoomOut);
    }
  });

  var layersOnAdd = L.Control.Layers.prototype.onAdd;
  L.Control.Layers.include({
    onAdd: function (map) {
      var container = layersOnAdd.call(this, map);
      var t = labels();
      if (t) { relabel(this._layersLink, t.layers); }
      return container;
    }
  });

  var popupLayout = L.Popup.prototype._initLayout;
  L.Popup.include({
    _initLayout: function () {
      popupLayout.call(this);
      var t = labels();
      if (t && this._closeButton) { relabel(this._closeButton, t.close); }
    }
  });
})();
