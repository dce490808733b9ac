// rignode panel, part 3: the pool — mode (solo / host / join) and host settings, the URLs to share, start/stop,
// the workers table (paged by the rig: 50 rows fetched and drawn whatever the pool's size), bans with a lift button, blocks found with
// each one's payout plan, and the upstream daemon when the pool mines a real coin.
"use strict";
(function () {
  var PAGE = 50;
  var view = { sort: "hashrate_hs", dir: -1, page: 0, filter: "" };
  var edited = { mode: false, settings: false };

  function rejectedTotal(w) {
    var n = 0;
    for (var k in w.rejected) n += w.rejected[k];
    return n;
  }

  /** The part of ADDRESS.NAME after the address; a worker without a name is its address alone. */
  function workerName(w) {
    return w.user.indexOf(w.address + ".") === 0 ? w.user.slice(w.address.length + 1) : w.user === w.address ? "(no name)" : w.user;
  }

  function workerRow(w) {
    var rej = rejectedTotal(w);
    var reasons = Object.keys(w.rejected).map(function (k) { return k + ": " + w.rejected[k]; }).join(", ");
    return RN.el(
      "tr",
      { "data-user": w.user, class: w.connected ? null : "offline" },
      RN.el("td", { class: "name", title: w.user }, w.connected ? null : RN.el("span", { class: "muted" }, "(offline) "), workerName(w)),
      RN.el("td", null, RN.middle(w.address, 8)),
      RN.el("td", { class: "num rate" }, RN.rate(w.hashrate_hs)),
      RN.el("td", { class: "num" }, RN.num(w.difficulty, 6)),
      RN.el("td", { class: "num" }, RN.num(w.accepted)),
      RN.el("td", { class: "num", title: reasons || null }, RN.num(rej) + (reasons ? " (" + reasons + ")" : "")),
      RN.el("td", { class: "num" }, RN.num(w.stale)),
      RN.el("td", { class: "num", title: "quality " + RN.num(w.quality) + ", speed " + RN.num(w.speed) + ", availability " + RN.num(w.availability) + ", participation " + RN.num(w.participation) }, RN.num(w.score, 3)),
      RN.el("td", null, w.last_share ? RN.ago(w.last_share) : "never"),
      RN.el("td", null, w.connected_since ? RN.time(w.connected_since) : "–"),
    );
  }

  /** The page of the table being shown, asked of the rig (sorted, filtered and cut there: 50 rows whatever the pool's size). */
  var fetching = false, again = false;
  async function workers() {
    if (fetching) return void (again = true);
    fetching = true;
    try {
      var q = "offset=" + view.page * PAGE + "&limit=" + PAGE + "&sort=" + view.sort + "&dir=" + (view.dir < 0 ? "desc" : "asc") + "&q=" + encodeURIComponent(view.filter);
      var r = await fetch("/pool/workers?" + q, { cache: "no-store" });
      var p = await r.json();
      if (!r.ok) return void RN.notice("The workers table could not be read: " + (p.message || "HTTP " + r.status), "error");
      var pages = Math.max(1, Math.ceil(p.matched / PAGE));
      if (view.page > pages - 1) {
        view.page = pages - 1;
        again = true;
        return;
      }
      RN.rows(RN.$("workers").tBodies[0], p.workers.map(workerRow), view.filter ? "no worker matches" : "no workers yet");
      RN.$("workers-count").textContent = p.connected + " connected, " + p.total + " known" + (view.filter ? ", " + p.matched + " match" : "");
      RN.$("workers-page").textContent = "page " + (view.page + 1) + " of " + pages;
      RN.$("workers-prev").disabled = view.page === 0;
      RN.$("workers-next").disabled = view.page >= pages - 1;
      RN.$("workers-pager").hidden = pages < 2;
      document.querySelectorAll("#workers th button").forEach(function (b) {
        if (b.dataset.sort === view.sort) b.parentElement.setAttribute("aria-sort", view.dir < 0 ? "descending" : "ascending");
        else b.parentElement.removeAttribute("aria-sort");
      });
    } catch (e) {
    } finally {
      fetching = false;
      if (again) (again = false), workers();
    }
  }

  /** Rows are redrawn only when the bans change (a focused Lift button stays focused); the time left is updated in place. */
  var lastBans = "";
  function bans(list) {
    var k = JSON.stringify(list.map(function (b) { return [b.ip, b.worker, b.reason, b.until]; }));
    if (k === lastBans) {
      list.forEach(function (b, i) {
        var cell = RN.$("bans").tBodies[0].rows[i].querySelector(".left");
        if (cell) cell.textContent = RN.duration(b.seconds_left) + " left";
      });
      return;
    }
    lastBans = k;
    RN.rows(
      RN.$("bans").tBodies[0],
      list.map(function (b) {
        return RN.el(
          "tr",
          { "data-ip": b.ip },
          RN.el("td", { class: "mono" }, b.ip),
          RN.el("td", { class: "wrap" }, b.worker || "whole IP"),
          RN.el("td", { class: "wrap" }, b.reason),
          RN.el("td", { class: "left", title: RN.time(b.until) }, RN.duration(b.seconds_left) + " left"),
          RN.el("td", null, RN.el("button", { type: "button", class: "lift", "aria-label": "Lift the ban on " + b.ip + (b.worker ? " (" + b.worker + ")" : ""), onclick: lift(b.ip) }, "Lift")),
        );
      }),
      "no bans in force",
    );
  }

  function lift(ip) {
    return async function (ev) {
      ev.currentTarget.disabled = true;
      await RN.write("DELETE", "/pool/bans/" + encodeURIComponent(ip), undefined, "Lift the ban on " + ip);
    };
  }

  /** A block's payout plan: the summary from the list; its outputs asked of the rig when opened (a plan can be long). */
  function plan(b) {
    var body = RN.el("div", null, RN.el("p", { class: "muted" }, "loading…"));
    var d = RN.el(
      "details",
      null,
      RN.el("summary", null, b.outputs_count + " outputs · " + b.scheme + (b.basis === "connected" ? " (no shares yet: split among the connected)" : "")),
      RN.el("p", null, "foundation ", RN.coins(b.foundation), " · pool fee ", RN.coins(b.pool_fee)),
      body,
    );
    d.addEventListener("toggle", async function () {
      if (!d.open || d.dataset.loaded) return;
      d.dataset.loaded = "1";
      try {
        var r = await fetch("/pool/blocks/" + encodeURIComponent(b.hash), { cache: "no-store" });
        var full = await r.json();
        if (!r.ok) throw new Error(full.message || "HTTP " + r.status);
        var rows = full.outputs.map(function (o) { return RN.el("tr", null, RN.el("td", { class: "wrap mono" }, o.address), RN.el("td", { class: "num" }, RN.coins(o.amount))); });
        body.replaceChildren(RN.el("table", null, RN.el("thead", null, RN.el("tr", null, RN.el("th", { scope: "col" }, "Address"), RN.el("th", { scope: "col", class: "num" }, "Amount"))), RN.el("tbody", null, ...rows)));
      } catch (e) {
        delete d.dataset.loaded;
        body.replaceChildren(RN.el("p", { class: "bad" }, "The plan could not be read: " + e.message));
      }
    });
    return d;
  }

  var lastBlocks = "";
  function blocks(list) {
    var k = JSON.stringify(list.map(function (b) { return [b.hash, b.status]; }));
    if (k === lastBlocks) return; // redrawn only when it changes: an open plan stays open
    lastBlocks = k;
    RN.rows(
      RN.$("pool-blocks").tBodies[0],
      list.map(function (b) {
        var orphan = b.status !== "main";
        return RN.el(
          "tr",
          { "data-height": b.height },
          RN.el("td", null, RN.el("span", { title: b.hash }, b.height)),
          RN.el("td", null, RN.time(b.time)),
          RN.el("td", { class: orphan ? "orphan" : "good" }, orphan ? "orphaned" : "in main chain"),
          RN.el("td", { class: "num" }, RN.coins(b.total)),
          RN.el("td", { class: "wrap" }, plan(b)),
        );
      }),
      "no blocks found yet",
    );
  }

  /** With --bus: every instance's health (from the bus) and the pool-wide sums; hidden for a pool alone. */
  function members(s) {
    RN.show("pool-members", !!s.instances);
    if (!s.instances) return;
    var w = s.pool_wide;
    RN.$("pool-wide").textContent = "Pool-wide (" + w.members + " instances): " + RN.rate(w.hashrate_hs) + ", " + RN.num(w.workers) + " workers on " + RN.num(w.connections) + " connections, " + RN.num(w.accepted) + " shares accepted, " + RN.num(w.rejected) + " rejected.";
    RN.rows(
      RN.$("instances").tBodies[0],
      s.instances.slice().sort(function (a, b) { return a.instance - b.instance; }).map(function (h) {
        return RN.el(
          "tr",
          null,
          RN.el("td", null, RN.el("span", { title: h.member }, h.instance)),
          RN.el("td", { class: h.leader ? "good" : "" }, h.leader ? "leader" : "follower"),
          RN.el("td", { class: "num" }, RN.num(h.connections)),
          RN.el("td", { class: "num" }, RN.num(h.workers)),
          RN.el("td", { class: "num" }, RN.rate(h.hashrate)),
          RN.el("td", { class: "num" }, RN.num(h.accepted)),
          RN.el("td", { class: "num" }, RN.num(h.rejected)),
          RN.el("td", null, h.job === null ? "none" : h.job + (h.height === null ? "" : " (height " + h.height + ")")),
          RN.el("td", { class: h.problems.length ? "bad" : "good" }, h.problems.length ? h.problems.join("; ") : "ok"),
        );
      }),
      "no instance has reported yet",
    );
  }

  /** With --stratum-threads N > 1: each shard of this process (its own listeners and sessions), hidden otherwise. */
  function shards(s) {
    var list = s.shards || [];
    RN.show("pool-shards", list.length > 0);
    if (!list.length) return;
    RN.$("shards-note").textContent = list.length + " Stratum threads share this process's ports (--stratum-threads); a shard that stops is restarted and its miners reconnect to the others.";
    RN.rows(
      RN.$("shards").tBodies[0],
      list.map(function (h) {
        var problems = (h.problems || []).join("; ");
        return RN.el(
          "tr",
          { "data-shard": h.shard },
          RN.el("td", null, String(h.shard)),
          RN.el("td", { class: h.listening ? "good" : "bad" }, (h.listening ? "listening" : "starting") + (h.restarts ? ", restarted " + h.restarts + "×" : "")),
          RN.el("td", { class: "num" }, RN.num(h.connections)),
          RN.el("td", { class: "num" }, RN.num(h.workers)),
          RN.el("td", { class: "num" }, RN.rate(h.hashrate_hs)),
          RN.el("td", { class: "num" }, RN.num(h.accepted)),
          RN.el("td", { class: "num" }, RN.num(h.rejected)),
          RN.el("td", { class: "num" }, h.job_to_notify_ms === null ? "–" : RN.num(h.job_to_notify_ms, 1) + " ms"),
          RN.el("td", { class: problems ? "bad" : "good" }, problems || "ok"),
        );
      }),
      "no shard has reported yet",
    );
  }

  function shareUrls(l) {
    var host = location.hostname.indexOf(":") >= 0 ? "[" + location.hostname + "]" : location.hostname;
    var loop = /^(127\.|localhost$|\[::1\]$)/.test(host);
    var items = [];
    if (l && l.stratum_json) items.push(["Any Stratum V1 miner", "stratum+tcp://" + host + ":" + l.stratum_json]);
    if (l && l.stratum_tls) items.push(["Stratum V1 over TLS", "stratum+ssl://" + host + ":" + l.stratum_tls]);
    if (l && l.stratum) items.push(["rignode workers (--pool)", host + ":" + l.stratum]);
    var box = RN.$("share-urls");
    var k = JSON.stringify(items);
    if (box.dataset.key === k) return;
    box.dataset.key = k;
    box.replaceChildren.apply(
      box,
      items.length
        ? items.map(function (it, i) {
            var id = "share-url-" + i;
            return RN.el("div", { class: "share" }, RN.el("label", { for: id }, it[0]), RN.el("input", { id: id, readonly: true, value: it[1] }), RN.el("button", { type: "button", onclick: copy(id) }, "Copy"));
          }).concat(loop ? [RN.el("p", { class: "muted" }, "Shown with the address this page was opened at; others on the network use this machine's LAN address.")] : [])
        : [RN.el("p", { class: "muted" }, "The pool is not listening (mode solo or join, or stopped).")],
    );
  }

  function copy(id) {
    return async function () {
      var input = RN.$(id);
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (e) {
        input.select();
        document.execCommand("copy");
      }
      RN.notice("Copied " + input.value, "ok");
    };
  }

  function upstream(src) {
    var up = src && src.kind === "upstream";
    RN.show("upstream", up);
    if (!up) return;
    RN.facts(RN.$("upstream-facts"), [
      ["Daemon", src.url + " · " + src.coin + " " + src.chain],
      ["State", src.up ? "up" : "down" + (src.down_since ? " since " + RN.time(Date.parse(src.down_since)) : ""), { class: src.up ? "good" : "bad" }],
      ["Last error", src.last_error || "none"],
      ["Template", src.height === null ? "none yet" : "height " + src.height + ", " + src.transactions + " transactions, " + (src.template_age_ms === null ? "–" : RN.duration(src.template_age_ms / 1000) + " old")],
      ["Blocks", "submitted " + src.blocks_submitted + ", accepted " + src.blocks_accepted],
      ["Last proposal rejection", src.last_proposal_rejection],
    ]);
  }

  /** `hostOnly`: a pool on a coin daemon has no chain of its own to mine solo on, and does not join others. */
  function modeForm(m, hostOnly) {
    var f = RN.$("mode-form");
    f.querySelectorAll("input[name=mode]").forEach(function (r) { r.disabled = hostOnly && r.value !== "host"; });
    RN.$("mode-note").hidden = !hostOnly;
    if (!edited.mode) {
      f.querySelectorAll("input[name=mode]").forEach(function (r) { r.checked = r.value === m.mode; });
      if (m.pool) RN.$("join-pool").value = m.pool;
      if (m.user) RN.$("join-user").value = m.user;
    }
    var chosen = f.querySelector("input[name=mode]:checked");
    RN.$("join-fields").disabled = !chosen || chosen.value !== "join";
  }

  function settingsForm(s) {
    if (edited.settings || !s) return;
    RN.$("set-fee").value = s.pool_fee_percent;
    RN.$("set-interval").value = s.share_interval_s;
    RN.$("set-conns").value = s.max_conns_per_ip;
    RN.$("set-ban").value = s.ban_seconds;
  }

  RN.sections.push(function (a) {
    var s = a["/pool/stats"];
    RN.show("pool", !!s);
    if (!s) return;
    var k = [
      ["mode", s.mode + (s.running ? " (pool open)" : " (pool closed)"), "pool-mode"],
      [s.pool_wide ? "this instance's hashrate" : "pool hashrate", RN.rate(s.hashrate_hs), "pool-rate"],
      ["workers", s.workers_connected, "pool-workers"],
      ["accepted shares", RN.num(s.shares.accepted), "pool-accepted"],
      ["blocks found", s.blocks_found, "pool-blocks-found"],
    ];
    if (s.pool_wide) k.splice(1, 0, ["pool-wide hashrate", RN.rate(s.pool_wide.hashrate_hs), "pool-wide-rate"]);
    RN.kpis(RN.$("pool-kpis"), k);
    RN.$("fee-note").textContent =
      "Every block pays its workers straight from the coinbase. Fees: " + RN.num(s.fee.foundation_percent) + "% to the foundation (fixed) and " + RN.num(s.fee.pool_bps / 100) + "% to this pool (0–10%, set below).";
    var l = s.listening || {};
    shareUrls(s.running ? l : null);
    RN.$("ports-note").textContent = "Ports (set at start with --stratum, --stratum-json, --stratum-tls): native " + (l.stratum || "closed") + ", Stratum V1 " + (l.stratum_json || "closed") + ", TLS " + (l.stratum_tls || "off") + ".";
    RN.$("pool-start").disabled = s.running;
    RN.$("pool-stop").disabled = !s.running;
    modeForm(a["/pool/mode"] || { mode: s.mode }, !!(s.source && s.source.kind === "upstream"));
    settingsForm(a["/pool/settings"]);
    upstream(s.source);
    members(s);
    shards(s);
    workers();
    bans((a["/pool/bans"] || { bans: [] }).bans);
    blocks((a["/pool/blocks"] || { blocks: [] }).blocks);
  });

  function redraw() {
    if (RN.snap && RN.snap.api["/pool/stats"]) workers();
  }
  document.querySelectorAll("#workers th button").forEach(function (b) {
    b.addEventListener("click", function () {
      if (view.sort === b.dataset.sort) view.dir = -view.dir;
      else (view.sort = b.dataset.sort), (view.dir = b.dataset.sort === "user" ? 1 : -1);
      redraw();
    });
  });
  RN.$("workers-filter").addEventListener("input", function (ev) {
    view.filter = ev.target.value.trim();
    view.page = 0;
    redraw();
  });
  RN.$("workers-prev").addEventListener("click", function () {
    view.page = Math.max(0, view.page - 1);
    redraw();
  });
  RN.$("workers-next").addEventListener("click", function () {
    view.page++;
    redraw();
  });

  var modeFormEl = RN.$("mode-form");
  modeFormEl.addEventListener("input", function () {
    edited.mode = true;
    var chosen = modeFormEl.querySelector("input[name=mode]:checked");
    RN.$("join-fields").disabled = !chosen || chosen.value !== "join";
  });
  modeFormEl.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var chosen = modeFormEl.querySelector("input[name=mode]:checked");
    if (!chosen) return RN.notice("Choose a mode first", "error");
    var body = { mode: chosen.value };
    if (chosen.value === "join") {
      body.pool = RN.$("join-pool").value.trim();
      body.user = RN.$("join-user").value.trim();
      if (!body.pool) return RN.notice("Joining needs the pool's URL (host:port)", "error");
    }
    RN.$("mode-apply").disabled = true;
    try {
      // Done or not, the radio goes back to what the rig reports at the next snapshot (typed join fields stay).
      await RN.write("POST", "/pool/mode", body, "Switch to " + chosen.value);
      edited.mode = false;
    } finally {
      RN.$("mode-apply").disabled = false;
    }
  });

  var settingsEl = RN.$("settings-form");
  settingsEl.addEventListener("input", function () { edited.settings = true; });
  settingsEl.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var body = {};
    var bad = [];
    [["set-fee", "pool_fee_percent", 0, 10], ["set-interval", "share_interval_s", 0.1, 3600], ["set-conns", "max_conns_per_ip", 0, 1e9], ["set-ban", "ban_seconds", 0, 1e9]].forEach(function (f) {
      var v = RN.$(f[0]).value.trim();
      if (v === "") return;
      var n = Number(v);
      if (!isFinite(n) || n < f[2] || n > f[3]) bad.push(RN.$(f[0]).labels[0].textContent);
      else body[f[1]] = n;
    });
    if (bad.length) return RN.notice("Out of range: " + bad.join(", "), "error");
    RN.$("settings-save").disabled = true;
    try {
      if (await RN.write("POST", "/pool/configure", body, "Save pool settings")) edited.settings = false;
    } finally {
      RN.$("settings-save").disabled = false;
    }
  });

  RN.action("pool-start", "POST", "/pool/start", undefined, "Start the pool");
  RN.action("pool-stop", "POST", "/pool/stop", undefined, "Stop the pool");
})();
