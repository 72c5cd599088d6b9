/* Violation marks with shapes as well as colours (fleet_monitor/web/map_marks.py).
   A marker drawn on Leaflet's canvas as a shape: a white halo, the outline in the
   rule's colour over a white inside, and the vehicle's base colour as a dot in the
   middle, so that the outline meets only white whatever lies around it.
   Exposes window.FleetShapes = {points, marker, svg} (loaded before map.js). */
(function () {
  "use strict";

  // Vertices of a shape of radius r around (cx, cy), in screen pixels (y down).
  function points(shape, cx, cy, r) {
    function regular(n, start, rad) {
      var out = [];
      for (var i = 0; i < n; i++) {
        var a = start + i * 2 * Math.PI / n;
        out.push([cx + rad * Math.cos(a), cy + rad * Math.sin(a)]);
      }
      return out;
    }
    var up = -Math.PI / 2;
    switch (shape) {
      case "triangle": return regular(3, up, r * 1.15);
      case "triangle_down": return regular(3, Math.PI / 2, r * 1.15);
      case "square": return regular(4, Math.PI / 4, r * 1.05);
      case "diamond": return regular(4, up, r * 1.15);
      case "pentagon": return regular(5, up, r * 1.05);
      case "hexagon": return regular(6, 0, r);
      case "octagon": return regular(8, Math.PI / 8, r * 1.05);
      case "star": {
        var out = [];
        for (var i = 0; i < 10; i++) {
          var a = up + i * Math.PI / 5, rad = i % 2 ? r * 0.55 : r * 1.2;
          out.push([cx + rad * Math.cos(a), cy + rad * Math.sin(a)]);
        }
        return out;
      }
      case "cross": {
        var w = r * 0.42, l = r * 1.05;
        return [[cx - w, cy - l], [cx + w, cy - l], [cx + w, cy - w], [cx + l, cy - w], [cx + l, cy + w],
                [cx + w, cy + w], [cx + w, cy + l], [cx - w, cy + l], [cx - w, cy + w], [cx - l, cy + w],
                [cx - l, cy - w], [cx - w, cy - w]];
      }
      default: return regular(4, Math.PI / 4, r);
    }
  }

  function tracePath(ctx, pts) {
    ctx.beginPath();
    pts.forEach(function (q, i) { if (i) { ctx.lineTo(q[0], q[1]); } else { ctx.moveTo(q[0], q[1]); } });
    ctx.closePath();
  }

  // An inline SVG of a shape, for the legend (built with DOM calls, no markup strings).
  function svg(shape, colour, halo, dashed) {
    var NS = "http://www.w3.org/2000/svg";
    if (!document.createElementNS) { return document.createElement("span"); }
    var el = document.createElementNS(NS, "svg");
    el.setAttribute("width", "26");
    el.setAttribute("height", "26");
    el.setAttribute("viewBox", "0 0 26 26");
    el.setAttribute("aria-hidden", "true");
    el.setAttribute("class", "fm-shape");
    var d = points(shape, 13, 13, 8).map(function (q) { return q[0].toFixed(1) + "," + q[1].toFixed(1); }).join(" ");
    var back = document.createElementNS(NS, "polygon");
    back.setAttribute("points", d);
    back.setAttribute("fill", halo);
    back.setAttribute("stroke", halo);
    back.setAttribute("stroke-width", "7");
    var front = document.createElementNS(NS, "polygon");
    front.setAttribute("points", d);
    front.setAttribute("fill", halo);
    front.setAttribute("stroke", colour);
    front.setAttribute("stroke-width", "3");
    if (dashed) { front.setAttribute("stroke-dasharray", "4 3"); }
    el.appendChild(back);
    el.appendChild(front);
    return el;
  }

  var marker = function (latlng, style) { return L.circleMarker(latlng, style); };
  if (window.L && L.Canvas && L.CircleMarker && L.CircleMarker.extend) {
    L.Canvas.include({
      _updateFmShape: function (layer) {
        if (!this._drawing || layer._empty()) { return; }
        var p = layer._point, ctx = this._ctx, o = layer.options;
        var r = Math.max(Math.round(layer._radius), 1);
        var pts = points(o.shape, p.x, p.y, r);
        tracePath(ctx, pts);
        ctx.setLineDash([]);
        ctx.globalAlpha = 1;
        ctx.lineJoin = "round";
        ctx.lineWidth = o.weight + 4;
        ctx.strokeStyle = o.halo || "#ffffff";
        ctx.stroke();
        this._fillStroke(ctx, layer);
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.arc(p.x, p.y, Math.max(2.5, r * 0.42), 0, Math.PI * 2, false);
        ctx.globalAlpha = 1;
        ctx.fillStyle = o.dotColour || o.color;
        ctx.fill();
      }
    });
    var ShapeMarker = L.CircleMarker.extend({
      _updatePath: function () {
        if (this.options.shape && this._renderer._updateFmShape) { this._renderer._updateFmShape(this); }
        else { L.CircleMarker.prototype._updatePath.call(this); }
      }
    });
    marker = function (latlng, style) { return new ShapeMarker(latlng, style); };
  }

  window.FleetShapes = { points: points, marker: marker, svg: svg };
})();
