// Polls the dashboard's JSON and draws every chart as SVG (no library): a time axis, a
// value axis with its unit, a legend and a tooltip per chart; the instance table and the
// routes table are redrawn from the same answer.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["#2f6fde", "#c2410c", "#2e9e5b", "#7a4fd0", "#c78a00", "#0e7490"];
  // In drawing order (an object would put "429" first: integer-like keys come first).
  var CLASSES = [
    ["2xx", "#2e9e5b"], ["3xx", "#64748b"], ["4xx", "#c78a00"], ["429", "#7a4fd0"], ["5xx", "#d9534f"],
  ];
  var FIVE_XX = "#d9534f";
  var PAD = { left: 46, right: 8, top: 8, bottom: 30 };
  var body = document.body;
  var source = body.getAttribute("data-source");
  var refresh = Number(body.getAttribute("data-refresh") || 5) * 1000;
  var range = Number(body.getAttribute("data-range") || 300);
  var tooltip = document.getElementById("tooltip");
  var latest = null;
  var timer = null;

  function element(name, attributes, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) {
      node.setAttribute(key, attributes[key]);
    });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function clock(epoch) {
    var date = new Date(epoch * 1000);
    return String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0");
  }

  function clockSeconds(epoch) {
    return clock(epoch) + ":" + String(new Date(epoch * 1000).getSeconds()).padStart(2, "0");
  }

  function rangeLabel(seconds) {
    return seconds >= 3600 ? "last " + seconds / 3600 + " h" : "last " + seconds / 60 + " min";
  }

  function format(value, unit) {
    if (value === null || value === undefined) { return "—"; }
    var size = Math.abs(value);
    var rounded = size >= 100 ? Math.round(value)
      : size >= 1 ? Math.round(value * 100) / 100 : Number(value.toPrecision(3));
    return String(rounded) + (unit === "%" ? " %" : " " + unit);
  }

  function niceTop(max) {
    if (!(max > 0)) { return 1; }
    var step = Math.pow(10, Math.floor(Math.log10(max)));
    var options = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < options.length; i += 1) {
      if (options[i] * step >= max) { return options[i] * step; }
    }
    return 10 * step;
  }

  // A chart: `bars` (stacked, one value per bucket each) and `lines` (null: no value) over
  // `times` (each bucket's start, epoch seconds), with axes, a legend and a tooltip.
  function drawChart(svg, times, bucketSeconds, spec) {
    var unit = svg.getAttribute("data-unit") || "";
    var spark = svg.classList.contains("spark");
    var width = Math.max(60, Math.floor(svg.clientWidth || svg.parentNode.clientWidth || 300));
    var height = Math.max(20, Math.floor(svg.clientHeight || 120));
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var pad = spark ? { left: 1, right: 1, top: 2, bottom: 2 } : PAD;
    var plotW = width - pad.left - pad.right;
    var plotH = height - pad.top - pad.bottom;
    var count = times.length;
    var bars = spec.bars || [];
    var lines = spec.lines || [];
    var max = 0;
    var sum = 0;
    for (var i = 0; i < count; i += 1) {
      var stack = 0;
      bars.forEach(function (bar) { stack += bar.values[i] || 0; });
      max = Math.max(max, stack);
    }
    lines.forEach(function (line) {
      line.values.forEach(function (v) {
        if (v !== null) { max = Math.max(max, v); sum += v; }
      });
    });
    var top = niceTop(max);
    var slot = count ? plotW / count : plotW;
    function x(index) { return pad.left + index * slot; }
    function y(value) { return pad.top + plotH - (value / top) * plotH; }

    if (!spark) {
      // Value axis: 0, half and top, with the unit.
      [0, top / 2, top].forEach(function (value) {
        svg.appendChild(element("line", {
          x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid",
        }));
        svg.appendChild(element("text", {
          x: pad.left - 4, y: y(value) + 3, "text-anchor": "end", class: "tick",
        }, format(value, unit).replace(" " + unit, "").replace(" %", "")));
      });
      svg.appendChild(element("text", {
        x: 2, y: pad.top + 8, class: "unit",
      }, unit));
      // Time axis: a tick every 1, 2, 5, 10, 15 or 30 minutes, at most 6 of them.
      var span = count * bucketSeconds;
      var steps = [60, 120, 300, 600, 900, 1800, 3600];
      var step = steps.filter(function (s) { return span / s <= 6; })[0] || 3600;
      var first = times.length ? times[0] : 0;
      svg.appendChild(element("line", {
        x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH, class: "axis",
      }));
      for (var t = Math.ceil(first / step) * step; t <= first + span; t += step) {
        var tx = pad.left + ((t - first) / span) * plotW;
        svg.appendChild(element("line", {
          x1: tx, x2: tx, y1: pad.top + plotH, y2: pad.top + plotH + 4, class: "axis",
        }));
        var anchor = tx < pad.left + 16 ? "start" : tx > width - pad.right - 16 ? "end" : "middle";
        svg.appendChild(element("text", {
          x: tx, y: pad.top + plotH + 14, "text-anchor": anchor, class: "tick time",
        }, clock(t)));
      }
      svg.appendChild(element("text", {
        x: width - pad.right, y: height - 2, "text-anchor": "end", class: "unit",
      }, "time (" + (bucketSeconds >= 60 ? bucketSeconds / 60 + " min" : bucketSeconds + " s") + " buckets)"));
    }

    for (var b = 0; b < count; b += 1) {
      var base = 0;
      bars.forEach(function (bar) {
        var value = bar.values[b] || 0;
        if (value > 0) {
          svg.appendChild(element("rect", {
            x: x(b) + slot * 0.1, width: Math.max(1, slot * 0.8),
            y: y(base + value), height: Math.max(0.5, y(base) - y(base + value)),
            fill: bar.colour, "data-label": bar.label,
          }));
        }
        base += value;
      });
    }
    lines.forEach(function (line) {
      // Buckets without requests have no latency: the line joins the buckets that do,
      // each one marked, so a quiet minute is not a break into scattered dots.
      var points = [];
      line.values.forEach(function (v, index) {
        if (v !== null) { points.push([x(index) + slot / 2, y(v)]); }
      });
      if (points.length > 1) {
        svg.appendChild(element("polyline", {
          points: points.map(function (p) { return p[0].toFixed(1) + "," + p[1].toFixed(1); }).join(" "),
          fill: "none", stroke: line.colour, "stroke-width": 1.5, "data-label": line.label,
        }));
      }
      if (!spark && line.marks) {
        points.forEach(function (p) {
          svg.appendChild(element("circle", {
            cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 2, fill: line.colour, "data-label": line.label,
          }));
        });
      }
    });
    svg.setAttribute("data-sum", String(Math.round(sum * 1000) / 1000));
    svg.setAttribute("data-buckets", String(count));
    svg.setAttribute("data-bucket-seconds", String(bucketSeconds));

    var legend = document.querySelector('ul[data-legend="' + svg.getAttribute("data-chart") + '"]');
    if (legend) {
      legend.textContent = "";
      bars.concat(lines).forEach(function (entry) {
        var item = document.createElement("li");
        var swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = entry.colour;
        item.appendChild(swatch);
        item.appendChild(document.createTextNode(entry.label + (entry.note ? " " + entry.note : "")));
        legend.appendChild(item);
      });
      if (!bars.length && !lines.length) {
        var none = document.createElement("li");
        none.textContent = "nothing in this range";
        legend.appendChild(none);
      }
    }
    svg._chart = { times: times, bucketSeconds: bucketSeconds, bars: bars, lines: lines,
      unit: unit, pad: pad, slot: slot, plotH: plotH, height: height };
    pointAt(svg);
  }

  function showTooltip(event) {
    var svg = event.currentTarget;
    svg._hover = { clientX: event.clientX, clientY: event.clientY };
    pointAt(svg);
  }

  // The tooltip and guide line for the bucket under the pointer (again after a redraw).
  function pointAt(svg) {
    var chart = svg._chart;
    var event = svg._hover;
    if (!chart || !event || !chart.times.length) { return; }
    var box = svg.getBoundingClientRect();
    var index = Math.floor((event.clientX - box.left - chart.pad.left) / chart.slot);
    index = Math.max(0, Math.min(chart.times.length - 1, index));
    var guide = svg.querySelector("line.guide");
    if (!guide) {
      guide = element("line", { class: "guide" });
      svg.appendChild(guide);
    }
    var gx = chart.pad.left + (index + 0.5) * chart.slot;
    guide.setAttribute("x1", gx); guide.setAttribute("x2", gx);
    guide.setAttribute("y1", chart.pad.top); guide.setAttribute("y2", chart.pad.top + chart.plotH);
    var start = chart.times[index];
    var rows = [clockSeconds(start) + "–" + clockSeconds(start + chart.bucketSeconds)];
    chart.bars.concat(chart.lines).forEach(function (entry) {
      rows.push(entry.label + ": " + format(entry.values[index], chart.unit));
    });
    tooltip.textContent = "";
    rows.forEach(function (row, n) {
      var line = document.createElement(n ? "div" : "strong");
      line.textContent = row;
      tooltip.appendChild(line);
    });
    tooltip.hidden = false;
    var left = Math.min(window.innerWidth - tooltip.offsetWidth - 8, event.clientX + 12);
    tooltip.style.left = Math.max(4, left) + window.scrollX + "px";
    tooltip.style.top = event.clientY + 12 + window.scrollY + "px";
  }

  function hideTooltip(event) {
    event.currentTarget._hover = null;
    tooltip.hidden = true;
    var guide = event.currentTarget.querySelector("line.guide");
    if (guide) { guide.parentNode.removeChild(guide); }
  }

  function perSecond(values, seconds) {
    return values.map(function (v) { return Math.round((v / seconds) * 1000) / 1000; });
  }

  function specFor(figures, key) {
    var parts = key.split(":");
    var seconds = figures.bucket_seconds;
    if (parts[0] === "throttled") {
      return {
        lines: Object.keys(figures.throttled).map(function (scope, index) {
          var values = figures.throttled[scope];
          var total = values.reduce(function (a, b) { return a + b; }, 0);
          return {
            label: "scope " + scope, note: "(" + total + ")", colour: COLOURS[index % COLOURS.length],
            values: perSecond(values, seconds), marks: false,
          };
        }),
      };
    }
    var group = parts[0] === "service" ? figures.services : figures.routes;
    var what = parts[parts.length - 1];
    var entry = group[parts.slice(1, -1).join(":")];
    if (!entry) { return {}; }
    if (what === "latency") {
      return { lines: [
        { label: "p50", colour: COLOURS[0], values: entry.p50_ms, marks: true,
          note: "(" + format(entry.p50_ms_total, "ms") + ")" },
        { label: "p99", colour: COLOURS[1], values: entry.p99_ms, marks: true,
          note: "(" + format(entry.p99_ms_total, "ms") + ")" },
      ] };
    }
    if (what === "error_rate") {
      var errors = entry.class_totals["5xx"];
      return { lines: [{
        label: "5xx share", colour: FIVE_XX, marks: false,
        note: "(" + errors + " of " + entry.total + ")",
        values: entry.error_rate.map(function (v) { return Math.round(v * 10000) / 100; }),
      }] };
    }
    if (parts[0] === "route") {
      return { lines: [{ label: "requests/s", colour: COLOURS[0], values: entry.rate }] };
    }
    var bars = CLASSES.filter(function (pair) {
      return pair[0] !== "3xx" || entry.class_totals["3xx"] > 0;
    }).map(function (pair) {
      var name = pair[0];
      return { label: name, colour: pair[1], note: "(" + entry.class_totals[name] + ")",
        values: perSecond(entry.classes[name], seconds) };
    });
    return { bars: bars, lines: [{ label: "all", colour: "#1d2430", values: entry.rate,
      note: "(" + entry.total + ")" }] };
  }

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) {
      var span = document.createElement("span");
      span.className = className;
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function renderInstances(services) {
    services.forEach(function (service) {
      var card = document.querySelector('article[data-service="' + service.name + '"]');
      if (!card) { return; }
      if (service.bulkhead) {
        card.querySelector(".bulkhead-in-flight").textContent = String(service.bulkhead.in_flight);
        card.querySelector(".bulkhead-limit").textContent = String(service.bulkhead.limit);
        card.querySelector(".bulkhead-rejected").textContent = String(service.bulkhead.rejected);
      }
      var tbody = card.querySelector("table.instances tbody");
      tbody.textContent = "";
      service.instances.forEach(function (instance) {
        var row = document.createElement("tr");
        row.setAttribute("data-instance", instance.url);
        row.appendChild(cell(instance.id));
        row.appendChild(cell(instance.source));
        var state = cell(instance.shown, "state " + instance.shown);
        var why = instance.ready_detail ? instance.ready_detail + "; " : "";
        state.firstChild.title = why + (instance.ready_age_seconds === null ? "not polled yet"
          : "/ready polled " + instance.ready_age_seconds + " s ago");
        row.appendChild(state);
        row.appendChild(cell(instance.breaker, "breaker " + instance.breaker));
        row.appendChild(cell(String(instance.in_flight === undefined ? "—" : instance.in_flight)));
        tbody.appendChild(row);
      });
    });
  }

  function renderRoutes(figures) {
    document.querySelectorAll("tr[data-route]").forEach(function (row) {
      var entry = figures.routes[row.getAttribute("data-route")];
      var totals = entry ? entry.class_totals : {};
      row.querySelector(".total").textContent = entry ? String(entry.total) : "0";
      ["2xx", "4xx", "429", "5xx"].forEach(function (name) {
        row.querySelector(".c-" + name).textContent = String(totals[name] || 0);
      });
      row.querySelector(".errors").textContent =
        entry && entry.total ? format((100 * totals["5xx"]) / entry.total, "%") : "—";
      row.querySelector(".latency").textContent = entry && entry.total
        ? format(entry.p50_ms_total, "").trim() + " / " + format(entry.p99_ms_total, "").trim() : "—";
    });
  }

  function render(figures) {
    latest = figures;
    var times = figures.buckets;
    document.querySelectorAll("svg[data-chart]").forEach(function (svg) {
      drawChart(svg, times, figures.bucket_seconds, specFor(figures, svg.getAttribute("data-chart")));
    });
    renderRoutes(figures);
    renderInstances(figures.services_status || []);
    document.querySelectorAll(".range-label").forEach(function (label) {
      label.textContent = rangeLabel(figures.range_seconds);
    });
    document.getElementById("updated").textContent =
      "updated " + new Date().toLocaleTimeString();
  }

  function filterRoutes() {
    var text = document.getElementById("route-filter").value.trim().toLowerCase();
    var pages = document.getElementById("show-pages").checked;
    var shown = 0, all = 0;
    document.querySelectorAll("tr[data-route]").forEach(function (row) {
      all += 1;
      var haystack = (row.getAttribute("data-route") + " " + row.getAttribute("data-service")).toLowerCase();
      var visible = (pages || row.getAttribute("data-kind") === "api") &&
        (!text || haystack.indexOf(text) !== -1);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    document.getElementById("route-count").textContent = shown + " of " + all + " routes";
    if (latest) { render(latest); }  // sparklines that were hidden have a size now
  }

  function poll() {
    window.clearTimeout(timer);
    fetch(source + "?range=" + range, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("signed out (" + response.status + ")"); }
        return response.json();
      })
      .then(render)
      .catch(function (error) {
        document.getElementById("updated").textContent = String(error.message || error);
      })
      .then(function () { timer = window.setTimeout(poll, refresh); });
  }

  document.querySelectorAll(".ranges button").forEach(function (button) {
    button.addEventListener("click", function () {
      range = Number(button.getAttribute("data-range"));
      document.querySelectorAll(".ranges button").forEach(function (other) {
        other.setAttribute("aria-pressed", String(other === button));
      });
      poll();
    });
  });
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    svg.addEventListener("mousemove", showTooltip);
    svg.addEventListener("mouseleave", hideTooltip);
  });
  document.getElementById("route-filter").addEventListener("input", filterRoutes);
  document.getElementById("show-pages").addEventListener("change", filterRoutes);
  var resized = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resized);
    resized = window.setTimeout(function () { if (latest) { render(latest); } }, 150);
  });
  filterRoutes();
  poll();
})();
