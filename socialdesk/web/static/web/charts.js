// What the pages' Chart.js charts share (the inbox report, the listening topic page): the
// options every chart takes (no animation for people who asked for reduced motion), showing
// the chart boxes once there is something to draw (without JavaScript the tables beside them
// are all there is), and the stacked bars of messages or mentions per day by sentiment.
(function () {
  "use strict";

  var SENTIMENT_COLOURS = { positive: "#1a7f4b", neutral: "#8a94a6", negative: "#b42318" };

  function common() {
    var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduced ? false : { duration: 300 },
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
    };
  }

  // The data block's JSON, with the chart boxes shown; null when there is nothing to draw
  // with (no block, or Chart.js not loaded).
  function start(sourceId) {
    var source = document.getElementById(sourceId);
    if (!source || typeof window.Chart === "undefined") return null;
    document.querySelectorAll("[data-chart-box]").forEach(function (box) { box.hidden = false; });
    return JSON.parse(source.textContent);
  }

  // Stacked bars per day, one colour per sentiment; ``what`` names the y axis.
  function sentimentBars(canvas, data, what) {
    if (!canvas) return;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.sentiments.map(function (s) {
          return { label: s.label, data: s.counts, backgroundColor: SENTIMENT_COLOURS[s.key], stack: "all" };
        }),
      },
      options: Object.assign({}, common(), {
        scales: {
          x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 },
               title: { display: true, text: what } },
        },
      }),
    });
  }

  function whenReady(draw) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
    else draw();
  }

  window.SocialdeskCharts = {
    SENTIMENT_COLOURS: SENTIMENT_COLOURS,
    common: common,
    start: start,
    sentimentBars: sentimentBars,
    whenReady: whenReady,
  };
})();
