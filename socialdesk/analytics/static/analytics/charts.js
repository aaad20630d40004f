// The Analytics pages' charts (Chart.js). Each <canvas data-chart="ID"> is drawn from the
// <script type="application/json" id="ID"> block the server wrote: no inline script (CSP).
// The table beside each chart holds the same figures and is what assistive technology reads;
// the canvas is an image with a label that says so.
(function () {
  "use strict";
  var COLORS = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6"];

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof window.Chart === "undefined") return;
    var spec = JSON.parse(source.textContent);
    var hasRight = false;
    var datasets = spec.datasets.map(function (set, index) {
      var color = COLORS[index % COLORS.length];
      var right = set.axis === "right";
      hasRight = hasRight || right;
      return {
        label: set.label,
        data: set.data,
        type: set.kind || spec.type,
        yAxisID: right ? "right" : "y",
        borderColor: color,
        backgroundColor: spec.type === "bar" && !set.kind ? color + "cc" : color,
        borderWidth: 2,
        pointRadius: spec.type === "line" || set.kind === "line" ? 2 : 0,
        spanGaps: true,
        tension: 0.2,
      };
    });
    var scales = { y: { beginAtZero: true, ticks: { precision: 0 } } };
    if (spec.type === "bar") {
      // Posts' titles as labels: cut short, or on a phone they crush the bars to a strip
      // (the table beside the chart and the tooltip have them in full).
      scales.x = { ticks: { callback: function (value) {
        var label = String(this.getLabelForValue(value));
        return label.length > 16 ? label.slice(0, 15) + "…" : label;
      } } };
    }
    if (hasRight) {
      scales.right = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } };
    }
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false, // figures, not a show: drawn at once (and on a slow phone, cheaper)
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: scales,
      },
    });
  }

  function start() {
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) draw(canvases[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
