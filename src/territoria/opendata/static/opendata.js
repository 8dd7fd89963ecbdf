/* Territoria open-data portal: the chart (Apache ECharts) and the map (Leaflet) of a released dataset.
   Everything comes from the <script type="application/json" id="opendata-config"> block (no inline code,
   so the page keeps its strict Content-Security-Policy). The same values are in the page's tables and
   downloads, so nothing is lost when this script cannot run. */
(function () {
  "use strict";

  var BRAND = "#0b4f8a";
  var INK = "#1c2733";
  var MUTED = "#4f5d6b";
  var SECRET_FILL = "url(#od-secret-hatch)";
  var SECRET_POINT = "#9aa3ad";
  // ColorBrewer YlGnBu: sequential and readable by colour-blind people, light (low) to dark (high).
  var PALETTES = {
    1: ["#2c7fb8"],
    2: ["#a1dab4", "#2c7fb8"],
    3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
    4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
    5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]
  };

  function formatter(lang) {
    var format = new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR", { maximumFractionDigits: 2 });
    return function (value) {
      return value === null || value === undefined || isNaN(value) ? "—" : format.format(value);
    };
  }

  function drawChart(element, spec) {
    if (!element || typeof echarts === "undefined") {
      return;
    }
    var format = formatter(spec.lang);
    var many = spec.categories.length > 60;
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 24, top: 32, bottom: many ? 56 : 8, containLabel: true },
      // Tooltips drawn on the canvas: HTML tooltips would carry style attributes the CSP refuses.
      tooltip: {
        trigger: "axis",
        renderMode: "richText",
        valueFormatter: function (value) {
          return format(value) + (spec.unit ? " " + spec.unit : "");
        }
      },
      xAxis: { type: "category", data: spec.categories, axisLabel: { color: INK } },
      yAxis: {
        type: "value",
        name: spec.unit,
        nameTextStyle: { color: MUTED },
        axisLabel: { color: INK, formatter: format }
      },
      dataZoom: many ? [{ type: "inside" }, { type: "slider", bottom: 8 }] : [],
      series: [
        {
          type: "line",
          name: spec.title,
          data: spec.values,
          connectNulls: false,
          showSymbol: spec.categories.length <= 90,
          symbolSize: 6,
          lineStyle: { width: 2, color: BRAND },
          itemStyle: { color: BRAND },
          areaStyle: { color: BRAND, opacity: 0.08 }
        }
      ]
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  // Quantile classes: each holds about as many values, and shows the lowest and highest it holds.
  function classify(values) {
    var sorted = values.slice().sort(function (a, b) {
      return a - b;
    });
    var distinct = sorted.filter(function (v, i) {
      return i === 0 || v !== sorted[i - 1];
    });
    var k = Math.min(5, distinct.length);
    var classes = [];
    for (var i = 0; i < k; i += 1) {
      var low = sorted[Math.floor((i * sorted.length) / k)];
      var high = sorted[Math.floor(((i + 1) * sorted.length) / k) - 1];
      var previous = classes[classes.length - 1];
      if (previous && low <= previous.high) {
        previous.high = Math.max(previous.high, high);
        continue;
      }
      classes.push({ low: low, high: high });
    }
    classes.forEach(function (c, j) {
      c.colour = PALETTES[classes.length][j];
    });
    return classes;
  }

  function colourOf(classes, value) {
    for (var i = classes.length - 1; i >= 0; i -= 1) {
      if (value >= classes[i].low) {
        return classes[i].colour;
      }
    }
    return classes.length ? classes[0].colour : BRAND;
  }

  function swatch(fill) {
    return window.TerritoriaChoropleth.swatch(fill);
  }

  function renderLegend(list, classes, format) {
    if (!list) {
      return;
    }
    classes.forEach(function (c) {
      var item = document.createElement("li");
      item.appendChild(swatch(c.colour));
      var range = c.low === c.high ? format(c.low) : format(c.low) + " – " + format(c.high);
      item.appendChild(document.createTextNode(" " + range));
      list.appendChild(item);
    });
  }

  function tip(title, text) {
    var root = document.createElement("div");
    var strong = document.createElement("strong");
    strong.textContent = title;
    root.appendChild(strong);
    if (text) {
      root.appendChild(document.createElement("br"));
      root.appendChild(document.createTextNode(text));
    }
    return root;
  }

  function valueText(spec, format, value, secret) {
    if (secret) {
      return spec.labels.secret;
    }
    if (value === null || value === undefined) {
      return spec.labels.no_data;
    }
    return format(value) + (spec.unit ? " " + spec.unit : "");
  }

  function areaLayer(map, spec, collection, classes, format) {
    var secret = {};
    spec.secret.forEach(function (code) {
      secret[code] = true;
    });
    var withData = L.latLngBounds([]);
    var layer = L.geoJSON(collection, {
      renderer: L.svg(),
      style: function (feature) {
        var value = spec.values[feature.id];
        if (secret[feature.id]) {
          return { color: "#5b6670", weight: 0.8, opacity: 0.9, fillColor: SECRET_FILL, fillOpacity: 1 };
        }
        if (value === undefined || value === null) {
          return { color: "#8a949e", weight: 0.6, opacity: 0.8, fillColor: "#ffffff", fillOpacity: 0.5 };
        }
        return { color: "#3d4650", weight: 0.8, opacity: 0.9, fillColor: colourOf(classes, value), fillOpacity: 0.8 };
      },
      onEachFeature: function (feature, path) {
        var name = (feature.properties && feature.properties.name) || feature.id;
        var text = valueText(spec, format, spec.values[feature.id], secret[feature.id]);
        path.bindTooltip(function () {
          return tip(name + " (" + feature.id + ")", text);
        }, { sticky: true });
        if (secret[feature.id] || spec.values[feature.id] !== undefined) {
          withData.extend(path.getBounds());
        }
      }
    }).addTo(map);
    var bounds = withData.isValid() ? withData : layer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12] });
    }
  }

  function pointLayer(map, spec, classes, format) {
    var group = L.featureGroup();
    spec.points.forEach(function (p) {
      var value = p[3];
      var hidden = p[4];
      var fill = hidden ? SECRET_POINT : value === null || value === undefined ? BRAND : colourOf(classes, value);
      var marker = L.circleMarker([p[1], p[0]], {
        radius: 6,
        color: "#3d4650",
        weight: 1,
        fillColor: fill,
        fillOpacity: 0.85
      });
      var text = value === null && !hidden ? "" : valueText(spec, format, value, hidden);
      marker.bindTooltip(function () {
        return tip(p[2] || "", text);
      });
      group.addLayer(marker);
    });
    group.addTo(map);
    if (group.getLayers().length) {
      map.fitBounds(group.getBounds(), { maxZoom: 15, padding: [16, 16] });
    }
  }

  function drawMap(element, spec) {
    if (!element || typeof L === "undefined" || !window.TerritoriaMap) {
      return;
    }
    var status = document.querySelector("[data-od-map-status]");
    var format = formatter(spec.lang);
    // The platform's map ground: background of the settings, the commune outlines beneath the data.
    var map = window.TerritoriaMap.create(element, spec.tiles, { areasUrl: spec.areasUrl }).map;
    var values = [];
    if (spec.kind === "area") {
      Object.keys(spec.values).forEach(function (code) {
        values.push(spec.values[code]);
      });
    } else {
      spec.points.forEach(function (p) {
        if (p[3] !== null && p[3] !== undefined && !p[4]) {
          values.push(p[3]);
        }
      });
    }
    var classes = classify(values);
    renderLegend(document.querySelector("[data-od-legend]"), classes, format);
    if (spec.kind === "point") {
      pointLayer(map, spec, classes, format);
      if (status) {
        status.hidden = true;
      }
      return;
    }
    fetch(spec.areasUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(spec.areasUrl + " answered " + response.status);
        }
        return response.json();
      })
      .then(function (collection) {
        areaLayer(map, spec, collection, classes, format);
        if (status) {
          status.hidden = true;
        }
      })
      .catch(function () {
        if (status) {
          status.textContent = spec.labels.error;
          status.classList.add("map-status--error");
        }
      });
  }

  var source = document.getElementById("opendata-config");
  if (!source) {
    return;
  }
  var config = JSON.parse(source.textContent);
  if (config.chart) {
    drawChart(document.getElementById("od-chart"), config.chart);
  }
  if (config.map) {
    drawMap(document.getElementById("od-map"), config.map);
  }
})();
