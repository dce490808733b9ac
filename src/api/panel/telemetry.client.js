// rignode panel, part 5: telemetry — the score and rupture class, the KPIs, the advisories in force and the actions
// taken with their outcome. Values reach the page through textContent only (RN.el, RN.facts, RN.kpis).
"use strict";
(function () {
  function pct(x) {
    return x === null || x === undefined ? "–" : RN.num(x * 100, 0) + "%";
  }
  function when(ms) {
    return ms ? new Date(ms).toLocaleTimeString() : "–";
  }
  function signed(n) {
    return n > 0 ? "+" + n : String(n);
  }

  var lastActions = "";
  var lastAdvice = "";

  RN.sections.push(function (a) {
    var t = a["/api/telemetry"];
    RN.show("telemetry", !!t);
    if (!t) return;
    var s = t.last;
    var k = (s && s.kpis) || {};
    RN.kpis(RN.$("tel-kpis"), [
      ["score", s ? RN.num(s.score, 2) : "–", "tel-score"],
      ["class", s ? s.class : "–", "tel-class"],
      ["hashes / J", RN.num(k.hashesPerJoule, 0), "tel-hpj"],
      ["reject ratio", pct(k.rejectRatio), "tel-reject"],
      ["thermal headroom", k.thermalHeadroomC === null || k.thermalHeadroomC === undefined ? "–" : RN.num(k.thermalHeadroomC, 1) + " °C", "tel-headroom"],
      ["latency budget", pct(k.latencyBudget), "tel-latency"],
    ]);
    RN.facts(RN.$("tel-facts"), [
      ["Sampling", RN.num(t.rateHz) + " Hz" + (t.rateHz > 1 ? " (a change is suspected)" : "")],
      ["Hashrate (5 s)", s ? RN.rate(s.sample.hashrate) : "–"],
      ["Load per CPU", s && s.sample.load !== null ? RN.num(s.sample.load, 2) : "–"],
      ["Hazard", s ? RN.num(s.hazard, 3) : "–"],
      ["Why", s && s.reasons.length ? s.reasons.join("; ") : "steady"],
      ["Thresholds", t.thresholdsPath || "built-in"],
    ]);
    var adv = JSON.stringify(t.advisories);
    if (adv !== lastAdvice) {
      lastAdvice = adv;
      RN.rows(
        RN.$("tel-advice").tBodies[0],
        t.advisories.map(function (v) {
          return RN.el("tr", null, RN.el("td", null, when(v.at)), RN.el("td", null, v.kind), RN.el("td", null, v.target), RN.el("td", { class: "num" }, signed(v.delta)), RN.el("td", null, v.reason), RN.el("td", { class: "num" }, v.ttl + " s"));
        }),
        "no advisories",
      );
    }
    var act = JSON.stringify(t.actions);
    if (act !== lastActions) {
      lastActions = act;
      RN.rows(
        RN.$("tel-actions").tBodies[0],
        t.actions
          .slice()
          .reverse()
          .map(function (r) {
            return RN.el(
              "tr",
              { class: "outcome-" + r.outcome },
              RN.el("td", null, when(r.at)),
              RN.el("td", null, r.advisory.kind),
              RN.el("td", { class: "num" }, r.from + " → " + r.to),
              RN.el("td", null, r.kpi + " " + RN.num(r.before, 2) + " → " + RN.num(r.after, 2)),
              RN.el("td", null, r.outcome),
              RN.el("td", null, r.note || ""),
            );
          }),
        "no actions (off unless --telemetry-act)",
      );
    }
  });
})();
