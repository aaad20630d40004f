// The topic page's charts (listening.views.topic_detail): mentions per day by sentiment,
// net sentiment per day, share of voice, and top words, hashtags and authors. The data
// comes from the page's json_script block; every chart has its table beside it, which stays
// the reference (and all there is without JavaScript: the figures are hidden until drawn).
(function () {
  "use strict";

  var charts = window.SocialdeskCharts;
  var COLOURS = charts.SENTIMENT_COLOURS;
  var ACCENT = "#3949ab";
  var SECOND = "#8a4b00";

  function bars(canvas, labels, values, label, common) {
    if (!canvas) return;
    if (!values.length) {  // nothing to draw: the table says "None in this period"
      canvas.closest("[data-chart-box]").hidden = true;
      return;
    }
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: label, data: values, backgroundColor: ACCENT }] },
      options: Object.assign({}, common, {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
      }),
    });
  }

  function draw() {
    var data = charts.start("topic-chart-data");
    if (!data) return;
    var common = charts.common();
    charts.sentimentBars(document.getElementById("chart-volume"), data, "Mentions");

    var sentiment = document.getElementById("chart-sentiment");
    if (sentiment) {
      new window.Chart(sentiment, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Net sentiment", data: data.net, borderColor: ACCENT, backgroundColor: ACCENT,
              spanGaps: true, tension: 0.2 },
            { label: "Negative %", data: data.negative_share, borderColor: COLOURS.negative,
              backgroundColor: COLOURS.negative, borderDash: [6, 4], spanGaps: true, tension: 0.2 },
          ],
        },
        options: Object.assign({}, common, {
          scales: {
            x: { ticks: { autoSkip: true, maxRotation: 0 } },
            y: { min: -100, max: 100, title: { display: true, text: "Percent" } },
          },
        }),
      });
    }

    var share = document.getElementById("chart-share");
    if (share) {
      var datasets = [{ label: "Share of mentions (%)", data: data.share.mentions, backgroundColor: ACCENT }];
      if (data.share.engagement.some(function (v) { return v !== null; })) {
        datasets.push({ label: "Share of engagement (%)", data: data.share.engagement, backgroundColor: SECOND });
      }
      new window.Chart(share, {
        type: "bar",
        data: { labels: data.share.labels, datasets: datasets },
        options: Object.assign({}, common, {
          indexAxis: "y",
          scales: { x: { beginAtZero: true, max: 100 } },
        }),
      });
    }

    ["words", "hashtags", "authors"].forEach(function (key) {
      var rows = data[key] || [];
      bars(document.getElementById("chart-" + key),
        rows.map(function (r) { return r.term; }), rows.map(function (r) { return r.count; }),
        "Mentions", common);
    });
  }

  charts.whenReady(draw);
})();
