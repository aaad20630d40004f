// The inbox report's charts (service_views.inbox_report_page): inbound messages per day by
// sentiment (stacked bars) and the median first response per day (a line, with the target).
// Data comes from the page's json_script block; every chart has its table beside it, which
// stays the reference (and all there is without JavaScript: the figures are hidden until drawn).
(function () {
  "use strict";

  var COLOURS = { positive: "#1a7f4b", neutral: "#8a94a6", negative: "#b42318" };

  function draw() {
    var source = document.getElementById("report-chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var common = {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduced ? false : { duration: 300 },
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
    };
    document.querySelectorAll("[data-chart-box]").forEach(function (box) { box.hidden = false; });

    var volume = document.getElementById("chart-volume");
    if (volume) {
      new window.Chart(volume, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: data.sentiments.map(function (s) {
            return { label: s.label, data: s.counts, backgroundColor: COLOURS[s.key], stack: "inbound" };
          }),
        },
        options: Object.assign({}, common, {
          scales: {
            x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 } },
            y: { stacked: true, beginAtZero: true, ticks: { precision: 0 },
                 title: { display: true, text: "Messages" } },
          },
        }),
      });
    }

    var frt = document.getElementById("chart-first-response");
    if (frt) {
      new window.Chart(frt, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Median first response (min)", data: data.first_response_minutes,
              borderColor: "#3949ab", backgroundColor: "#3949ab", spanGaps: true, tension: 0.2 },
            { label: "Target (min)", data: data.labels.map(function () { return data.target_minutes; }),
              borderColor: "#8a4b00", borderDash: [6, 4], pointRadius: 0, fill: false },
          ],
        },
        options: Object.assign({}, common, {
          scales: {
            x: { ticks: { autoSkip: true, maxRotation: 0 } },
            y: { beginAtZero: true, title: { display: true, text: "Minutes of business time" } },
          },
        }),
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
