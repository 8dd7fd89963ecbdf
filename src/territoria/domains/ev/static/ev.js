/* Territoria EV observatory: the station map (Leaflet, filtered here), the commune map of a chosen
   indicator, and the two breakdown charts (ECharts). Everything comes from the
   <script type="application/json" id="ev-config"> block (no inline code: strict CSP); the same figures
   are in the page's tables, so nothing is lost when this script cannot run. */
(function () {
  "use strict";

  var BRAND = "#0b4f8a";
  var INK = "#1c2733";
  var NONE_FILL = "#e8eaed";
  // ColorBrewer YlGnBu, five classes, light (low) to dark (high).
  var RAMP = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"];

  function formatter(lang) {
    var format = new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR", { maximumFractionDigits: 1 });
    return function (value) {
      return value === null || value === undefined || isNaN(value) ? "—" : format.format(value);
    };
  }

  function tip(title, lines) {
    var root = document.createElement("div");
    var strong = document.createElement("strong");
    strong.textContent = title;
    root.appendChild(strong);
    lines.forEach(function (line) {
      root.appendChild(document.createElement("br"));
      root.appendChild(document.createTextNode(line));
    });
    return root;
  }

  function swatch(colour, round) {
    var span = document.createElement("span");
    span.className = "ev-swatch" + (round ? " ev-swatch--round" : "");
    span.style.backgroundColor = colour;
    return span;
  }

  function legendItem(list, colour, text, round) {
    var li = document.createElement("li");
    li.appendChild(swatch(colour, round));
    li.appendChild(document.createTextNode(text));
    list.appendChild(li);
  }

  // The platform's map ground (background of the settings, commune outlines beneath the data).
  function baseMap(element, spec, areas) {
    return window.TerritoriaMap.create(element, spec.tiles, {
      areasUrl: spec.areasUrl,
      labels: spec.labels,
      areas: areas
    });
  }

  function stationMap(spec) {
    var element = document.getElementById("ev-map");
    var form = document.querySelector("[data-ev-filters]");
    if (!element) {
      return;
    }
    var format = formatter(spec.lang);
    var colourOf = {};
    spec.classes.forEach(function (c, i) {
      colourOf[c] = spec.classColours[i];
    });
    var stateColour = {};
    spec.states.forEach(function (k, i) {
      stateColour[k] = spec.stateColours[i];
    });
    var legend = document.querySelector("[data-ev-class-legend]");

    function colourMode() {
      return form && form.elements.colour ? form.elements.colour.value : "cls";
    }

    function fillOf(s) {
      return colourMode() === "state" ? stateColour[s.state] : colourOf[s.cls];
    }

    function drawLegend() {
      if (!legend) {
        return;
      }
      legend.textContent = "";
      if (colourMode() === "state") {
        spec.states.forEach(function (k, i) {
          legendItem(legend, stateColour[k], spec.stateLabels[i], true);
        });
        return;
      }
      spec.classes.forEach(function (c) {
        legendItem(legend, colourOf[c], c === "unknown" ? spec.labels.unknown : c + " kW", true);
      });
    }
    var map = baseMap(element, spec).map;
    var group = L.featureGroup().addTo(map);
    var markers = spec.stations.map(function (s) {
      var marker = L.circleMarker([s.lat, s.lon], {
        radius: Math.min(18, 4 + Math.sqrt(s.kw) / 1.5),
        color: "#3d4650",
        weight: 1,
        fillColor: fillOf(s),
        fillOpacity: 0.85
      });
      marker.bindTooltip(function () {
        return tip(s.name || s.id, [
          s.op,
          spec.labels.points + " : " + s.n,
          spec.labels.kw + " : " + format(s.kw),
          spec.labels.state + " : " + spec.stateLabels[spec.states.indexOf(s.state)]
        ]);
      });
      marker.on("click", function () {
        window.location.href = s.href;
      });
      return { station: s, marker: marker };
    });
    var shown = document.querySelector("[data-ev-shown]");

    function apply() {
      var cls = form ? form.elements.cls.value : "";
      var op = form ? form.elements.op.value : "";
      var access = form ? form.elements.access.value : "";
      var count = 0;
      group.clearLayers();
      drawLegend();
      markers.forEach(function (m) {
        var s = m.station;
        m.marker.setStyle({ fillColor: fillOf(s) });
        var keep = (!cls || s.cls === cls) && (!op || s.op === op) &&
          (!access || (access === "public") === s.public);
        if (keep) {
          group.addLayer(m.marker);
          count += 1;
        }
      });
      if (shown) {
        shown.textContent = format(count);
      }
    }

    apply();
    if (group.getLayers().length) {
      map.fitBounds(group.getBounds(), { maxZoom: 14, padding: [16, 16] });
    }
    if (form) {
      form.addEventListener("change", apply);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
      });
    }
  }

  function choropleth(spec) {
    var element = document.getElementById("ev-choro");
    var select = document.querySelector("[data-ev-indicator]");
    var status = document.querySelector("[data-ev-choro-status]");
    var legend = document.querySelector("[data-ev-choro-legend]");
    if (!element) {
      return;
    }
    var format = formatter(spec.lang);
    var layer = null;
    var bins = [];

    function key() {
      return select ? select.value : "cp_per_100k";
    }

    function fill(row) {
      if (!row || !row.cp) {
        return NONE_FILL;
      }
      var v = row[key()];
      if (v === null || v === undefined) {
        return "#c9ccd1";
      }
      if (!bins.length) {
        return NONE_FILL;
      }
      return RAMP[RAMP.length - bins.length + window.TerritoriaMap.classIndex(bins, v)];
    }

    function styleOf(feature) {
      return { color: "#3d4650", weight: 0.6, opacity: 0.9, fillColor: fill(spec.communes[feature.id]), fillOpacity: 0.8 };
    }

    function redraw() {
      var k = key();
      // Classes over the communes with a value above zero, with rounded, distinct bounds.
      var result = window.TerritoriaMap.classes(Object.keys(spec.communes).map(function (code) {
        var row = spec.communes[code];
        return row.cp && row[k] > 0 ? row[k] : null;
      }), RAMP.length);
      bins = result.classes;
      if (legend) {
        legend.textContent = "";
        var fmt = new Intl.NumberFormat(spec.lang === "en" ? "en-GB" : "fr-FR", { maximumFractionDigits: result.decimals });
        bins.forEach(function (c, i) {
          var text = c.low === c.high ? fmt.format(c.low) : fmt.format(c.low) + " – " + fmt.format(c.high);
          legendItem(legend, RAMP[RAMP.length - bins.length + i], text);
        });
        legendItem(legend, NONE_FILL, spec.labels.none);
      }
      if (layer) {
        layer.setStyle(styleOf);
      }
    }

    redraw();
    if (select) {
      select.addEventListener("change", redraw);
    }
    var made = baseMap(element, spec, {
      pane: "ev-communes",
      style: styleOf,
      interactive: true,
      className: "commune-area",
      onEachFeature: function (feature, path) {
        path.bindTooltip(function () {
          var row = spec.communes[feature.id];
          var name = (row && row.name) || feature.id;
          var text = !row || !row.cp ? spec.labels.none :
            spec.indicators[key()] + " : " + (row[key()] === null ? spec.labels.noPopulation : format(row[key()]));
          return tip(name + " (" + feature.id + ")", [text]);
        }, { sticky: true });
      }
    });
    var map = made.map;
    made.outlines
      .then(function (communes) {
        layer = communes;
        if (layer.getBounds().isValid()) {
          map.fitBounds(layer.getBounds(), { padding: [8, 8] });
        }
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

  function bars(element, categories, values, colours) {
    if (!element || typeof echarts === "undefined") {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: categories, axisLabel: { color: INK, interval: 0, rotate: categories.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: INK } },
      series: [{
        type: "bar",
        data: values.map(function (v, i) {
          return { value: v, itemStyle: { color: colours ? colours[i] : BRAND } };
        })
      }]
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  // Two series over a shared category axis; the second may use its own y axis (e.g. kW beside a count).
  function lines(element, categories, first, second, spec) {
    if (!element || typeof echarts === "undefined" || !categories.length) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { color: INK } },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: categories, axisLabel: { color: INK } },
      yAxis: spec.twoAxes ?
        [{ type: "value", minInterval: 1, axisLabel: { color: INK } }, { type: "value", axisLabel: { color: INK } }] :
        [{ type: "value", min: 0, max: 100, axisLabel: { color: INK } }],
      series: [
        { name: spec.names[0], type: "line", step: spec.step ? "end" : false, data: first, connectNulls: false,
          itemStyle: { color: BRAND }, showSymbol: categories.length < 40 },
        { name: spec.names[1], type: "line", step: spec.step ? "end" : false, data: second, connectNulls: false,
          yAxisIndex: spec.twoAxes ? 1 : 0, itemStyle: { color: "#e6550d" }, showSymbol: categories.length < 40 }
      ]
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  var source = document.getElementById("ev-config");
  if (!source) {
    return;
  }
  var config = JSON.parse(source.textContent);
  if (typeof L !== "undefined" && window.TerritoriaMap) {
    stationMap(config.map);
    choropleth(config.map);
  }
  bars(document.getElementById("ev-chart-class"), config.chart.classes, config.chart.classCounts, config.map.classColours);
  bars(document.getElementById("ev-chart-implantation"), config.chart.implantations, config.chart.implantationCounts, null);
  var trend = config.trend;
  lines(document.getElementById("ev-chart-growth"), trend.months, trend.monthPoints, trend.monthKw,
    { names: [config.map.labels.points, config.map.labels.kw], twoAxes: true, step: true });
  lines(document.getElementById("ev-chart-days"), trend.days, trend.availability, trend.occupancy,
    { names: [config.map.labels.availability, config.map.labels.occupancy], twoAxes: false, step: false });
})();
