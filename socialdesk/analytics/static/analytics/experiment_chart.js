// An experiment's rates as bars with their intervals as a floating bar beside each (Chart.js,
// vendored). The table above holds the same numbers for screen readers and without script.
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("xp-chart");
    var source = document.getElementById("xp-chart-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var intervals = data.low.map(function (low, i) {
      return low === null ? null : [low, data.high[i]];
    });
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Rate (%)", data: data.rates, backgroundColor: "#4338ca" },
          { label: "Interval (%)", data: intervals, backgroundColor: "rgba(67, 56, 202, 0.25)",
            borderColor: "#4338ca", borderWidth: 1 }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: "%" } } }
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
