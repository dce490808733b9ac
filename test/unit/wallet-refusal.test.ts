// A node's refusal of a transfer: base units and the rule in the API's JSON, coins in the CLI's words.
import { describe, expect, test } from "bun:test";
import { createApp } from "../../src/api";
import { MetricsRegistry } from "../../src/core";
import { ValidationError } from "../../src/chain";
import { refusalMessage } from "../../src/cli/commands/wallet";

describe("insufficient funds", () => {
  test("the API answers the message as before, plus the rule and amounts in base units", async () => {
    const app = createApp({
      token: null,
      health: () => ({ ok: true }),
      info: () => ({}),
      metrics: new MetricsRegistry(),
      groups: [(a) => a.post("/api/tx", () => {
        throw new ValidationError("insufficient-funds", "available 270544021027 < 100000000010000", { available: 270544021027n, needed: 100000000010000n });
      })],
    });
    const res = await app.request("/api/tx", { method: "POST" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "input",
      message: "insufficient-funds: available 270544021027 < 100000000010000",
      details: { rule: "insufficient-funds", available: "270544021027", needed: "100000000010000" },
    });
  });

  test("the CLI says it in coins with the network's decimals", () => {
    const body = { error: "input", message: "insufficient-funds: available 270544021027 < 100000000010000", details: { rule: "insufficient-funds", available: "270544021027", needed: "100000000010000" } };
    expect(refusalMessage(body, 400, 8)).toBe("insufficient-funds: available 2705.44021027 coins, needed 1000000.0001 coins (amount + fee)");
    expect(refusalMessage(body, 400, 4)).toBe("insufficient-funds: available 27054402.1027 coins, needed 10000000001 coins (amount + fee)");
  });

  test("other refusals, or details that are not whole numbers, keep the node's message", () => {
    expect(refusalMessage({ message: "bad-nonce: transfer nonce 3, next for this sender is 2", details: { rule: "bad-nonce" } }, 400, 8)).toBe("bad-nonce: transfer nonce 3, next for this sender is 2");
    expect(refusalMessage({ message: "insufficient-funds: x", details: { rule: "insufficient-funds", available: "1.5", needed: "2" } }, 400, 8)).toBe("insufficient-funds: x");
    expect(refusalMessage({}, 502, 8)).toBe("HTTP 502");
  });
});
