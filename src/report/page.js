"use strict";
// The playback: reads the JSON in #pb-data (see src/report/playback.rs) and draws
// frame k of the run: the peers x chunks grid, the availability bars and the
// link graph. Plain JavaScript, no libraries, nothing fetched.
(function () {
  var root = document.documentElement;
  window.addEventListener("error", function (e) {
    root.setAttribute("data-playback", "error");
    var s = document.getElementById("pb-status");
    if (s) { s.textContent = "playback error: " + e.message; }
  });
  var el = document.getElementById("pb-data");
  if (!el) { return; }
  var D = JSON.parse(el.textContent);
  function bytes(b64) {
    var s = atob(b64), a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { a[i] = s.charCodeAt(i); }
    return new DataView(a.buffer);
  }
  var cellsView = bytes(D.cells), availView = bytes(D.avail);
  var R = D.rows, C = D.cols, F = D.frames, G = D.groups;
  var cells = new Uint16Array(R * C);
  for (var i = 0; i < R * C; i++) { cells[i] = cellsView.getUint16(2 * i, true); }
  var avail = new Float32Array(F * C);
  for (i = 0; i < F * C; i++) { avail[i] = availView.getFloat32(4 * i, true); }
  // Viridis, 5 stops, interpolated: early = dark blue, late = yellow.
  var stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  var lut = [];
  for (i = 0; i < 256; i++) {
    var x = i / 255 * (stops.length - 1), k = Math.min(Math.floor(x), stops.length - 2), f = x - k;
    lut.push([0, 1, 2].map(function (j) { return Math.round(stops[k][j] + f * (stops[k + 1][j] - stops[k][j])); }));
  }
  function fmt(t) {
    if (D.end >= 7200) { return (t / 3600).toFixed(2) + " h"; }
    if (D.end >= 120) { return (t / 60).toFixed(1) + " min"; }
    return t.toFixed(1) + " s";
  }
  function frameTime(k) { return D.end * k / (F - 1); }
  var grid = document.getElementById("pb-grid");
  grid.width = C; grid.height = R;
  var gctx = grid.getContext("2d"), img = gctx.createImageData(C, R);
  var actx = document.getElementById("pb-avail").getContext("2d");
  var svg = document.getElementById("pb-graph"), NS = "http://www.w3.org/2000/svg";
  var slider = document.getElementById("pb-slider"), label = document.getElementById("pb-time");
  // Legend: the colour scale with times.
  (function () {
    var w = 300, h = 12, s = '<svg width="' + (w + 80) + '" height="34" xmlns="' + NS + '">';
    for (var j = 0; j < 60; j++) {
      var c = lut[Math.round(j / 59 * 255)];
      s += '<rect x="' + (j * w / 60) + '" y="0" width="' + (w / 60 + 0.5) + '" height="' + h + '" fill="rgb(' + c.join(",") + ')"/>';
    }
    s += '<text x="0" y="28" font-size="11">0</text><text x="' + w + '" y="28" font-size="11" text-anchor="end">' + fmt(D.end) + '</text>';
    s += '<text x="' + (w + 8) + '" y="11" font-size="11">arrival time</text></svg>';
    document.getElementById("pb-legend").innerHTML = s;
  })();
  // Graph layout: peer groups on a circle, the server in the middle.
  var pos = [];
  for (var g = 0; g < G; g++) {
    var a = 2 * Math.PI * g / G - Math.PI / 2;
    pos.push([300 + 260 * Math.cos(a), 300 + 260 * Math.sin(a)]);
  }
  pos.push([300, 300]);
  var maxSize = Math.max.apply(null, D.size);
  function draw(k) {
    var t = frameTime(k), q = Math.round(t / D.end * 65534);
    var p = img.data;
    for (var i = 0; i < R * C; i++) {
      var v = cells[i], o = 4 * i;
      if (v <= q) {
        var c = lut[Math.round(v / 65534 * 255)];
        p[o] = c[0]; p[o + 1] = c[1]; p[o + 2] = c[2]; p[o + 3] = 255;
      } else { p[o] = 240; p[o + 1] = 240; p[o + 2] = 240; p[o + 3] = 255; }
    }
    gctx.putImageData(img, 0, 0);
    // Availability bars.
    var W = actx.canvas.width, H = actx.canvas.height, top = Math.max(1, D.peers);
    actx.clearRect(0, 0, W, H);
    actx.fillStyle = "#f6f8fa"; actx.fillRect(0, 0, W, H - 14);
    var bw = W / C, lo = Infinity, sum = 0;
    actx.fillStyle = "#1f6feb";
    for (var c2 = 0; c2 < C; c2++) {
      var y = avail[k * C + c2];
      lo = Math.min(lo, y); sum += y;
      var hgt = y / top * (H - 14);
      actx.fillRect(c2 * bw, H - 14 - hgt, Math.max(bw - (bw > 3 ? 1 : 0), 0.5), hgt);
    }
    actx.fillStyle = "#1f2328"; actx.font = "11px sans-serif";
    actx.fillText("chunk 0", 2, H - 2);
    actx.textAlign = "right"; actx.fillText("chunk " + (D.chunks - 1), W - 2, H - 2);
    actx.fillText(D.peers + " copies", W - 2, 11); actx.textAlign = "left";
    document.getElementById("pb-avail-note").textContent =
      "(rarest " + lo.toFixed(1) + ", mean " + (sum / C).toFixed(1) + " copies)";
    // Link graph.
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var L = D.links[k], wmax = 1;
    for (var e = 2; e < L.length; e += 3) { wmax = Math.max(wmax, L[e]); }
    for (e = 0; e < L.length; e += 3) {
      var s = pos[L[e]], d = pos[L[e + 1]], line = document.createElementNS(NS, "line");
      line.setAttribute("x1", s[0]); line.setAttribute("y1", s[1]);
      line.setAttribute("x2", d[0]); line.setAttribute("y2", d[1]);
      line.setAttribute("stroke", L[e] === G ? "#d1242f" : "#1f6feb");
      line.setAttribute("stroke-opacity", L[e] === G ? "0.8" : "0.35");
      line.setAttribute("stroke-width", (0.6 + 2.4 * L[e + 2] / wmax).toFixed(2));
      svg.appendChild(line);
    }
    var seeds = 0, leech = 0;
    for (g = 0; g <= G; g++) {
      var circle = document.createElementNS(NS, "circle");
      circle.setAttribute("cx", pos[g][0]); circle.setAttribute("cy", pos[g][1]);
      if (g === G) {
        circle.setAttribute("r", 14); circle.setAttribute("fill", "#d1242f");
      } else {
        var l = D.state[2 * (k * G + g)], sd = D.state[2 * (k * G + g) + 1];
        leech += l; seeds += sd;
        var r = 3 + 6 * Math.sqrt(D.size[g] / maxSize) * (G > 50 ? 0.6 : 1);
        circle.setAttribute("r", r.toFixed(1));
        circle.setAttribute("fill", l + sd === 0 ? "#ffffff" : (sd / (l + sd) > 0.5 ? "#1a7f37" : "#54aeff"));
        circle.setAttribute("fill-opacity", l + sd === 0 ? "1" : (0.35 + 0.65 * Math.max(sd, l) / (l + sd)).toFixed(2));
        circle.setAttribute("stroke", "#57606a");
      }
      svg.appendChild(circle);
    }
    var text = document.createElementNS(NS, "text");
    text.setAttribute("x", 8); text.setAttribute("y", 590); text.setAttribute("font-size", "13");
    text.textContent = "t = " + fmt(t) + ": " + (L.length / 3) + " links, " + leech + " leechers, " + seeds + " seeds";
    svg.appendChild(text);
    label.textContent = "t = " + fmt(t) + " (frame " + k + " of " + (F - 1) + ")";
  }
  var timer = null, play = document.getElementById("pb-play");
  function stop() { if (timer) { clearInterval(timer); timer = null; play.textContent = "play"; } }
  play.addEventListener("click", function () {
    if (timer) { stop(); return; }
    if (+slider.value >= F - 1) { slider.value = 0; }
    play.textContent = "pause";
    timer = setInterval(function () {
      var k = +slider.value + 1;
      if (k >= F) { stop(); return; }
      slider.value = k; draw(k);
    }, 100);
  });
  slider.addEventListener("input", function () { stop(); draw(+slider.value); });
  // #t=SECONDS (or #frame=K) opens the page at that time, scrolled to the playback.
  var start = F - 1, m = /[#&]t=([0-9.eE+-]+)/.exec(location.hash), mf = /[#&]frame=([0-9]+)/.exec(location.hash);
  if (m) { start = Math.round(parseFloat(m[1]) / D.end * (F - 1)); }
  if (mf) { start = parseInt(mf[1], 10); }
  start = Math.max(0, Math.min(F - 1, isFinite(start) ? start : F - 1));
  slider.value = start;
  draw(start);
  // #...&view=playback shows the playback alone (for screenshots).
  if (/[#&]view=playback/.test(location.hash)) {
    document.body.classList.add("only-playback");
  } else if (m || mf) {
    document.getElementById("playback").scrollIntoView();
  }
  document.getElementById("pb-status").textContent = "playback ready";
  root.setAttribute("data-playback", "ready");
})();
