/* Territoria EV station page: each charge point's states over the last days, drawn as coloured bands
   (ECharts custom series). The data come from <script type="application/json" id="ev-timeline-config">;
   the same figures per day are in the page's table. */
(function () {
  "use strict";

  var INK = "#1c2733";
  var source = document.getElementById("ev-timeline-config");
  var element = document.getElementById("ev-timeline");
  if (!source || !element || typeof echarts === "undefined") {
    return;
  }
  var spec = JSON.parse(source.textContent);
  var format = new Intl.DateTimeFormat(spec.lang === "en" ? "en-GB" : "fr-FR", {
    dateStyle: "short", timeStyle: "short"
  });
  element.style.height = Math.max(128, 48 + spec.points.length * 28) + "px";
  var chart = echarts.init(element, null, { renderer: "canvas" });

  // One rectangle per segment: [point row, start, end, state index].
  function band(params, api) {
    var row = api.value(0);
    var from = api.coord([api.value(1), row]);
    var to = api.coord([api.value(2), row]);
    var height = api.size([0, 1])[1] * 0.6;
    var shape = echarts.graphic.clipRectByRect(
      { x: from[0], y: from[1] - height / 2, width: Math.max(1, to[0] - from[0]), height: height },
      { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height }
    );
    return shape && { type: "rect", shape: shape, style: { fill: spec.colours[api.value(3)] } };
  }

  chart.setOption({
    animation: false,
    grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
    tooltip: {
      renderMode: "richText",
      formatter: function (item) {
        var v = item.value;
        return spec.points[v[0]] + "\n" + spec.labels[v[3]] + "\n" +
          format.format(new Date(v[1])) + " → " + format.format(new Date(v[2]));
      }
    },
    xAxis: { type: "time", min: spec.start, max: spec.end, axisLabel: { color: INK } },
    yAxis: { type: "category", data: spec.points, inverse: true, axisLabel: { color: INK, fontFamily: "monospace" } },
    series: [{
      type: "custom",
      renderItem: band,
      encode: { x: [1, 2], y: 0 },
      data: spec.segments.map(function (s) {
        return [s[0], Date.parse(s[1]), Date.parse(s[2]), s[3]];
      })
    }]
  });
  window.addEventListener("resize", function () {
    chart.resize();
  });
})();
