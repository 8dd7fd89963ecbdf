/* Territoria maps: the shared map toolkit (window.TerritoriaMap) and the dashboard's asset map.

   The toolkit gives every map of the platform the same ground: the background of the settings (Plan IGN,
   orthophotos, OpenStreetMap, a URL of one's own, or none) with its attribution, and ALWAYS the
   territory's own commune outlines, drawn from /api/v1/areas beneath the data, so a map stays readable
   when no tile server can be reached. It also gives class breaks for choropleth legends.

   The asset map is configured from a <script type="application/json"> element named by data-map-config
   (no inline code, so the pages can run under a strict Content-Security-Policy). */
(function () {
  "use strict";

  var OUTLINE_STYLE = { color: "#4d5b6a", weight: 1, opacity: 0.8, fillColor: "#4d5b6a", fillOpacity: 0.04 };
  var areaRequests = {};

  function territoryCentre() {
    // The territory's centre, set by the page on <body data-centre="lat,lon">.
    return (document.body.dataset.centre || "46.6,2.4").split(",").map(Number);
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
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

  // One request per URL and page, however many maps draw the communes.
  function areas(url) {
    if (!areaRequests[url]) {
      areaRequests[url] = fetchJson(url);
    }
    return areaRequests[url];
  }

  /* A map on `element` with the configured background and the commune outlines.
     tiles: {url, attribution, maxZoom, name} (url null: no background);
     options.areasUrl: the communes' GeoJSON; options.areas: extra L.geoJSON options (style,
     onEachFeature, interactive, className, pane), for a map whose communes carry the data;
     options.labels.noBase: the name of the "no background" choice in the layer control.
     Returns {map, control, outlines: Promise of the communes layer}. */
  function create(element, tiles, options) {
    options = options || {};
    var map = L.map(element, { preferCanvas: true, zoomSnap: 0.5 }).setView(territoryCentre(), 9);
    var control = null;
    if (tiles && tiles.url) {
      var base = L.tileLayer(tiles.url, { maxZoom: tiles.maxZoom || 19, attribution: tiles.attribution });
      base.addTo(map);
      if (options.labels && options.labels.base && options.labels.noBase) {
        var none = L.layerGroup();
        var choices = {};
        choices[escapeHtml(options.labels.base)] = base;
        choices[escapeHtml(options.labels.noBase)] = none;
        control = L.control.layers(choices, null, { collapsed: true, position: "topright" }).addTo(map);
      }
    }
    // The outlines sit in their own pane, above the background and beneath the data.
    var paneName = (options.areas && options.areas.pane) || "outlines";
    if (!map.getPane(paneName)) {
      map.createPane(paneName);
      map.getPane(paneName).style.zIndex = "350";
    }
    var geoOptions = {
      pane: paneName,
      style: OUTLINE_STYLE,
      interactive: false,
      className: "commune-outline",
      renderer: L.svg({ pane: paneName })
    };
    var extra = options.areas || {};
    Object.keys(extra).forEach(function (key) {
      geoOptions[key] = extra[key];
    });
    var layer = L.geoJSON(null, geoOptions).addTo(map);
    var outlines = areas(options.areasUrl || "/api/v1/areas?level=commune").then(function (collection) {
      layer.addData(collection);
      layer.eachLayer(function (path) {
        var node = path.getElement && path.getElement();
        if (node && path.feature) {
          node.setAttribute("data-commune", path.feature.id);
        }
      });
      return layer;
    });
    return { map: map, control: control, outlines: outlines, layer: layer };
  }

  // Colour-blind-safe colours for the layers of a map, in the order of its list (Okabe–Ito, then Tol).
  var PALETTE = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
    "#882255", "#999933", "#332288", "#44AA99", "#000000", "#DDCC77"
  ];

  function textOn(colour) {
    // Dark or white text, whichever reads better on the colour (relative luminance).
    var hex = colour.replace("#", "");
    var rgb = [0, 2, 4].map(function (i) {
      var c = parseInt(hex.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    return lum > 0.3 ? "#1c2733" : "#ffffff";
  }

  /* Class breaks for a choropleth legend: about `count` classes at the values' quantiles, each bound
     rounded to as few significant digits as keep the bounds distinct (the data's own magnitude), so a
     legend never reads "0.01 – 0.01". Classes that would share bounds are merged; empty ones dropped.
     Returns {classes: [{low, high}], decimals}; one class {low, high} equal when all values are. */
  function niceRound(value, digits, how) {
    if (value === 0) {
      return 0;
    }
    var magnitude = Math.pow(10, Math.floor(Math.log10(Math.abs(value))) - digits + 1);
    var fn = how === "down" ? Math.floor : how === "up" ? Math.ceil : Math.round;
    return Number((fn(value / magnitude) * magnitude).toPrecision(12));
  }

  function decimalsOf(value) {
    if (!isFinite(value) || Math.round(value) === value) {
      return 0;
    }
    var text = String(Number(value.toPrecision(12)));
    if (text.indexOf("e-") >= 0) {
      return Math.min(8, Number(text.split("e-")[1]) + 1);
    }
    return text.indexOf(".") >= 0 ? Math.min(8, text.split(".")[1].length) : 0;
  }

  function classes(values, count) {
    var sorted = values.filter(function (v) {
      return v !== null && v !== undefined && isFinite(v);
    }).sort(function (a, b) {
      return a - b;
    });
    if (!sorted.length) {
      return { classes: [], decimals: 0 };
    }
    var lo = sorted[0];
    var hi = sorted[sorted.length - 1];
    if (lo === hi) {
      return { classes: [{ low: lo, high: hi }], decimals: decimalsOf(lo) };
    }
    count = count || 5;
    var raw = [];
    for (var i = 1; i < count; i += 1) {
      var q = sorted[Math.floor((i * sorted.length) / count)];
      if (q > lo && q < hi && raw.indexOf(q) < 0) {
        raw.push(q);
      }
    }
    var edges = null;
    for (var digits = 1; digits <= 4 && !edges; digits += 1) {
      var low = niceRound(lo, digits, "down");
      var high = niceRound(hi, digits, "up");
      var inner = [];
      raw.forEach(function (q) {
        var b = niceRound(q, digits, "round");
        if (b > low && b < high && inner.indexOf(b) < 0) {
          inner.push(b);
        }
      });
      if (inner.length === raw.length || digits === 4) {
        edges = [low].concat(inner, [high]);
      }
    }
    // Drop classes no value falls in (merged with the next one).
    var kept = [edges[0]];
    for (var j = 1; j < edges.length; j += 1) {
      var from = kept[kept.length - 1];
      var to = edges[j];
      var last = j === edges.length - 1;
      var any = sorted.some(function (v) {
        return v >= from && (last ? v <= to : v < to);
      });
      if (any || last) {
        kept.push(to);
      }
    }
    var out = [];
    for (var k = 0; k + 1 < kept.length; k += 1) {
      out.push({ low: kept[k], high: kept[k + 1] });
    }
    var decimals = 0;
    kept.forEach(function (e) {
      decimals = Math.max(decimals, decimalsOf(e));
    });
    return { classes: out, decimals: decimals };
  }

  function classIndex(list, value) {
    for (var i = list.length - 1; i > 0; i -= 1) {
      if (value >= list[i].low) {
        return i;
      }
    }
    return 0;
  }

  window.TerritoriaMap = {
    create: create,
    areas: areas,
    classes: classes,
    classIndex: classIndex,
    palette: PALETTE,
    textOn: textOn,
    escapeHtml: escapeHtml,
    outlineStyle: OUTLINE_STYLE
  };

  // ---- The dashboard's asset map (/map and a dataset's page) ----

  function markerStyle(colour, inside) {
    // Assets outside the territory are kept and flagged: hollow, dashed, dark outline.
    if (inside) {
      return { radius: 6, color: "#ffffff", weight: 1.5, opacity: 1, fillColor: colour, fillOpacity: 0.95 };
    }
    return { radius: 6, color: "#222222", weight: 2, dashArray: "3 3", fillColor: colour, fillOpacity: 0.15 };
  }

  function popupContent(feature, dataset, labels) {
    var p = feature.properties || {};
    var root = document.createElement("div");
    root.className = "asset-popup";
    var title = document.createElement("p");
    title.className = "asset-popup-title";
    title.textContent = p.name || feature.id;
    root.appendChild(title);
    var list = document.createElement("dl");
    function row(label, value) {
      if (!value) {
        return;
      }
      var dt = document.createElement("dt");
      dt.textContent = label;
      var dd = document.createElement("dd");
      dd.textContent = value;
      list.appendChild(dt);
      list.appendChild(dd);
    }
    row(labels.id, feature.id);
    row(labels.commune, p.commune ? p.commune + " (" + p.area_code + ")" : p.area_code);
    row(labels.kind, p.kind);
    row(labels.network, p.network);
    root.appendChild(list);
    if (!p.in_territory) {
      var outside = document.createElement("p");
      outside.className = "asset-popup-outside";
      outside.textContent = labels.outside;
      root.appendChild(outside);
    }
    var link = document.createElement("a");
    link.href = dataset.page;
    link.textContent = labels.dataset + " — " + dataset.title;
    root.appendChild(link);
    return root;
  }

  // A layer's points gathered in clusters of its own colour (Leaflet.markercluster when loaded).
  function assetGroup(colour) {
    if (typeof L.markerClusterGroup !== "function") {
      return L.featureGroup();
    }
    return L.markerClusterGroup({
      chunkedLoading: true,
      showCoverageOnHover: false,
      maxClusterRadius: 50,
      disableClusteringAtZoom: 16,
      iconCreateFunction: function (cluster) {
        var n = cluster.getChildCount();
        var size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 40 : 46;
        var disc = document.createElement("div");
        disc.className = "asset-cluster";
        disc.style.backgroundColor = colour; // CSSOM, allowed by the strict CSP
        disc.style.color = textOn(colour);
        disc.style.width = size + "px";
        disc.style.height = size + "px";
        disc.style.lineHeight = size + "px";
        disc.textContent = n >= 1000 ? Math.round(n / 100) / 10 + "k" : String(n);
        return L.divIcon({ html: disc, className: "asset-cluster-icon", iconSize: L.point(size, size) });
      }
    });
  }

  // Returns the bounds of the assets inside the territory: a few misplaced ones (swapped
  // coordinates land in Africa) must not zoom the map out to the whole world.
  function addAssets(group, collection, dataset, labels) {
    var insideBounds = L.latLngBounds([]);
    var markers = [];
    (collection.features || []).forEach(function (feature) {
      var coords = feature.geometry && feature.geometry.coordinates;
      if (!coords) {
        return;
      }
      var inside = feature.properties ? feature.properties.in_territory !== false : true;
      var style = markerStyle(dataset.colour, inside);
      style.bubblingMouseEvents = false; // a click on a marker opens its popup, not the commune below
      var marker = L.circleMarker([coords[1], coords[0]], style);
      marker.bindPopup(function () {
        return popupContent(feature, dataset, labels);
      });
      markers.push(marker);
      if (inside) {
        insideBounds.extend(marker.getLatLng());
      }
    });
    if (group.addLayers) {
      group.addLayers(markers); // one pass for the whole layer
    } else {
      markers.forEach(function (m) {
        group.addLayer(m);
      });
    }
    return insideBounds;
  }

  // The asset markers are drawn on a canvas above the communes, which takes every click: the map's
  // click (fired when no marker was hit) looks for the commune under the pointer itself.
  function openCommune(event) {
    if (!event || typeof document.elementsFromPoint !== "function") {
      return;
    }
    var hits = document.elementsFromPoint(event.clientX, event.clientY);
    for (var i = 0; i < hits.length; i += 1) {
      var code = hits[i].getAttribute && hits[i].getAttribute("data-commune");
      if (code) {
        window.location.href = "/communes/" + encodeURIComponent(code);
        return;
      }
    }
  }

  function initMap(element) {
    var source = document.getElementById(element.getAttribute("data-map-config"));
    if (!source || typeof L === "undefined") {
      return;
    }
    var config = JSON.parse(source.textContent);
    var status = element.parentElement.querySelector("[data-map-status]");
    var toggles = document.querySelectorAll("[data-map-layer]");

    // With a KPI layer the communes are coloured by it and open their page when clicked.
    var choropleth = null;
    if (config.choropleth && window.TerritoriaChoropleth) {
      var panel = element.parentElement.querySelector("[data-choropleth-panel]");
      choropleth = window.TerritoriaChoropleth(config.choropleth, panel);
    }
    var made = create(element, config.tiles, {
      areasUrl: config.areasUrl,
      labels: config.labels,
      areas: {
        pane: "communes",
        style: choropleth ? choropleth.style : OUTLINE_STYLE,
        interactive: Boolean(choropleth),
        className: "commune-area"
      }
    });
    var map = made.map;
    var communes = made.layer;
    if (choropleth) {
      choropleth.onChange(function () {
        communes.setStyle(choropleth.style);
      });
      map.on("click", function (event) {
        openCommune(event.originalEvent);
      });
    }
    var failures = 0;
    var pending = 0;
    var assetBounds = L.latLngBounds([]);

    function settle() {
      if (!status || pending) {
        return;
      }
      if (failures) {
        status.textContent = config.labels.error;
        status.classList.add("map-status--error");
        status.hidden = false;
      } else {
        status.hidden = true;
      }
    }

    pending += 1;
    made.outlines
      .then(function () {
        if (config.fit === "areas" && communes.getLayers().length) {
          map.fitBounds(communes.getBounds());
        }
      })
      .catch(function () {
        failures += 1;
      })
      .then(function () {
        pending -= 1;
        settle();
      });

    // Each layer's points are fetched the first time it is switched on; only the first starts on.
    var layers = config.datasets.map(function (dataset, index) {
      var entry = { dataset: dataset, group: assetGroup(dataset.colour), loaded: null };
      entry.load = function () {
        if (entry.loaded) {
          return entry.loaded;
        }
        pending += 1;
        if (status && status.hidden) {
          status.textContent = config.labels.loading;
          status.classList.remove("map-status--error");
          status.hidden = false;
        }
        entry.loaded = fetchJson(dataset.assetsUrl)
          .then(function (collection) {
            var inside = addAssets(entry.group, collection, dataset, config.labels);
            if (inside.isValid()) {
              assetBounds.extend(inside);
            }
            if (config.fit === "assets" && assetBounds.isValid()) {
              map.fitBounds(assetBounds, { maxZoom: 15, padding: [16, 16] });
            }
          })
          .catch(function () {
            failures += 1;
          })
          .then(function () {
            pending -= 1;
            settle();
          });
        return entry.loaded;
      };
      entry.show = function (on) {
        if (on) {
          entry.load();
          entry.group.addTo(map);
        } else {
          map.removeLayer(entry.group);
        }
      };
      entry.initial = config.initialLayers ? config.initialLayers.indexOf(dataset.slug) >= 0 : index === 0;
      return entry;
    });
    var bySlug = {};
    layers.forEach(function (entry) {
      bySlug[entry.dataset.slug] = entry;
    });
    toggles.forEach(function (box) {
      var entry = bySlug[box.getAttribute("data-map-layer")];
      if (!entry) {
        return;
      }
      box.checked = entry.initial;
      box.addEventListener("change", function () {
        entry.show(box.checked);
      });
    });
    layers.forEach(function (entry) {
      if (entry.initial) {
        entry.show(true);
      }
    });
    settle();
  }

  if (window.matchMedia("(max-width: 640px)").matches) {
    // On a phone the legend would hide most of the map: start it folded.
    document.querySelectorAll("details.legend").forEach(function (legend) {
      legend.open = false;
    });
  }
  document.querySelectorAll("[data-map-config]").forEach(initMap);
})();
