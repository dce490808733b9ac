// rignode panel, part 4: the chain (tip, the node's balance, peers with their heights, recent blocks) and, on a
// proof-of-sync network, this node's eligibility and slot, the next height's producers and its recent claims.
"use strict";
(function () {
  var lastBlocks = "";

  RN.sections.push(function (a) {
    var tip = a["/api/chain/tip"];
    RN.show("chain", !!tip);
    if (!tip) return;
    var wallet = a["/api/wallet"];
    var peers = a["/api/peers"] || { peers: [], configured: [] };
    RN.facts(RN.$("chain-facts"), [
      ["Network", tip.network],
      ["Tip", RN.el("span", null, RN.num(tip.height) + " · ", RN.short(tip.hash, 16))],
      ["Tip time", RN.time(tip.time, true)],
      ["Peers", peers.peers.filter(function (p) { return p.ready; }).length + " ready of " + peers.peers.length + " open" + (peers.addresses ? ", " + peers.addresses.size + " addresses known" : "")],
      ["Address", wallet ? RN.el("span", { class: "mono" }, wallet.address) : "none (no wallet)"],
      ["Balance", wallet ? RN.el("span", null, RN.coins(wallet.balance, wallet.decimals), " coins") : null],
    ]);
    RN.rows(
      RN.$("peers").tBodies[0],
      peers.peers.map(function (p) {
        return RN.el(
          "tr",
          null,
          RN.el("td", { class: "mono", title: p.id || "" }, p.address),
          RN.el("td", null, p.inbound ? "inbound" : "outbound"),
          RN.el("td", { class: "num" }, p.height === null ? "–" : RN.num(p.height)),
          RN.el("td", { class: p.ready ? "good" : "warn" }, p.ready ? "ready" : "handshake"),
        );
      }),
      "no peers connected",
    );
    var bl = (a["/api/chain/blocks"] || { blocks: [] }).blocks;
    var k = JSON.stringify(bl.map(function (b) { return b.hash; }));
    if (k !== lastBlocks) {
      lastBlocks = k;
      // The producer column is for proof-of-sync chains; on proof-of-work it stays out of the way.
      RN.$("chain-blocks").classList.toggle("pow", !bl.some(function (b) { return b.producer; }));
      RN.rows(
        RN.$("chain-blocks").tBodies[0],
        bl.map(function (b) {
          return RN.el(
            "tr",
            null,
            RN.el("td", null, RN.num(b.height)),
            RN.el("td", null, RN.short(b.hash, 16)),
            RN.el("td", null, RN.time(b.time, true)),
            RN.el("td", { class: "num" }, b.txs),
            RN.el("td", { class: "num" }, RN.coins(b.reward)),
            RN.el("td", null, b.producer ? RN.el("span", null, RN.short(b.producer, 12), " (" + b.slot + ")") : "–"),
          );
        }),
        "no blocks",
      );
    }
  });

  RN.sections.push(function (a) {
    var s = a["/api/mining/status"];
    RN.show("sync", !!s);
    if (!s) return;
    RN.facts(RN.$("sync-facts"), [
      ["This node", RN.short(s.my_node_id, 16)],
      ["Eligible", s.eligible ? "yes" : "no (" + s.sync_state + ", streak " + s.eligible_streak + ")", { class: s.eligible ? "good" : "warn" }],
      ["Slot for height " + s.next_height, s.my_slot === null ? "none" : s.my_slot === 0 ? "0 (primary)" : s.my_slot + " (backup)"],
      ["Heights", "local " + s.local_height + ", network " + s.network_height + (s.lag_blocks ? ", " + s.lag_blocks + " behind" : "")],
      ["Eligible producers", s.eligible_pool_size + " (ready peers " + s.ready_peers + ")"],
      ["Blocks produced", s.blocks_produced],
    ]);
    var winners = [s.current_winner].concat(s.backups).filter(function (x) { return x; });
    RN.$("sync-winners").replaceChildren.apply(
      RN.$("sync-winners"),
      winners.length
        ? winners.map(function (w, i) { return RN.el("li", { class: w === s.my_node_id ? "good" : null }, (i === 0 ? "primary " : "backup ") + w + (w === s.my_node_id ? " (this node)" : "")); })
        : [RN.el("li", { class: "muted" }, "no eligible producer yet")],
    );
    RN.rows(
      RN.$("sync-claims").tBodies[0],
      s.recent_claims
        .slice()
        .reverse()
        .map(function (c) {
          return RN.el("tr", null, RN.el("td", null, c.height), RN.el("td", null, c.slot), RN.el("td", { class: c.outcome === "produced" ? "good" : c.outcome === "failed" ? "bad" : null, title: c.error || null }, c.outcome + (c.error ? ": " + c.error : "")), RN.el("td", null, RN.time(c.at)));
        }),
      "no claims yet",
    );
  });
})();
