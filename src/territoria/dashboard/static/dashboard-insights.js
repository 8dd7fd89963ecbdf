/* Territoria KPI page: the statistics, correlation and plan-target blocks, filled from the API with the
   charts of dashboard.js (loaded before). Only the APIs the page names in its kpi-config are asked. */
(function () {
  "use strict";

  var charts = window.TerritoriaCharts;
  if (!charts) {
    return;
  }
  var draw = charts.draw;
  var number = charts.number;
  var fetchJson = charts.fetchJson;

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function table(headers, rows, numeric) {
    var wrap = element("div", null, "table-scroll");
    var t = element("table");
    var head = element("thead");
    var tr = element("tr");
    headers.forEach(function (h, i) {
      var th = element("th", h, numeric[i] ? "num" : "");
      th.scope = "col";
      tr.appendChild(th);
    });
    head.appendChild(tr);
    t.appendChild(head);
    var body = element("tbody");
    rows.forEach(function (row) {
      var line = element("tr");
      row.forEach(function (cell, i) {
        var td = element(i === 0 ? "th" : "td", cell, numeric[i] ? "num" : "");
        if (i === 0) {
          td.scope = "row";
        }
        line.appendChild(td);
      });
      body.appendChild(line);
    });
    t.appendChild(body);
    wrap.appendChild(t);
    return wrap;
  }

  function pngButton(id, labels) {
    var p = element("p", null, "chart-actions");
    var button = element("button", labels["chart.png"], "button button--quiet");
    button.type = "button";
    button.setAttribute("data-png", id);
    button.hidden = true;
    p.appendChild(button);
    return p;
  }

  // A period start (ISO date) as words: "octobre 2026", "2026", "05/10/2026".
  function periodLabel(iso, period, lang) {
    var locale = lang === "en" ? "en-GB" : "fr-FR";
    var day = new Date(iso + "T00:00:00Z");
    if (!iso || isNaN(day.getTime())) {
      return iso || "—";
    }
    if (period === "year") {
      return String(day.getUTCFullYear());
    }
    var parts = period === "month" ? { month: "long", year: "numeric" } : { dateStyle: "short" };
    parts.timeZone = "UTC";
    return new Intl.DateTimeFormat(locale, parts).format(day);
  }

  function percent(value, lang) {
    if (value === null || value === undefined) {
      return "—";
    }
    return (value > 0 ? "+" : "") + number(lang, 1)(value) + " %";
  }

  function renderStats(stats, config, body) {
    var labels = config.labels;
    var format = number(config.lang, config.decimals);
    var unit = config.unit ? " (" + config.unit + ")" : "";
    if (stats.trend && stats.trend.summary) {
      body.appendChild(element("h3", labels["stats.trend"]));
      body.appendChild(element("p", stats.trend.summary));
    }
    var yoy = (stats.year_over_year || []).slice(-12);
    if (yoy.length) {
      body.appendChild(element("h3", labels["stats.yoy"]));
      var rows = yoy.map(function (r) {
        var when = periodLabel(r.period, config.period, config.lang);
        return [when, format(r.value), format(r.previous), percent(r.change_pct, config.lang)];
      });
      var head = [labels["col.period"], labels.value + unit, labels["stats.previous"], labels["stats.change"]];
      body.appendChild(table(head, rows, [false, true, true, true]));
    }
    body.appendChild(element("h3", labels["stats.anomalies"]));
    var anomalies = stats.anomalies || [];
    if (anomalies.length) {
      var found = anomalies.map(function (a) {
        var when = periodLabel(a.period, config.period, config.lang);
        var score = number(config.lang, 1)(a.score);
        return [when, format(a.value), format(a.expected), score, a.summary || a.kind || ""];
      });
      var heads = [labels["col.period"], labels.value + unit, labels["stats.expected"], labels["stats.score"]];
      body.appendChild(table(heads.concat([labels["stats.note"]]), found, [false, true, true, true, false]));
    } else {
      body.appendChild(element("p", labels["stats.no_anomaly"]));
    }
    var profile = stats.profile;
    if (profile && profile.matrix) {
      body.appendChild(element("h3", labels["stats.profile"]));
      var summary = profile.summary || labels["stats.none"];
      var chart = element("div", null, "dash-chart dash-chart--profile");
      chart.id = "chart-profile";
      chart.setAttribute("role", "img");
      chart.setAttribute("aria-label", summary);
      body.appendChild(chart);
      body.appendChild(element("p", summary));
      body.appendChild(pngButton(chart.id, labels));
      draw(chart, {
        type: "heatmap",
        lang: config.lang,
        decimals: config.decimals,
        title: labels["stats.profile"],
        matrix: profile.matrix,
        // profile.hours holds the mean of each hour; the axis names the 24 hours themselves.
        hours: profile.matrix[0].map(function (_, hour) {
          return (hour < 10 ? "0" : "") + hour + " h";
        }),
        days: labels["stats.days"].split(","),
        filename: "profile"
      });
    }
  }

  function loadStats(config) {
    var section = document.querySelector("[data-stats]");
    if (!section || !config.statsUrl) {
      return;
    }
    var status = section.querySelector("[data-stats-status]");
    var body = section.querySelector("[data-stats-body]");
    fetchJson(config.statsUrl)
      .then(function (stats) {
        status.hidden = true;
        renderStats(stats, config, body);
      })
      .catch(function () {
        status.textContent = config.labels["stats.error"];
      });
  }

  function setupCorrelation(config) {
    var section = document.querySelector("[data-correlation]");
    if (!section || !config.correlationUrl) {
      return;
    }
    section.hidden = false;
    var form = section.querySelector("[data-correlation-form]");
    var result = section.querySelector("[data-correlation-result]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var other = form.elements["with"].value;
      result.textContent = config.labels["corr.loading"];
      fetchJson(config.correlationUrl + "&with=" + encodeURIComponent(other))
        .then(function (c) {
          var figures = [];
          var two = number(config.lang, 2);
          if (c.r !== null && c.r !== undefined) {
            figures.push("r = " + two(c.r));
          }
          if (c.rho !== null && c.rho !== undefined) {
            figures.push("ρ = " + two(c.rho));
          }
          if (c.n !== null && c.n !== undefined) {
            figures.push("n = " + c.n);
          }
          result.textContent = (c.summary || "") + (figures.length ? " (" + figures.join(", ") + ")" : "");
        })
        .catch(function () {
          result.textContent = config.labels["corr.error"];
        });
    });
  }

  function loadTargets(config) {
    var section = document.querySelector("[data-targets]");
    if (!section || !config.targetsUrl) {
      return;
    }
    var url = config.targetsUrl + "&progress=true&lang=" + encodeURIComponent(config.lang);
    fetchJson(url)
      .then(function (targets) {
        if (!Array.isArray(targets) || !targets.length) {
          return;
        }
        var labels = config.labels;
        var format = number(config.lang, config.decimals);
        var rows = targets.map(function (t) {
          var p = t.progress || {};
          var pct = p.progress_pct !== undefined ? p.progress_pct : p.percent;
          return [
            t.plan,
            t.area_name || t.area_code,
            t.baseline_year + " : " + format(t.baseline_value),
            t.target_year + " : " + format(t.target_value),
            format(p.current),
            format(p.expected),
            p.status || "—",
            pct === null || pct === undefined ? "—" : number(config.lang, 0)(pct) + " %"
          ];
        });
        var heads = ["plan", "area", "baseline", "target", "current", "expected", "status", "progress"].map(
          function (k) {
            return labels["targets." + k];
          }
        );
        var body = section.querySelector("[data-targets-body]");
        body.appendChild(table(heads, rows, [false, false, true, true, true, true, false, true]));
        section.hidden = false;
      })
      .catch(function () {
        section.hidden = true;
      });
  }


  var config = charts.readJson("kpi-config");
  if (config) {
    loadStats(config);
    setupCorrelation(config);
    loadTargets(config);
  }
})();
