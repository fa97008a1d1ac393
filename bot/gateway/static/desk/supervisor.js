/* Supervisor view: queue and handoff statistics from /desk/api/stats.
 *
 * KPI tiles and four bar charts drawn as SVG with createElementNS (no
 * library); each chart also has a visually hidden table with its numbers for
 * screen readers. Reads again every 30 s, when the period changes and when
 * the server signals that the queue changed. Needs common.js (window.Desk).
 */
(function () {
  "use strict";

  var D = window.Desk;
  if (!D) return;
  var t = D.t;
  var el = D.el;
  var svg = D.svg;

  var PERIOD_KEY = "desk.period";
  var REFRESH_MS = 30000;
  var SIGNAL_DELAY_MS = 1500;
  var LONG_WAIT_SECONDS = 300;
  var URGENT_REASONS = { distress: true, deceased: true, death: true };
  var CHANNELS = ["web", "sms", "voice"];
  var LANGUAGES = ["en", "zh"];

  function $(id) {
    return document.getElementById(id);
  }

  var ui = {
    stats: $("stats"),
    period: $("period"),
    refresh: $("refresh-btn"),
    updated: $("updated-at"),
    status: $("desk-status"),
    conn: $("conn-state"),
    connText: $("conn-text"),
    queueLength: $("queue-length"),
    withAgents: $("kpi-with-agents"),
    oldest: $("kpi-oldest"),
    medianSub: $("kpi-median-sub"),
    avgTake: $("kpi-avg-take"),
    takeCount: $("kpi-take-count"),
    p90Take: $("kpi-p90-take"),
    p90Sub: $("kpi-p90-sub"),
    containment: $("kpi-containment"),
    containmentSub: $("kpi-containment-sub"),
  };

  var state = { stats: null, days: 7 };

  function readPeriod() {
    var saved = null;
    try {
      saved = window.localStorage.getItem(PERIOD_KEY);
    } catch (e) {
      saved = null;
    }
    return saved === "1" || saved === "7" || saved === "30" ? parseInt(saved, 10) : 7;
  }

  function savePeriod(days) {
    try {
      window.localStorage.setItem(PERIOD_KEY, String(days));
    } catch (e) {
      /* kept for this page only */
    }
  }

  // --- status toast (same look as the desk) ----------------------------------------

  var toastTimer = null;

  function showStatus(message, kind) {
    if (toastTimer) clearTimeout(toastTimer);
    D.clear(ui.status);
    ui.status.className = "toast toast--" + (kind || "info") + " is-shown";
    ui.status.appendChild(el("span", "toast-text", message));
    var dismiss = el("button", "toast-close");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", t("dismiss"));
    dismiss.title = t("dismiss");
    var icon = svg("svg", { viewBox: "0 0 24 24", width: 16, height: 16, "aria-hidden": "true", focusable: "false" });
    icon.appendChild(svg("path", { d: "M6 6l12 12M18 6L6 18" }));
    dismiss.appendChild(icon);
    dismiss.addEventListener("click", hideStatus);
    ui.status.appendChild(dismiss);
    toastTimer = setTimeout(hideStatus, kind === "error" ? 20000 : 6000);
  }

  function hideStatus() {
    if (toastTimer) clearTimeout(toastTimer);
    D.clear(ui.status);
    ui.status.className = "toast";
  }

  // --- chart helpers ------------------------------------------------------------------

  /* A round upper bound for an axis and its step: 0..max in 4 or 5 steps. */
  function niceScale(max) {
    if (!max || max <= 0) return { max: 4, step: 1 };
    var rough = max / 4;
    var power = Math.pow(10, Math.floor(Math.log(rough) / Math.LN10));
    var steps = [1, 2, 2.5, 5, 10];
    var step = power;
    for (var i = 0; i < steps.length; i++) {
      step = steps[i] * power;
      if (step >= rough) break;
    }
    if (step < 1) step = 1;
    return { max: Math.ceil(max / step) * step, step: step };
  }

  /* Rough text width at 12px: CJK characters are square, others ~0.58 em. */
  function textWidth(text) {
    var w = 0;
    for (var i = 0; i < text.length; i++) w += text.charCodeAt(i) > 0x2e80 ? 12 : 7;
    return w;
  }

  function fit(text, width) {
    if (textWidth(text) <= width) return text;
    var out = "";
    for (var i = 0; i < text.length; i++) {
      if (textWidth(out + text[i] + "…") > width) break;
      out += text[i];
    }
    return out + "…";
  }

  function prepare(figure, width, height) {
    var node = figure.querySelector("svg");
    D.clear(node);
    node.setAttribute("viewBox", "0 0 " + width + " " + height);
    node.setAttribute("preserveAspectRatio", "xMidYMid meet");
    return node;
  }

  function emptyChart(figure) {
    var node = prepare(figure, 600, 120);
    node.appendChild(svg("rect", { x: 0.5, y: 0.5, width: 599, height: 119, rx: 8, "class": "chart-empty-box" }));
    node.appendChild(svg("text", { x: 300, y: 64, "text-anchor": "middle", "class": "chart-empty" }, t("chartEmpty")));
  }

  function fillTable(figure, headers, rows) {
    var tbl = figure.querySelector("table");
    D.clear(tbl);
    var caption = el("caption", null, figure.querySelector("figcaption").textContent + " — " + t("chartTableNote"));
    tbl.appendChild(caption);
    var thead = el("thead");
    var tr = el("tr");
    headers.forEach(function (h) {
      var th = el("th", null, h);
      th.scope = "col";
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    tbl.appendChild(thead);
    var tbody = el("tbody");
    if (!rows.length) {
      var empty = el("tr");
      var td = el("td", null, t("chartEmpty"));
      td.colSpan = headers.length;
      empty.appendChild(td);
      tbody.appendChild(empty);
    }
    rows.forEach(function (row) {
      var r = el("tr");
      row.forEach(function (cell, i) {
        var c = el(i === 0 ? "th" : "td", null, cell);
        if (i === 0) c.scope = "row";
        r.appendChild(c);
      });
      tbody.appendChild(r);
    });
    tbl.appendChild(tbody);
  }

  function gridX(node, scale, x0, width, top, bottom) {
    for (var v = 0; v <= scale.max + 1e-9; v += scale.step) {
      var x = x0 + (v / scale.max) * width;
      node.appendChild(svg("line", { x1: x, x2: x, y1: top, y2: bottom, "class": v === 0 ? "axis" : "grid" }));
      node.appendChild(svg("text", { x: x, y: bottom + 16, "text-anchor": "middle", "class": "tick" }, D.formatNumber(v)));
    }
  }

  function gridY(node, scale, y0, height, left, right) {
    for (var v = 0; v <= scale.max + 1e-9; v += scale.step) {
      var y = y0 - (v / scale.max) * height;
      node.appendChild(svg("line", { x1: left, x2: right, y1: y, y2: y, "class": v === 0 ? "axis" : "grid" }));
      node.appendChild(svg("text", { x: left - 8, y: y + 4, "text-anchor": "end", "class": "tick" }, D.formatNumber(v)));
    }
  }

  /* Horizontal bars, one per row: [{label, value, className}]. */
  function horizontalBars(figure, rows) {
    if (!rows.length) return emptyChart(figure);
    var W = 600;
    var labelW = 176;
    var x0 = labelW + 12;
    var plotW = W - x0 - 44;
    var rowH = 26;
    var top = 6;
    var H = top + rows.length * rowH + 26;
    var node = prepare(figure, W, H);
    var max = 0;
    rows.forEach(function (r) { max = Math.max(max, r.value); });
    var scale = niceScale(max);
    gridX(node, scale, x0, plotW, top, top + rows.length * rowH);
    rows.forEach(function (r, i) {
      var y = top + i * rowH;
      var g = svg("g", { "class": "bar-row" });
      g.appendChild(svg("title", null, r.label + ": " + D.formatNumber(r.value)));
      g.appendChild(svg("text", { x: labelW, y: y + rowH / 2 + 4, "text-anchor": "end", "class": "label" }, fit(r.label, labelW)));
      var w = scale.max ? (r.value / scale.max) * plotW : 0;
      g.appendChild(svg("rect", {
        x: x0, y: y + 6, width: Math.max(w, r.value > 0 ? 2 : 0), height: rowH - 12, rx: 3,
        "class": "bar" + (r.className ? " " + r.className : ""),
      }));
      g.appendChild(svg("text", { x: x0 + w + 6, y: y + rowH / 2 + 4, "class": "value" }, D.formatNumber(r.value)));
      node.appendChild(g);
    });
  }

  /* Vertical columns over time: [{label, value, title}]. */
  function columns(figure, rows) {
    if (!rows.length) return emptyChart(figure);
    var W = 600;
    var H = 200;
    var left = 44;
    var right = 12;
    var top = 16;
    var bottom = 30;
    var plotW = W - left - right;
    var plotH = H - top - bottom;
    var node = prepare(figure, W, H);
    var max = 0;
    rows.forEach(function (r) { max = Math.max(max, r.value); });
    var scale = niceScale(max);
    gridY(node, scale, top + plotH, plotH, left, W - right);
    var slot = plotW / rows.length;
    var barW = Math.max(2, Math.min(40, slot * 0.68));
    var every = Math.ceil(rows.length / 10);
    rows.forEach(function (r, i) {
      var cx = left + slot * i + slot / 2;
      var h = scale.max ? (r.value / scale.max) * plotH : 0;
      var g = svg("g", { "class": "bar-col" });
      g.appendChild(svg("title", null, r.title + ": " + D.formatNumber(r.value)));
      g.appendChild(svg("rect", { x: cx - barW / 2, y: top + plotH - h, width: barW, height: h, rx: 2, "class": "bar" }));
      if (rows.length <= 14 && r.value > 0) {
        g.appendChild(svg("text", { x: cx, y: top + plotH - h - 5, "text-anchor": "middle", "class": "value" }, D.formatNumber(r.value)));
      }
      if (i % every === 0 || rows.length <= 10) {
        g.appendChild(svg("text", { x: cx, y: H - 10, "text-anchor": "middle", "class": "tick" }, r.label));
      }
      node.appendChild(g);
    });
  }

  /* Columns grouped by channel, one colour per language, with a legend. */
  function grouped(figure, categories, series, value) {
    var W = 600;
    var H = 200;
    var left = 44;
    var right = 12;
    var top = 34;
    var bottom = 30;
    var plotW = W - left - right;
    var plotH = H - top - bottom;
    var node = prepare(figure, W, H);
    var max = 0;
    categories.forEach(function (c) {
      series.forEach(function (s) { max = Math.max(max, value(c, s)); });
    });
    var scale = niceScale(max);
    gridY(node, scale, top + plotH, plotH, left, W - right);

    var legendX = W - right;
    for (var k = series.length - 1; k >= 0; k--) {
      var name = D.label("lang_", series[k]);
      var lw = textWidth(name) + 22;
      legendX -= lw;
      node.appendChild(svg("rect", { x: legendX, y: 6, width: 12, height: 12, rx: 2, "class": "bar series-" + (k % 4) }));
      node.appendChild(svg("text", { x: legendX + 17, y: 16, "class": "legend" }, name));
      legendX -= 10;
    }

    var slot = plotW / categories.length;
    var groupW = Math.min(slot * 0.7, 46 * series.length);
    var barW = groupW / series.length;
    categories.forEach(function (c, i) {
      var x = left + slot * i + (slot - groupW) / 2;
      series.forEach(function (s, j) {
        var v = value(c, s);
        var h = scale.max ? (v / scale.max) * plotH : 0;
        var g = svg("g", { "class": "bar-col" });
        g.appendChild(svg("title", null, D.label("channel_", c) + " · " + D.label("lang_", s) + ": " + D.formatNumber(v)));
        g.appendChild(svg("rect", {
          x: x + j * barW + 2, y: top + plotH - h, width: barW - 4, height: h, rx: 2,
          "class": "bar series-" + (j % 4),
        }));
        g.appendChild(svg("text", {
          x: x + j * barW + barW / 2, y: top + plotH - h - 5, "text-anchor": "middle", "class": "value",
        }, D.formatNumber(v)));
        node.appendChild(g);
      });
      node.appendChild(svg("text", { x: left + slot * i + slot / 2, y: H - 10, "text-anchor": "middle", "class": "label" }, D.label("channel_", c)));
    });
  }

  // --- the charts ---------------------------------------------------------------------------

  function drawReasons(list) {
    var figure = $("chart-reasons");
    var rows = (list || []).slice().sort(function (a, b) { return b.count - a.count; }).map(function (r) {
      var base = String(r.reason || "").split(":")[0];
      return { label: D.reasonLabel(r.reason) || "—", value: r.count || 0, className: URGENT_REASONS[base] ? "bar--urgent" : "" };
    });
    horizontalBars(figure, rows);
    fillTable(figure, [t("colReason"), t("colCount")], rows.map(function (r) { return [r.label, D.formatNumber(r.value)]; }));
  }

  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }

  function drawDays(list, days, generatedAt) {
    var figure = $("chart-days");
    var counts = {};
    (list || []).forEach(function (r) { counts[String(r.day).slice(0, 10)] = r.count || 0; });
    // Every day of the period, with zero where nothing was handed off.
    var end = generatedAt ? new Date(Date.parse(generatedAt)) : new Date(D.now());
    if (isNaN(end.getTime())) end = new Date(D.now());
    var keys = Object.keys(counts).sort();
    var last = isoDay(end);
    if (keys.length && keys[keys.length - 1] > last) last = keys[keys.length - 1];
    var endDay = new Date(last + "T00:00:00Z");
    var span = Math.max(1, days || 7);
    var all = [];
    for (var i = span - 1; i >= 0; i--) all.push(isoDay(new Date(endDay.getTime() - i * 86400000)));
    keys.forEach(function (k) { if (all.indexOf(k) < 0) all.push(k); });
    all.sort();
    var rows = all.map(function (day) {
      return {
        label: D.formatDate(day, { month: "numeric", day: "numeric" }),
        title: D.formatDate(day),
        value: counts[day] || 0,
      };
    });
    var total = 0;
    rows.forEach(function (r) { total += r.value; });
    if (!total && !keys.length) emptyChart(figure);
    else columns(figure, rows);
    fillTable(figure, [t("colDay"), t("colCount")], rows.map(function (r) { return [r.title, D.formatNumber(r.value)]; }));
  }

  function drawChannelLanguage(id, list) {
    var figure = $(id);
    var rows = list || [];
    if (!rows.length) {
      emptyChart(figure);
      fillTable(figure, [t("colChannel"), t("colLanguage"), t("colCount")], []);
      return;
    }
    var table = {};
    var channels = CHANNELS.slice();
    var languages = LANGUAGES.slice();
    rows.forEach(function (r) {
      if (channels.indexOf(r.channel) < 0) channels.push(r.channel);
      if (languages.indexOf(r.language) < 0) languages.push(r.language);
      table[r.channel + "|" + r.language] = (table[r.channel + "|" + r.language] || 0) + (r.count || 0);
    });
    grouped(figure, channels, languages, function (c, s) { return table[c + "|" + s] || 0; });
    var out = [];
    channels.forEach(function (c) {
      languages.forEach(function (s) {
        out.push([D.label("channel_", c), D.label("lang_", s), D.formatNumber(table[c + "|" + s] || 0)]);
      });
    });
    fillTable(figure, [t("colChannel"), t("colLanguage"), t("colCount")], out);
  }

  // --- KPIs -------------------------------------------------------------------------------

  function render() {
    var s = state.stats;
    if (!s) return;
    var q = s.queue || {};
    var take = s.wait_to_take || {};
    var containment = s.containment || {};

    ui.queueLength.textContent = D.formatNumber(q.waiting || 0);
    ui.withAgents.textContent = D.formatNumber(q.with_agents || 0);
    ui.oldest.textContent = D.formatDuration(q.oldest_wait_seconds);
    ui.oldest.parentNode.classList.toggle("is-warn", (q.oldest_wait_seconds || 0) >= LONG_WAIT_SECONDS);
    ui.medianSub.textContent = t("kpiMedian") + ": " + D.formatDuration(q.median_wait_seconds);
    ui.avgTake.textContent = D.formatDuration(take.avg_seconds);
    ui.takeCount.textContent = t("kpiTakenCount", { n: D.formatNumber(take.count || 0) });
    ui.p90Take.textContent = D.formatDuration(take.p90_seconds);
    ui.p90Sub.textContent = t("period_" + s.days) !== "period_" + s.days ? t("period_" + s.days) : "";
    ui.containment.textContent = D.formatPercent(containment.rate);
    ui.containmentSub.textContent = t("kpiContainmentDetail", {
      contained: D.formatNumber(containment.contained || 0),
      conversations: D.formatNumber(containment.conversations || 0),
    });
    ui.updated.textContent = s.generated_at ? t("updatedAt", { time: D.formatClockTime(s.generated_at) }) : "";
    if (s.generated_at) ui.updated.title = D.formatFullTime(s.generated_at);

    drawReasons(s.handoffs_by_reason);
    drawDays(s.handoffs_by_day, s.days || state.days, s.generated_at);
    drawChannelLanguage("chart-promises", s.promises);
    drawChannelLanguage("chart-agreements", s.agreements);
    ui.stats.setAttribute("aria-busy", "false");
  }

  // --- loading ------------------------------------------------------------------------------

  var running = null;
  var again = false;

  function load() {
    if (running) {
      again = true;
      return running;
    }
    var days = state.days;
    ui.refresh.disabled = true;
    running = D.api("GET", "/desk/api/stats?days=" + days)
      .then(function (data) {
        if (days !== state.days) return;
        state.stats = data;
        render();
      }, function (error) {
        if (error.status !== 401) showStatus(error.message, "error");
      })
      .then(function () {
        running = null;
        ui.refresh.disabled = false;
        if (again) {
          again = false;
          load();
        }
      });
    return running;
  }

  var signalTimer = null;

  function soon() {
    if (signalTimer) return;
    signalTimer = setTimeout(function () {
      signalTimer = null;
      load();
    }, SIGNAL_DELAY_MS);
  }

  state.days = readPeriod();
  ui.period.value = String(state.days);
  ui.period.addEventListener("change", function () {
    var days = parseInt(ui.period.value, 10);
    if (days !== 1 && days !== 7 && days !== 30) return;
    state.days = days;
    savePeriod(days);
    ui.stats.setAttribute("aria-busy", "true");
    load();
  });
  ui.refresh.addEventListener("click", function () { load(); });

  D.listen({ queue: soon }, function (name, reconnected) {
    ui.conn.setAttribute("data-state", name);
    ui.connText.setAttribute("data-i18n", name);
    ui.connText.textContent = t(name);
    if (reconnected) soon();
  });

  setInterval(load, REFRESH_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") load();
  });
  D.onLanguage(render);

  load();
})();
