// Polls the dashboard's JSON and draws each series as an SVG polyline (no library).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["#2f6fde", "#d9534f", "#2e9e5b", "#c78a00", "#7a4fd0"];
  var body = document.body;
  var source = body.getAttribute("data-source");
  var refresh = Number(body.getAttribute("data-refresh") || 5) * 1000;

  function element(name, attributes) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    return node;
  }

  function draw(svg, lines, unit) {
    var box = svg.viewBox.baseVal;
    var width = box.width, height = box.height;
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var max = 0, sum = 0;
    lines.forEach(function (line) {
      line.values.forEach(function (v) { if (v !== null) { max = Math.max(max, v); sum += v; } });
    });
    var top = max > 0 ? max * 1.1 : 1;
    lines.forEach(function (line, index) {
      // A bucket without requests has no latency (null): the line breaks there, and a
      // lone value is a dot.
      var count = line.values.length;
      var colour = COLOURS[index % COLOURS.length];
      var run = [];
      function close() {
        if (run.length === 1) {
          var xy = run[0].split(",");
          svg.appendChild(element("circle", {
            cx: xy[0], cy: xy[1], r: 2, fill: colour, "data-label": line.label,
          }));
        } else if (run.length > 1) {
          svg.appendChild(element("polyline", {
            points: run.join(" "), fill: "none", "stroke-width": 1.5,
            stroke: colour, "data-label": line.label,
          }));
        }
        run = [];
      }
      line.values.forEach(function (v, i) {
        if (v === null) { close(); return; }
        var x = count > 1 ? (i * width) / (count - 1) : 0;
        var y = height - 2 - (v / top) * (height - 4);
        run.push(x.toFixed(1) + "," + y.toFixed(1));
      });
      close();
    });
    if (height >= 60) {
      var label = element("text", { x: 4, y: 12 });
      label.textContent = "max " + (Math.round(max * 1000) / 1000) + (unit || "");
      svg.appendChild(label);
    }
    svg.setAttribute("data-sum", String(Math.round(sum * 1000) / 1000));
  }

  function seriesFor(figures, key) {
    var parts = key.split(":");
    if (parts[0] === "throttled") {
      return Object.keys(figures.throttled).map(function (scope) {
        return { label: scope, values: figures.throttled[scope] };
      });
    }
    var group = parts[0] === "service" ? figures.services : figures.routes;
    var name = parts.slice(1, -1).join(":");
    var what = parts[parts.length - 1];
    var entry = group[name];
    if (!entry) { return []; }
    if (what === "latency") {
      return [{ label: "p50", values: entry.p50_ms }, { label: "p99", values: entry.p99_ms }];
    }
    return [{ label: what, values: entry[what] }];
  }

  function render(figures) {
    var units = { rate: "/s", error_rate: "", latency: " ms", throttled: "" };
    document.querySelectorAll("svg[data-chart]").forEach(function (svg) {
      var key = svg.getAttribute("data-chart");
      draw(svg, seriesFor(figures, key), units[key.split(":").pop()]);
    });
    document.querySelectorAll("tr[data-route]").forEach(function (row) {
      var entry = figures.routes[row.getAttribute("data-route")];
      row.querySelector(".total").textContent = entry ? String(entry.total) : "0";
    });
    document.getElementById("updated").textContent =
      "updated " + new Date().toLocaleTimeString();
  }

  function poll() {
    fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("signed out (" + response.status + ")"); }
        return response.json();
      })
      .then(render)
      .catch(function (error) {
        document.getElementById("updated").textContent = String(error.message || error);
      })
      .then(function () { window.setTimeout(poll, refresh); });
  }

  poll();
})();
