/* Territoria maps: commune boundaries and one asset layer per dataset.
   Configured from a <script type="application/json"> element named by data-map-config (no inline code,
   so the pages can run under a strict Content-Security-Policy). */
(function () {
  "use strict";

  var TERRITORY_CENTRE = (document.body.dataset.centre || "46.6,2.4").split(",").map(Number); // the territory's centre, set by the page
  var COMMUNE_STYLE = { color: "#4d5b6a", weight: 1, opacity: 0.8, fillColor: "#4d5b6a", fillOpacity: 0.04 };

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

  function markerStyle(colour, inside) {
    // Assets outside the territory are kept and flagged: hollow, dashed, dark outline.
    if (inside) {
      return { radius: 5, color: colour, weight: 1, opacity: 1, fillColor: colour, fillOpacity: 0.75 };
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

  function layerName(dataset) {
    // The layer control inserts names as HTML: escape the title, colour via an SVG attribute (CSP-safe).
    return (
      '<svg class="swatch" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">' +
      '<circle cx="6" cy="6" r="5" fill="' + escapeHtml(dataset.colour) + '"/></svg> ' +
      escapeHtml(dataset.title)
    );
  }

  // Returns the bounds of the assets inside the territory: a few misplaced ones (swapped
  // coordinates land in Africa) must not zoom the map out to the whole world.
  function addAssets(group, collection, dataset, labels) {
    var insideBounds = L.latLngBounds([]);
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
      group.addLayer(marker);
      if (inside) {
        insideBounds.extend(marker.getLatLng());
      }
    });
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
    var map = L.map(element, { preferCanvas: true, zoomSnap: 0.5 }).setView(TERRITORY_CENTRE, 9);
    L.tileLayer(config.tiles.url, { maxZoom: 19, attribution: config.tiles.attribution }).addTo(map);
    // Communes sit in their own pane under the markers and take no clicks, so markers stay clickable.
    map.createPane("communes");
    map.getPane("communes").style.zIndex = "350";
    var small = window.matchMedia("(max-width: 640px)").matches;
    var control = L.control.layers(null, null, { collapsed: small || config.fit === "assets" }).addTo(map);
    var failures = 0;
    var assetBounds = L.latLngBounds([]);

    // Layers are created and listed up front so the layer control keeps the configured order.
    // With a KPI layer the communes are coloured by it and open their page when clicked.
    var choropleth = null;
    if (config.choropleth && window.TerritoriaChoropleth) {
      var panel = element.parentElement.querySelector("[data-choropleth-panel]");
      choropleth = window.TerritoriaChoropleth(config.choropleth, panel);
    }
    var communes = L.geoJSON(null, {
      pane: "communes",
      style: choropleth ? choropleth.style : COMMUNE_STYLE,
      interactive: Boolean(choropleth),
      className: "commune-area",
      renderer: L.svg({ pane: "communes" })
    }).addTo(map);
    control.addOverlay(communes, escapeHtml(config.labels.communes));
    if (choropleth) {
      choropleth.onChange(function () {
        communes.setStyle(choropleth.style);
      });
      map.on("click", function (event) {
        openCommune(event.originalEvent);
      });
    }
    var areas = fetchJson(config.areasUrl)
      .then(function (collection) {
        communes.addData(collection);
        communes.eachLayer(function (layer) {
          var path = layer.getElement && layer.getElement();
          if (path && layer.feature) {
            path.setAttribute("data-commune", layer.feature.id);
          }
        });
        if (config.fit === "areas" && communes.getLayers().length) {
          map.fitBounds(communes.getBounds());
        }
      })
      .catch(function () {
        failures += 1;
      });

    var datasets = config.datasets.map(function (dataset) {
      var group = L.featureGroup();
      control.addOverlay(group, layerName(dataset));
      return fetchJson(dataset.assetsUrl)
        .then(function (collection) {
          var inside = addAssets(group, collection, dataset, config.labels);
          group.addTo(map); // once, after filling it: one redraw instead of one per marker
          if (inside.isValid()) {
            assetBounds.extend(inside);
          } else if (group.getLayers().length) {
            assetBounds.extend(group.getBounds());
          }
        })
        .catch(function () {
          failures += 1;
        });
    });

    Promise.all([areas].concat(datasets)).then(function () {
      if (config.fit === "assets" && assetBounds.isValid()) {
        map.fitBounds(assetBounds, { maxZoom: 15, padding: [16, 16] });
      }
      if (!status) {
        return;
      }
      if (failures) {
        status.textContent = config.labels.error;
        status.classList.add("map-status--error");
      } else {
        status.hidden = true;
      }
    });
  }

  if (window.matchMedia("(max-width: 640px)").matches) {
    // On a phone the legend would hide most of the map: start it folded.
    document.querySelectorAll("details.legend").forEach(function (legend) {
      legend.open = false;
    });
  }
  document.querySelectorAll("[data-map-config]").forEach(initMap);
})();
