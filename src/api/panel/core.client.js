// rignode panel, part 1: DOM helpers, number formats, the token and writes, the live feed and the chart.
// Plain browser JavaScript, served as /panel/app.js with the other parts; every value from the rig reaches the page
// through textContent or attributes, never as HTML (worker names come from strangers).
"use strict";
var RN = (window.RN = { sections: [], decimals: 8, snap: null, stats: { snapshots: 0, lastRenderMs: 0, firstRenderMs: null } });

RN.$ = function (id) {
  return document.getElementById(id);
};

/** An element with attributes (class, title, data-*, on*) and children (strings become text). */
RN.el = function (tag, attrs) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = String(v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (var i = 2; i < arguments.length; i++) {
    var c = arguments[i];
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return e;
};

/** Replaces a tbody's rows (an array of <tr>), or shows one row saying there is nothing. */
RN.rows = function (tbody, rows, empty) {
  var cols = tbody.parentElement.querySelectorAll("thead th").length || 1;
  tbody.replaceChildren.apply(tbody, rows.length ? rows : [RN.el("tr", null, RN.el("td", { colspan: cols, class: "muted" }, empty || "none"))]);
};

/** A <dl> from [term, value] pairs; a value may be a node or text; null values are left out. */
RN.facts = function (dl, pairs) {
  var out = [];
  pairs.forEach(function (p) {
    if (p[1] === null || p[1] === undefined) return;
    out.push(RN.el("dt", null, p[0]), RN.el("dd", p[2] || null, p[1]));
  });
  dl.replaceChildren.apply(dl, out);
};

RN.kpis = function (box, items) {
  box.replaceChildren.apply(
    box,
    items.map(function (k) {
      return RN.el("div", { class: "kpi", "data-kpi": k[2] || null }, RN.el("b", null, k[1]), RN.el("span", null, k[0]));
    }),
  );
};

RN.show = function (id, on) {
  var s = RN.$(id);
  if (s.hidden === on) s.hidden = !on;
};

// ---- formats ----------------------------------------------------------------------------------------------
var NF = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
RN.num = function (x, digits) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  return digits === undefined ? NF.format(x) : new Intl.NumberFormat(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(x);
};
RN.rate = function (hs) {
  if (hs === null || hs === undefined || !isFinite(hs)) return "–";
  var u = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s"];
  var i = 0;
  while (Math.abs(hs) >= 1000 && i < u.length - 1) (hs /= 1000), i++;
  return RN.num(hs, i === 0 ? 0 : 2) + " " + u[i];
};
/** Base units (a decimal string) as coins; the exact base units go in a title for hover. */
RN.coins = function (base, decimals) {
  if (base === null || base === undefined) return RN.el("span", null, "–");
  var d = decimals === undefined ? RN.decimals : decimals;
  var s = String(base);
  var neg = s[0] === "-";
  if (neg) s = s.slice(1);
  s = s.padStart(d + 1, "0");
  var whole = s.slice(0, s.length - d);
  var frac = d ? s.slice(s.length - d).replace(/0+$/, "") : "";
  var text = (neg ? "-" : "") + new Intl.NumberFormat().format(BigInt(whole)) + (frac ? "." + frac : "");
  return RN.el("span", { title: base + " base units", class: "num" }, text);
};
/** A local date and time from ms (or s when `secs`). */
RN.time = function (t, secs) {
  if (t === null || t === undefined) return "–";
  return new Date(secs ? t * 1000 : t).toLocaleString();
};
RN.duration = function (s) {
  if (s === null || s === undefined || !isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? d + "d " + h + "h" : h ? h + "h " + m + "m" : m ? m + "m " + (s % 60) + "s" : s + "s";
};
RN.ago = function (ms) {
  return ms === null || ms === undefined ? "never" : RN.duration((Date.now() - ms) / 1000) + " ago";
};
/** A long identifier cut in the middle (its start and end tell it apart), whole on hover. */
RN.middle = function (text, n) {
  return RN.el("span", { class: "mono", title: text }, text && text.length > 2 * n + 1 ? text.slice(0, n) + "…" + text.slice(-n) : text || "–");
};
RN.short = function (hex, n) {
  n = n || 12;
  return RN.el("span", { class: "mono", title: hex }, hex && hex.length > n + 2 ? hex.slice(0, n) + "…" : hex || "–");
};

// ---- notices, the token, writes ----------------------------------------------------------------------------
RN.notice = function (text, kind) {
  var n = RN.$("notice");
  n.textContent = text;
  n.className = kind || "";
  n.hidden = false;
  clearTimeout(RN.notice.timer);
  if (kind === "ok") RN.notice.timer = setTimeout(function () { n.hidden = true; }, 6000);
};

var TOKEN_KEY = "rignode-api-token";
RN.token = function () {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch (e) {
    return RN.tokenMem || null;
  }
};
RN.setToken = function (t) {
  RN.tokenMem = t;
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch (e) {}
};

/** Asks for the token (why: the API's own words); resolves with it, or null when the operator cancels. */
RN.askToken = function (why) {
  return new Promise(function (resolve) {
    var dlg = RN.$("token-dlg"), form = RN.$("token-form"), input = RN.$("token-input");
    RN.$("token-why").textContent = why;
    input.value = "";
    var done = function (v) {
      form.removeEventListener("submit", onSubmit);
      RN.$("token-cancel").removeEventListener("click", onCancel);
      dlg.removeEventListener("cancel", onCancel);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    var onSubmit = function (ev) {
      ev.preventDefault();
      done(input.value.trim() || null);
    };
    var onCancel = function (ev) {
      if (ev) ev.preventDefault();
      done(null);
    };
    form.addEventListener("submit", onSubmit);
    RN.$("token-cancel").addEventListener("click", onCancel);
    dlg.addEventListener("cancel", onCancel);
    dlg.showModal();
    input.focus();
  });
};

/**
 * A write to the rig's API (POST/DELETE). A 401 asks for the token once and tries again with it; a refusal, a
 * wrong token or any other error is shown in the notice with the API's message. Resolves with the JSON answer
 * or null when it failed.
 */
RN.write = async function (method, path, body, what) {
  for (;;) {
    var headers = {};
    var t = RN.token();
    if (t) headers.authorization = "Bearer " + t;
    if (body !== undefined) headers["content-type"] = "application/json";
    var res, data;
    try {
      res = await fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
      data = await res.json().catch(function () { return {}; });
    } catch (e) {
      RN.notice(what + " failed: the rig did not answer (" + e.message + ")", "error");
      return null;
    }
    if (res.ok) {
      RN.notice(what + ": done", "ok");
      return data;
    }
    var msg = data && data.message ? data.message : "HTTP " + res.status;
    if (res.status !== 401) {
      RN.notice(what + " refused: " + msg, "error");
      return null;
    }
    var why = t ? "The token was not accepted (wrong or old token). " + msg : "Refused without the API token: " + msg;
    if (t) RN.setToken(null);
    RN.notice(what + " refused: " + why, "error");
    var got = await RN.askToken(why);
    if (!got) {
      RN.notice(what + " refused: " + why + " (no token given)", "error");
      return null;
    }
    RN.setToken(got);
  }
};

/** Wires a button to a write; the button is disabled while it runs. */
RN.action = function (id, method, path, body, what) {
  RN.$(id).addEventListener("click", async function (ev) {
    var b = ev.currentTarget;
    b.disabled = true;
    try {
      await RN.write(method, typeof path === "function" ? path() : path, typeof body === "function" ? body() : body, what);
    } finally {
      b.disabled = false;
    }
  });
};

// ---- chart: the last hour, one point a second -----------------------------------------------------------------
var SERIES_COLOURS = { miner: "#4cb3ff", pool: "#3fd18a" };
RN.chart = { plot: null, data: null, names: [] };

/** Sets the chart from GET /api/panel/history ({t, series}). */
RN.chartReset = function (h) {
  if (RN.chart.plot) (RN.chart.plot.destroy(), (RN.chart.plot = null));
  var names = Object.keys(h.series).filter(function (k) {
    return h.series[k].some(function (v) { return v !== null; });
  });
  RN.chart.names = names;
  RN.chart.hasSeries = Object.keys(h.series).length > 0;
  RN.chart.data = [h.t.slice()].concat(names.map(function (k) { return h.series[k].slice(); }));
  RN.chartDraw();
};

/** Appends one sample ({t, miner?, pool?}) unless it is already there; keeps an hour. */
RN.chartAdd = function (p) {
  var c = RN.chart;
  if (!p || !c.data) return;
  var ts = c.data[0];
  if (ts.length && ts[ts.length - 1] >= p.t) return;
  var fresh = Object.keys(p).filter(function (k) { return k !== "t" && p[k] !== null && c.names.indexOf(k) < 0; });
  if (fresh.length) {
    c.hasSeries = true;
    fresh.forEach(function (k) {
      c.names.push(k);
      c.data.push(ts.map(function () { return null; }));
    });
    if (c.plot) (c.plot.destroy(), (c.plot = null));
  }
  ts.push(p.t);
  c.names.forEach(function (k, i) { c.data[i + 1].push(p[k] === undefined ? null : p[k]); });
  while (ts.length > 3600) c.data.forEach(function (col) { col.shift(); });
  RN.chartDraw();
};

RN.chartDraw = function () {
  var c = RN.chart, box = RN.$("chart");
  if (!c.data || typeof uPlot === "undefined") return;
  RN.$("chart-legend").textContent = c.names.length ? "(" + c.names.join(", ") + ")" : "(no hashrate yet)";
  // A role that neither mines nor pools (a plain node) has no series at all: no chart.
  RN.show("rate", c.hasSeries !== false);
  if (!c.names.length) return;
  var width = Math.max(240, box.clientWidth);
  if (c.plot && c.plot.width === width) {
    c.plot.setData(c.data);
    return;
  }
  if (c.plot) c.plot.destroy();
  var css = getComputedStyle(document.documentElement);
  var axis = { stroke: css.getPropertyValue("--muted").trim(), grid: { stroke: css.getPropertyValue("--line").trim() }, ticks: { stroke: css.getPropertyValue("--line").trim() } };
  c.plot = new uPlot(
    {
      width: width,
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
      axes: [
        Object.assign({ space: 90, incrs: [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600], values: function (u, vals) { return vals.map(function (v) { return new Date(v * 1000).toLocaleTimeString(); }); } }, axis),
        Object.assign({ size: 96, values: function (u, vals) { return vals.map(RN.rate); } }, axis)],
      series: [{}].concat(c.names.map(function (k) { return { label: k, stroke: SERIES_COLOURS[k] || "#c9a0ff", width: 1.5, spanGaps: false, points: { show: false } }; })),
    },
    c.data,
    box,
  );
};
window.addEventListener("resize", function () { RN.chartDraw(); });
