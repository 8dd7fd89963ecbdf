/* Territoria map: communes coloured by a KPI (quantile classes), its legend and the KPI picker.
   The values come with the page (map-config JSON, one layer per readable KPI); territoria-map.js draws
   the communes and asks this file for their style. No inline code, so the page keeps its strict CSP. */
(function () {
  "use strict";

  // ColorBrewer YlGnBu: sequential, readable by colour-blind people, light (low) to dark (high).
  var PALETTES = {
    1: ["#2c7fb8"],
    2: ["#a1dab4", "#2c7fb8"],
    3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
    4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
    5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]
  };
  var CLASSES = 5;
  var NO_DATA = "url(#no-data-hatch)";
  var OUTLINE = { color: "#4d5b6a", weight: 1, opacity: 0.8, fillColor: "#4d5b6a", fillOpacity: 0.04 };
  var SVG_NS = "http://www.w3.org/2000/svg";

  function formatter(lang, decimals) {
    return new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR", {
      minimumFractionDigits: 0,
      maximumFractionDigits: decimals
    });
  }

  // Classes at the values' quantiles with rounded, distinct bounds (the shared map toolkit's breaks).
  function classify(values) {
    var result = window.TerritoriaMap.classes(values, CLASSES);
    var palette = PALETTES[result.classes.length];
    result.classes.forEach(function (c, j) {
      c.colour = palette[j];
    });
    return result;
  }

  function classOf(classes, value) {
    return classes[window.TerritoriaMap.classIndex(classes, value)];
  }

  function swatch(fill) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "swatch");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "14");
    svg.setAttribute("viewBox", "0 0 18 14");
    svg.setAttribute("aria-hidden", "true");
    var rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("x", "0.5");
    rect.setAttribute("y", "0.5");
    rect.setAttribute("width", "17");
    rect.setAttribute("height", "13");
    rect.setAttribute("fill", fill);
    rect.setAttribute("stroke", "#4d5b6a");
    svg.appendChild(rect);
    return svg;
  }

  function Choropleth(config, panel) {
    var layers = {};
    config.layers.forEach(function (layer) {
      layers[layer.code] = layer;
    });
    var state = { layer: layers[config.selected] || null, classes: [], decimals: 0 };
    var select = panel && panel.querySelector("[data-choropleth-select]");
    var legend = panel && panel.querySelector("[data-choropleth-legend]");
    var month = panel && panel.querySelector("[data-choropleth-month]");
    var table = panel && panel.querySelector("[data-choropleth-table]");
    var listeners = [];

    function prepare() {
      var values = [];
      if (state.layer) {
        Object.keys(state.layer.values).forEach(function (code) {
          values.push(state.layer.values[code]);
        });
      }
      var result = classify(values);
      state.classes = result.classes;
      state.decimals = result.decimals;
    }

    function renderLegend() {
      if (!legend) {
        return;
      }
      legend.textContent = "";
      table.hidden = !state.layer;
      if (!state.layer) {
        month.textContent = "";
        return;
      }
      var layer = state.layer;
      // As many decimals as the rounded bounds need (the KPI's own may hide the differences).
      var fmt = formatter(config.lang, state.decimals);
      var count = Object.keys(layer.values).length;
      month.textContent = layer.monthLabel
        ? layer.monthLabel + " · " + config.labels.kpi_count.replace("{n}", count)
        : config.labels.kpi_no_month;
      table.href = layer.page + "#communes";
      state.classes.forEach(function (c) {
        var item = document.createElement("li");
        item.appendChild(swatch(c.colour));
        var range = c.low === c.high ? fmt.format(c.low) : fmt.format(c.low) + " – " + fmt.format(c.high);
        item.appendChild(document.createTextNode(" " + range + (layer.unit ? " " + layer.unit : "")));
        legend.appendChild(item);
      });
      var none = document.createElement("li");
      none.appendChild(swatch(NO_DATA));
      none.appendChild(document.createTextNode(" " + config.labels.no_data));
      legend.appendChild(none);
    }

    function style(feature) {
      if (!state.layer) {
        return OUTLINE;
      }
      var value = state.layer.values[feature.id];
      if (value === undefined || value === null) {
        return { color: "#5b6670", weight: 0.8, opacity: 0.9, fillColor: NO_DATA, fillOpacity: 1 };
      }
      return {
        color: "#3d4650",
        weight: 0.8,
        opacity: 0.9,
        fillColor: classOf(state.classes, value).colour,
        fillOpacity: 0.78
      };
    }

    function choose(code) {
      state.layer = layers[code] || null;
      prepare();
      renderLegend();
      if (window.history && window.history.replaceState) {
        var url = new URL(window.location.href);
        if (code) {
          url.searchParams.set("kpi", code);
        } else {
          url.searchParams.delete("kpi");
        }
        window.history.replaceState(null, "", url.toString());
      }
      listeners.forEach(function (listener) {
        listener();
      });
    }

    if (select) {
      select.addEventListener("change", function () {
        choose(select.value);
      });
    }
    prepare();
    renderLegend();

    return {
      style: style,
      onChange: function (listener) {
        listeners.push(listener);
      },
      selected: function () {
        return state.layer ? state.layer.code : null;
      }
    };
  }

  Choropleth.swatch = swatch; // the open-data portal draws its legend with the same swatches
  window.TerritoriaChoropleth = Choropleth;
})();
