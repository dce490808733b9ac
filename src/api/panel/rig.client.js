// rignode panel, part 2: the rig — hashrate windows and chart, threads and their CPUs, kernel, sensors, the
// governors' and the tuner's decisions, and (a worker) its pool connection.
"use strict";
(function () {
  function temperature(t) {
    if (!t) return "unavailable";
    if (t.status === "ok") return RN.num(t.celsius, 1) + " °C (" + t.sensor + (t.frozen ? ", frozen: not changing for 10 min" : "") + ")";
    if (t.status === "lost") return "lost: " + t.sensor + " (" + t.reason + ")";
    return "unavailable: " + t.reason;
  }

  function power(p) {
    if (!p || p.status === "unknown" || p.status === "unavailable") return "unavailable" + (p && p.reason ? ": " + p.reason : "");
    return p.status + (p.batteryPercent !== null && p.batteryPercent !== undefined ? ", battery " + RN.num(p.batteryPercent, 0) + "%" : "") + (p.source ? " (" + p.source + ")" : "");
  }

  function tuner(t, mem) {
    if (t) {
      var best = t.best ? " best so far " + t.best.candidate.threads + " threads × batch " + t.best.candidate.batch + " at " + RN.rate(t.best.mean) : "";
      return "auto-tune " + t.phase + (t.suspended ? " (suspended by a governor)" : "") + ": trying " + t.candidate.threads + " threads × batch " + t.candidate.batch + ", " + t.evaluated + "/" + t.planned + " tried;" + best;
    }
    if (mem && mem.best) return "off; remembered best " + mem.best.threads + " threads × batch " + mem.best.batch + " at " + RN.rate(mem.best.avg);
    return "off";
  }

  /** A governor's state and reason; before its first poll it has no decision yet. */
  function governor(g, state) {
    if (!g.enabled) return "off";
    return g.decision ? state + " — " + g.decision.reason : "starting (no reading yet)";
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  var lastThreads = "";

  RN.sections.push(function (a) {
    var m = a["/api/miner"];
    RN.show("rig", !!m);
    if (!m) return;
    var info = a["/info"] || {};
    var hr = m.hashrate_hs || {};
    RN.kpis(RN.$("rig-kpis"), [
      ["10 s", RN.rate(hr["10s"]), "rig-10s"],
      ["60 s", RN.rate(hr["60s"]), "rig-60s"],
      ["15 min", RN.rate(hr["15m"]), "rig-15m"],
      ["state", m.state, "rig-state"],
    ]);
    var tu = a["/api/miner/tuning"];
    var d = tu && tu.decision;
    RN.facts(RN.$("rig-facts"), [
      ["Threads", m.threads + (m.active_workers !== m.threads ? " (" + m.active_workers + " running, change under way)" : "")],
      ["Batch", RN.num(m.batch) + " nonces"],
      ["Kernel", m.kernel_variant + " · " + m.impl + (info.cpu ? " · " + info.cpu.model : "")],
      ["Blocks found", m.blocks_found],
      ["Temperature", tu ? temperature(tu.sensors.temperature) : "unavailable"],
      ["Power", tu ? power(tu.sensors.power) : "unavailable"],
      ["Thermal governor", tu ? governor(tu.thermal, tu.thermal.state) : null],
      ["Power governor", tu ? governor(tu.power, tu.power.decision && tu.power.decision.state) : null],
      ["Decision", d ? (d.should_mine ? "mine" : "paused") + ", " + plural(d.threads, "thread") + ", batch " + d.batch + " units" + (d.constraints_applied.length ? " (" + d.constraints_applied.join(", ") + ")" : "") : "not decided yet"],
      ["Tuner", tu ? tuner(tu.tuner, tu.memory) : null],
      ["Uptime", RN.duration(info.uptime_s)],
    ]);
    RN.$("miner-pause").disabled = m.state === "paused";
    RN.$("miner-resume").disabled = m.state === "running";
    var key = JSON.stringify(m.per_thread);
    if (key !== lastThreads) {
      lastThreads = key;
      RN.rows(
        RN.$("threads").tBodies[0],
        m.per_thread.map(function (t) {
          var r = t.hashrate_hs || {};
          return RN.el("tr", null, RN.el("td", null, t.thread), RN.el("td", null, t.cpu === null ? "not pinned" : t.cpu), RN.el("td", { class: "num" }, RN.rate(r["10s"])), RN.el("td", { class: "num" }, RN.rate(r["60s"])), RN.el("td", { class: "num" }, RN.num(t.hashes)));
        }),
        "no threads running",
      );
    }
    var w = a["/api/worker"];
    RN.show("worker-link", !!w);
    if (w) {
      var s = w.shares || {};
      RN.facts(RN.$("worker-facts"), [
        ["Pool", w.pool || "–"],
        ["State", w.connected ? "connected (" + w.protocol + ")" : "disconnected", { class: w.connected ? "good" : "bad" }],
        ["Worker", w.user],
        ["Shares", "accepted " + s.accepted + ", rejected " + s.rejected + ", stale " + s.stale + ", lost " + s.lost],
        ["Connects", w.connects],
      ]);
    }
  });

  RN.action("miner-pause", "POST", "/api/miner/pause", undefined, "Pause mining");
  RN.action("miner-resume", "POST", "/api/miner/resume", undefined, "Resume mining");
})();
