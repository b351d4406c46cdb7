// taskrec-web's only script: on the overview, reads the counts every few
// seconds, updates the table, and draws what changed while the page is
// open. Without it the page reloads itself (a <noscript> refresh).
(function () {
  "use strict";
  var EVERY_MS = 3000;
  var KEEP = 120; // samples: six minutes at one every three seconds
  var SERIES = [["pending", "#2f6fdb"], ["claimed", "#2f9e44"], ["failed", "#c92a2a"]];

  function start() {
    var live = document.querySelector("[data-live]");
    if (!live) return;
    var url = live.getAttribute("data-live");
    var chart = document.querySelector("svg.chart");
    var samples = [];

    function draw() {
      if (!chart || samples.length < 2) return;
      var width = 600, height = 120, top = 0;
      samples.forEach(function (s) {
        SERIES.forEach(function (k) { top = Math.max(top, s[k[0]]); });
      });
      top = Math.max(top, 1);
      while (chart.firstChild) chart.removeChild(chart.firstChild);
      SERIES.forEach(function (k) {
        var points = samples.map(function (s, i) {
          var x = (i / (KEEP - 1)) * width;
          var y = height - 4 - (s[k[0]] / top) * (height - 8);
          return x.toFixed(1) + "," + y.toFixed(1);
        });
        var line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
        line.setAttribute("points", points.join(" "));
        line.setAttribute("stroke", k[1]);
        chart.appendChild(line);
      });
    }

    function update(data) {
      var total = { pending: 0, claimed: 0, failed: 0 };
      data.lists.forEach(function (list) {
        var cells = document.querySelectorAll("td[data-list]");
        cells.forEach(function (cell) {
          if (cell.getAttribute("data-list") !== list.name) return;
          var key = cell.getAttribute("data-field");
          if (key in list) cell.textContent = list[key] === null ? "\u2014" : String(list[key]);
        });
        SERIES.forEach(function (k) { total[k[0]] += list[k[0]] || 0; });
      });
      samples.push(total);
      if (samples.length > KEEP) samples.shift();
      draw();
      live.setAttribute("data-updated", data.at);
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(update)
        .catch(function () { /* shown as stale: data-updated stops moving */ })
        .then(function () { setTimeout(poll, EVERY_MS); });
    }
    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
