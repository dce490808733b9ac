// rignode panel, last part: the live feed (Server-Sent Events, at most one snapshot a second, resumed after a
// reconnect with the chart's gap filled from the history) and the header.
"use strict";
(function () {
  var NAV = [["rig", "Rig"], ["pool", "Pool"], ["chain", "Chain"], ["sync", "Proof-of-sync"]];

  function header(a) {
    var info = a["/info"] || {};
    RN.$("role").textContent = info.role ? "· " + info.role : "";
    document.title = "rignode " + (info.role || "") + (info.chain ? " · " + info.chain.network : "");
    var bits = ["v" + info.version];
    if (info.chain) bits.push(info.chain.network);
    bits.push("up " + RN.duration(info.uptime_s));
    var h = a["/health"];
    if (h && !h.ok) bits.push("degraded");
    RN.$("head-facts").textContent = bits.join(" · ");
    RN.$("nav").replaceChildren.apply(
      RN.$("nav"),
      NAV.filter(function (n) { return !RN.$(n[0]).hidden; }).map(function (n) { return RN.el("a", { href: "#" + n[0] }, n[1]); }),
    );
  }

  function render(snap) {
    var t0 = performance.now();
    RN.snap = snap;
    var a = snap.api;
    if (a["/api/chain/tip"] && a["/api/chain/tip"].decimals !== undefined) RN.decimals = a["/api/chain/tip"].decimals;
    RN.sections.forEach(function (s) {
      try {
        s(a);
      } catch (e) {
        console.error("panel: a section failed to render", e);
      }
    });
    header(a);
    try {
      RN.chartAdd(snap.point);
    } catch (e) {
      console.error("panel: the chart failed to draw", e);
    }
    var ms = performance.now() - t0;
    RN.stats.snapshots++;
    RN.stats.lastRenderMs = ms;
    if (RN.stats.firstRenderMs === null) {
      RN.stats.firstRenderMs = performance.now();
      document.body.dataset.ready = "1";
    }
  }

  function live(on, text) {
    var p = RN.$("live");
    p.className = "pill " + (on ? "on" : "off");
    p.textContent = text;
  }

  async function history() {
    try {
      var r = await fetch("/api/panel/history", { cache: "no-store" });
      if (r.ok) RN.chartReset(await r.json());
    } catch (e) {}
  }

  /** The feed was refused (not a stream: e.g. 503, every place taken): ask once more to read why, and say it. */
  async function explain() {
    var ctl = new AbortController();
    try {
      var r = await fetch("/api/panel/events", { signal: ctl.signal, cache: "no-store" });
      if (!r.ok) {
        var j = await r.json().catch(function () { return {}; });
        RN.notice("Live updates refused: " + (j.message || "HTTP " + r.status) + " (retrying every 5 s)", "error");
      }
    } catch (e) {
    } finally {
      ctl.abort();
    }
  }

  function connect() {
    var es = new EventSource("/api/panel/events");
    es.addEventListener("open", function () {
      live(true, "live");
      history();
    });
    es.addEventListener("snapshot", function (ev) {
      try {
        render(JSON.parse(ev.data));
      } catch (e) {
        console.error("panel: bad snapshot", e);
      }
    });
    es.addEventListener("error", function () {
      // The browser retries by itself (the stream says every 2 s) unless the answer was not a stream at all.
      live(false, es.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting…");
      if (es.readyState === EventSource.CLOSED) {
        explain();
        setTimeout(connect, 5000);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", connect);
})();
