/* Leaflet defaults for the officers' tablets, loaded right after Leaflet and
   before the folium-generated map: a wider hit area around canvas markers. */
(function () {
  "use strict";
  L.Canvas.mergeOptions({ tolerance: 8, padding: 0.5 });
})();
