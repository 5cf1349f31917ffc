// Graph page: Enter runs the query (Shift+Enter for a newline); hovering the graph shows
// the values at the nearest sample time; hovering a legend entry highlights its series and
// clicking it hides or shows the series.
(function () {
  "use strict";
  var expr = document.getElementById("expr");
  if (expr) {
    expr.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        expr.form.submit();
      }
    });
  }
  // Legend colours come as data attributes: the CSP forbids inline style attributes.
  document.querySelectorAll(".swatch[data-color]").forEach(function (swatch) {
    swatch.style.background = swatch.getAttribute("data-color");
  });
  var svg = document.querySelector("svg.graph");
  if (!svg) { return; }
  function group(i) { return svg.querySelector('g.series[data-series="' + i + '"]'); }
  document.querySelectorAll(".legend li").forEach(function (item) {
    var i = item.getAttribute("data-series");
    item.addEventListener("mouseenter", function () {
      svg.classList.add("focusing");
      group(i).classList.add("focused");
    });
    item.addEventListener("mouseleave", function () {
      svg.classList.remove("focusing");
      group(i).classList.remove("focused");
    });
    item.addEventListener("click", function () {
      var hidden = item.classList.toggle("off");
      group(i).style.display = hidden ? "none" : "";
    });
  });

  var dataEl = document.getElementById("graph-data");
  var box = document.getElementById("hover");
  var cursor = svg.querySelector("line.cursor");
  if (!dataEl || !box || !cursor) { return; }
  var data = JSON.parse(dataEl.textContent);

  function nearestIndex(ts, t) {  // index in sorted ts closest to t
    var lo = 0, hi = ts.length - 1;
    if (hi < 0) { return -1; }
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (ts[mid] < t) { lo = mid + 1; } else { hi = mid; }
    }
    if (lo > 0 && Math.abs(ts[lo - 1] - t) <= Math.abs(ts[lo] - t)) { lo -= 1; }
    return lo;
  }
  function toX(t) { return data.left + (t - data.start) / (data.end - data.start) * (data.right - data.left); }

  svg.addEventListener("mousemove", function (e) {
    var pt = svg.createSVGPoint();
    pt.x = e.clientX; pt.y = e.clientY;
    var p = pt.matrixTransform(svg.getScreenCTM().inverse());
    if (p.x < data.left || p.x > data.right) { box.hidden = true; cursor.setAttribute("visibility", "hidden"); return; }
    var t = data.start + (p.x - data.left) / (data.right - data.left) * (data.end - data.start);
    var best = null;
    data.series.forEach(function (s) {
      var i = nearestIndex(s.t, t);
      if (i >= 0 && (best === null || Math.abs(s.t[i] - t) < Math.abs(best - t))) { best = s.t[i]; }
    });
    if (best === null) { return; }
    var rows = [];
    data.series.forEach(function (s, n) {
      var g = group(n);
      if (g && g.style.display === "none") { return; }
      var i = nearestIndex(s.t, best);
      if (i >= 0 && s.t[i] === best) { rows.push({label: s.label, color: s.color, value: s.v[i]}); }
    });
    rows.sort(function (a, b) { return parseFloat(b.value) - parseFloat(a.value); });
    box.textContent = "";
    var head = document.createElement("div");
    head.className = "time";
    head.textContent = new Date(best).toISOString().replace(".000Z", "Z");
    box.appendChild(head);
    rows.slice(0, 20).forEach(function (r) {
      var row = document.createElement("div");
      row.className = "row";
      var sw = document.createElement("span");
      sw.className = "swatch"; sw.style.background = r.color;
      var label = document.createElement("span"); label.textContent = r.label;
      var val = document.createElement("span"); val.className = "val"; val.textContent = r.value;
      row.appendChild(sw); row.appendChild(label); row.appendChild(val);
      box.appendChild(row);
    });
    var x = toX(best);
    cursor.setAttribute("x1", x); cursor.setAttribute("x2", x);
    cursor.setAttribute("visibility", "visible");
    box.hidden = false;
    var rect = svg.getBoundingClientRect();
    var px = (x / svg.viewBox.baseVal.width) * rect.width;
    var left = px + 14;
    if (left + box.offsetWidth > rect.width) { left = px - 14 - box.offsetWidth; }
    box.style.left = Math.max(0, left) + "px";
  });
  svg.addEventListener("mouseleave", function () {
    box.hidden = true;
    cursor.setAttribute("visibility", "hidden");
  });
})();
