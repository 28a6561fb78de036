/*
 * Trend charts of the neurologist's patient page (Chart.js + the annotation plugin).
 *
 * The data come from <script type="application/json" id="chart-data"> (Django's json_script):
 * numbers and labels only, never HTML. Each <canvas data-chart="name"> draws data[name].
 * The x axis is a plain linear axis of epoch milliseconds (no date adapter needed); its ticks
 * and tooltips write days as the clinic does, in the clinic's zone (data.time_zone).
 */
(function () {
  "use strict";

  var COLOURS = ["#0b5cad", "#7a3e9d", "#1e6b34", "#8a4b00"];
  var LIMIT = "#a40e26";
  var BAND = "rgba(30, 107, 52, 0.12)";

  // Days read as on the pages and in messages ("3 Dec 2026", alerts/rules/wording.py), in
  // the clinic's time zone; fixed month names, so no browser locale changes them.
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var zone = "UTC";

  function day(ms) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
    })
      .formatToParts(new Date(ms))
      .forEach(function (part) {
        parts[part.type] = part.value;
      });
    return Number(parts.day) + " " + MONTHS[Number(parts.month) - 1] + " " + parts.year;
  }

  function timeAxis() {
    return {
      type: "linear",
      ticks: { callback: day, maxTicksLimit: 6, maxRotation: 0 },
      grid: { display: false },
    };
  }

  function noData(canvas) {
    var note = document.createElement("p");
    note.className = "empty chart-empty";
    note.textContent = "No results yet.";
    canvas.parentNode.replaceChild(note, canvas);
  }

  function annotationsOf(spec) {
    var annotations = {};
    (spec.bands || []).forEach(function (band, index) {
      annotations["band" + index] = {
        type: "box",
        yMin: band.low,
        yMax: band.high,
        xMin: band.x_from === null ? undefined : band.x_from,
        xMax: band.x_to === null ? undefined : band.x_to,
        backgroundColor: BAND,
        borderWidth: 0,
        drawTime: "beforeDatasetsDraw",
        label: {
          display: index === 0,
          content: "reference range",
          position: { x: "start", y: "start" },
          color: "#1e6b34",
          backgroundColor: "transparent",
          font: { size: 11 },
        },
      };
    });
    (spec.lines || []).forEach(function (line, index) {
      annotations["limit" + index] = {
        type: "line",
        yMin: line.value,
        yMax: line.value,
        xMin: line.x_from === null ? undefined : line.x_from,
        xMax: line.x_to === null ? undefined : line.x_to,
        borderColor: LIMIT,
        borderWidth: 2,
        borderDash: [6, 4],
        label: {
          display: true,
          content: line.label,
          position: "start",
          backgroundColor: LIMIT,
          color: "#ffffff",
          font: { size: 11 },
        },
      };
    });
    return annotations;
  }

  function lineChart(canvas, spec) {
    var datasets = spec.series.map(function (series, index) {
      return {
        label: series.label,
        data: series.points.map(function (point) {
          return { x: point.x, y: point.y };
        }),
        borderColor: COLOURS[index % COLOURS.length],
        backgroundColor: COLOURS[index % COLOURS.length],
        pointRadius: 3,
        tension: 0,
      };
    });
    var points = datasets.reduce(function (n, d) {
      return n + d.data.length;
    }, 0);
    if (!points) {
      noData(canvas);
      return;
    }
    var xs = [];
    datasets.forEach(function (d) {
      d.data.forEach(function (point) {
        xs.push(point.x);
      });
    });
    // The axis spans the results (a week either side), not rounded tick values.
    var pad = 7 * 24 * 3600 * 1000;
    var axis = timeAxis();
    axis.min = Math.min.apply(null, xs) - pad;
    axis.max = Math.max.apply(null, xs) + pad;
    var unit = spec.unit ? " " + spec.unit : "";
    new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: axis,
          y: { beginAtZero: true, title: { display: !!spec.unit, text: spec.unit } },
        },
        plugins: {
          legend: { position: "bottom" },
          annotation: { annotations: annotationsOf(spec) },
          tooltip: {
            callbacks: {
              title: function (items) {
                return items.length ? day(items[0].parsed.x) : "";
              },
              label: function (item) {
                return item.dataset.label + ": " + item.parsed.y + unit;
              },
            },
          },
        },
      },
    });
  }

  function lesionChart(canvas, spec) {
    if (!spec.labels.length) {
      noData(canvas);
      return;
    }
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [
          { label: "Gd-enhancing (T1)", data: spec.gd, backgroundColor: COLOURS[0] },
          { label: "New or enlarging T2", data: spec.t2, backgroundColor: COLOURS[1] },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || !window.Chart) {
      return;
    }
    var data = JSON.parse(source.textContent);
    zone = data.time_zone || zone;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = data[canvas.dataset.chart];
      if (!spec) {
        return;
      }
      if (canvas.dataset.chart === "mri") {
        lesionChart(canvas, spec);
      } else {
        lineChart(canvas, spec);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
