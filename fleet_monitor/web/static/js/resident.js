/* The residents' report page: a position from the phone or a tap on the map, and a
   photo shrunk in the browser before upload (the server re-encodes it anyway).
   Configuration comes as JSON in #fm-resident-config (no inline script: strict CSP). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("fm-resident-config").textContent);
  var t = config.texts;
  var latInput = document.getElementById("fm-lat");
  var lonInput = document.getElementById("fm-lon");
  var sourceInput = document.getElementById("fm-position-source");
  var text = document.getElementById("fm-position-text");
  var map = L.map("fm-resident-map").setView(config.center, config.zoom);
  if (config.tileUrl) {
    var options = { attribution: config.attribution, maxZoom: config.tileOptions.maxZoom || 19 };
    if (config.tileOptions.maxNativeZoom) { options.maxNativeZoom = config.tileOptions.maxNativeZoom; }
    if (config.tileOptions.minNativeZoom) { options.minNativeZoom = config.tileOptions.minNativeZoom; }
    L.tileLayer(config.tileUrl, options).addTo(map);
  } else if (config.streetsUrl) {  // the city's own street layer (no tiles configured)
    fetch(config.streetsUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) { L.geoJSON(data, { style: { color: "#8a96a3", weight: 2 }, interactive: false }).addTo(map); }
      })
      .catch(function () { /* the map still takes a tap */ });
  }
  var marker = null;

  function setPosition(lat, lon, source) {
    latInput.value = lat.toFixed(6);
    lonInput.value = lon.toFixed(6);
    sourceInput.value = source;
    text.textContent = t.positionFrom.replace("{lat}", latInput.value).replace("{lon}", lonInput.value);
    if (marker) { marker.setLatLng([lat, lon]); } else { marker = L.marker([lat, lon]).addTo(map); }
  }

  if (latInput.value && lonInput.value) {
    setPosition(parseFloat(latInput.value), parseFloat(lonInput.value), sourceInput.value || "map");
    map.setView([parseFloat(latInput.value), parseFloat(lonInput.value)], 18);
  }
  map.on("click", function (e) { setPosition(e.latlng.lat, e.latlng.lng, "map"); });

  document.getElementById("fm-locate-me").addEventListener("click", function () {
    if (!navigator.geolocation) { text.textContent = t.noPosition; return; }
    navigator.geolocation.getCurrentPosition(function (p) {
      setPosition(p.coords.latitude, p.coords.longitude, "gps");
      map.setView([p.coords.latitude, p.coords.longitude], 18);
    }, function () { text.textContent = t.noPosition; }, { enableHighAccuracy: true, timeout: 15000 });
  });

  // Shrink the photo (longer side 1600 px, JPEG) so that it fits the upload limit.
  var photo = document.getElementById("fm-photo");
  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (!file || !window.createImageBitmap || !window.DataTransfer) { return; }
    createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (!blob) { return; }
        var transfer = new DataTransfer();
        transfer.items.add(new File([blob], "photo.jpg", { type: "image/jpeg" }));
        photo.files = transfer.files;
      }, "image/jpeg", 0.85);
    }).catch(function () { /* the server says what is wrong with it */ });
  });
}());
