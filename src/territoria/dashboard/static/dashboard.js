/* Territoria dashboard: draws the charts of the dashboard pages with Apache ECharts (vendored), with a
   PNG download for each. Data come from <script type="application/json"> blocks (no inline code, so the
   pages keep their strict CSP); every chart has a text summary and a table next to it, so nothing is
   lost when this script cannot run. */
(function () {
  "use strict";

  var INK = "#1c2733";
  var BRAND = "#0b4f8a";
  var MUTED = "#4f5d6b";
  var REFERENCE = "#b3261e";
  var charts = {};

  function number(lang, decimals) {
    var format = new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals
    });
    return function (value) {
      return value === null || value === undefined || isNaN(value) ? "—" : format.format(value);
    };
  }

  function readJson(id) {
    var source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  function fetchJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(
      function (response) {
        if (!response.ok) {
          throw new Error(url + " answered " + response.status);
        }
        return response.json();
      }
    );
  }

  // Tooltips are drawn on the canvas (richText): HTML tooltips would carry style attributes, which
  // the page's Content-Security-Policy refuses.
  function tooltip(format, unit, trigger) {
    return {
      trigger: trigger,
      renderMode: "richText",
      valueFormatter: function (value) {
        return format(value) + (unit ? " " + unit : "");
      }
    };
  }

  function lineOption(spec) {
    var format = number(spec.lang, spec.decimals);
    var partial = spec.partial || [];
    function isPartial(i) {
      return partial[i] === true;
    }
    // Complete periods: a solid line. Partial ones (still running, or only partly covered by the
    // data): a dashed line from the neighbouring complete point, hollow symbols, their own legend
    // entry, so that a partial value never reads as a drop.
    var solid = spec.values.map(function (value, i) {
      return isPartial(i) ? null : value;
    });
    var dashed = spec.values.map(function (value, i) {
      if (value === null) {
        return null;
      }
      if (isPartial(i) || isPartial(i - 1) || isPartial(i + 1)) {
        return isPartial(i)
          ? { value: value, symbol: "emptyCircle", symbolSize: 9, itemStyle: { color: MUTED } }
          : value;
      }
      return null;
    });
    var series = {
      type: "line",
      name: spec.title,
      data: solid,
      connectNulls: false,
      showSymbol: true,
      symbolSize: 6,
      lineStyle: { width: 2, color: BRAND },
      itemStyle: { color: BRAND }
    };
    var all = [series];
    if (partial.some(function (flag, i) { return flag && spec.values[i] !== null; })) {
      all.push({
        type: "line",
        name: spec.partialLabel || "",
        data: dashed,
        connectNulls: false,
        showSymbol: true,
        symbol: "emptyCircle",
        symbolSize: 8,
        lineStyle: { width: 2, color: MUTED, type: "dashed" },
        itemStyle: { color: MUTED },
        z: 1
      });
    }
    var ref = spec.reference;
    if (ref) {
      // The reference is a flat series rather than a mark line, so that the value axis includes it
      // (with round graduations) even when every value is far below it.
      all.push({
        type: "line",
        name: ref.label,
        data: spec.values.map(function () {
          return ref.value;
        }),
        symbol: "none",
        silent: true,
        lineStyle: { color: REFERENCE, type: "dashed", width: 2 },
        itemStyle: { color: REFERENCE },
        endLabel: {
          show: true,
          formatter: ref.label + (spec.lang === "fr" ? " : " : ": ") + format(ref.value),
          color: REFERENCE,
          align: "right",
          offset: [0, -12]
        }
      });
    }
    return {
      animation: false,
      grid: { left: 8, right: 24, top: all.length > 1 ? 48 : 28, bottom: 8, containLabel: true },
      legend: all.length > 1 ? { top: 0, left: 0, textStyle: { color: INK } } : undefined,
      tooltip: tooltip(format, spec.unit, "axis"),
      xAxis: { type: "category", data: spec.categories, axisLabel: { color: INK } },
      yAxis: {
        type: "value",
        name: spec.unit,
        // Written rightwards from the axis: a long unit ("kWh/inhabitant") is not cut at the left edge.
        nameTextStyle: { color: MUTED, align: "left" },
        axisLabel: { color: INK, formatter: format }
      },
      series: all
    };
  }

  function barOption(spec) {
    var format = number(spec.lang, spec.decimals);
    return {
      animation: false,
      grid: { left: 8, right: 32, top: 8, bottom: 32, containLabel: true },
      tooltip: tooltip(format, spec.unit, "axis"),
      xAxis: {
        type: "value",
        name: spec.unit,
        nameLocation: "middle",
        nameGap: 28,
        nameTextStyle: { color: MUTED },
        axisLabel: { color: INK, formatter: format }
      },
      yAxis: {
        type: "category",
        inverse: true, // highest first, as in the table
        data: spec.categories,
        axisLabel: { color: INK, interval: 0 }
      },
      series: [
        {
          type: "bar",
          name: spec.title,
          data: spec.values,
          itemStyle: { color: BRAND },
          barMaxWidth: 28,
          cursor: spec.links ? "pointer" : "default"
        }
      ]
    };
  }

  function heatmapOption(spec) {
    var format = number(spec.lang, spec.decimals);
    var data = [];
    var values = [];
    spec.matrix.forEach(function (row, day) {
      row.forEach(function (value, hour) {
        if (value !== null && value !== undefined) {
          data.push([hour, day, value]);
          values.push(value);
        }
      });
    });
    var low = values.length ? Math.min.apply(null, values) : 0;
    var high = values.length ? Math.max.apply(null, values) : 1;
    return {
      animation: false,
      grid: { left: 8, right: 16, top: 8, bottom: 64, containLabel: true },
      tooltip: { trigger: "item", renderMode: "richText" },
      xAxis: { type: "category", data: spec.hours, axisLabel: { color: INK } },
      yAxis: { type: "category", data: spec.days, inverse: true, axisLabel: { color: INK } },
      visualMap: {
        min: low,
        max: high,
        text: [format(high), format(low)],
        orient: "horizontal",
        left: "center",
        bottom: 4,
        calculable: false,
        formatter: format,
        textStyle: { color: INK },
        inRange: { color: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"] }
      },
      series: [{ type: "heatmap", name: spec.title, data: data }]
    };
  }

  var OPTIONS = { line: lineOption, bar: barOption, heatmap: heatmapOption };

  function draw(element, spec) {
    if (typeof echarts === "undefined" || !spec || !OPTIONS[spec.type]) {
      return null;
    }
    if (spec.type === "bar") {
      // One line per commune: the chart grows with the number of bars (CSSOM, allowed by the CSP).
      element.style.height = Math.max(10, 3 + spec.values.length * 1.5) + "rem";
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(OPTIONS[spec.type](spec));
    if (spec.links) {
      chart.on("click", function (params) {
        var link = spec.links[params.dataIndex];
        if (link) {
          window.location.href = link;
        }
      });
    }
    charts[element.id] = { chart: chart, spec: spec };
    var button = document.querySelector('[data-png="' + element.id + '"]');
    if (button) {
      button.hidden = false;
    }
    return chart;
  }

  // The chart as a report figure: its KPI, area, period and unit above, its source below. It is drawn
  // again off screen at a fixed width, so the image does not depend on the reader's window.
  function reportImage(entry) {
    var caption = entry.spec.export;
    if (!caption) {
      return entry.chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#ffffff" });
    }
    var option = OPTIONS[entry.spec.type](entry.spec);
    var grid = option.grid || {};
    option.grid = Object.assign({}, grid, { top: (grid.top || 8) + 64, bottom: (grid.bottom || 8) + 28 });
    if (option.visualMap) {
      option.visualMap.bottom = 32;
    }
    option.title = {
      text: caption.title,
      subtext: caption.subtitle,
      left: 12,
      top: 8,
      textStyle: { color: INK, fontSize: 18, fontWeight: "bold" },
      subtextStyle: { color: INK, fontSize: 13 }
    };
    option.graphic = [{
      type: "text",
      left: 12,
      bottom: 8,
      style: { text: caption.source, fill: "#4d5b6a", font: "12px sans-serif" }
    }];
    var box = document.createElement("div");
    box.className = "chart-export";
    box.style.width = "1200px";
    box.style.height = Math.max(560, entry.chart.getHeight() + 120) + "px";
    document.body.appendChild(box);
    var copy = echarts.init(box, null, { renderer: "canvas" });
    copy.setOption(option);
    var url = copy.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#ffffff" });
    copy.dispose();
    box.remove();
    return url;
  }

  function downloadPng(id) {
    var entry = charts[id];
    if (!entry) {
      return;
    }
    var link = document.createElement("a");
    link.href = reportImage(entry);
    link.download = (entry.spec.filename || id) + ".png";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    draw(el, readJson(el.getAttribute("data-chart")));
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-png]");
    if (button) {
      downloadPng(button.getAttribute("data-png"));
    }
  });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      charts[id].chart.resize();
    });
  });
  // What dashboard-insights.js (the KPI page's statistics, correlation and targets) draws with.
  window.TerritoriaCharts = { draw: draw, number: number, fetchJson: fetchJson, readJson: readJson };
})();
