// The inbox report's charts (service_views.inbox_report_page): inbound messages per day by
// sentiment (stacked bars) and the median first response per day (a line, with the target).
// Data comes from the page's json_script block; every chart has its table beside it, which
// stays the reference (and all there is without JavaScript: the figures are hidden until drawn).
(function () {
  "use strict";

  var charts = window.SocialdeskCharts;

  function draw() {
    var data = charts.start("report-chart-data");
    if (!data) return;
    var common = charts.common();
    charts.sentimentBars(document.getElementById("chart-volume"), data, "Messages");

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

  charts.whenReady(draw);
})();
