import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadNetwork, NETWORKS, rewardAt } from "../../src/chain";

describe("networks", () => {
  test("built in: devnet (sha256d) and devnet-scrypt, with distinct chain ids and address versions", () => {
    expect(loadNetwork("devnet").algo).toBe("sha256d");
    expect(loadNetwork("devnet-scrypt").algo).toBe("scrypt");
    expect(loadNetwork("devnet").chainId).not.toBe(loadNetwork("devnet-scrypt").chainId);
    expect(loadNetwork("devnet").addressVersion).not.toBe(loadNetwork("devnet-scrypt").addressVersion);
  });
  test("a network file is validated key by key", () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-net-"));
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ ...NETWORKS.devnet, name: "mine", chainId: "mine-1", blockTime: 30 }));
    expect(loadNetwork(good)).toMatchObject({ name: "mine", blockTime: 30 });
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ ...NETWORKS.devnet, blockTime: 0 }));
    expect(() => loadNetwork(bad)).toThrow("key blockTime");
    writeFileSync(bad, JSON.stringify({ ...NETWORKS.devnet, extra: 1 }));
    expect(() => loadNetwork(bad)).toThrow();
    expect(() => loadNetwork("mainnet")).toThrow("unknown network 'mainnet'");
  });
  test("the reward halves every interval and ends after 64 halvings", () => {
    const p = { ...NETWORKS.devnet!, initialReward: "5000000000", halvingInterval: 10 };
    expect(rewardAt(p, 0)).toBe(5_000_000_000n);
    expect(rewardAt(p, 9)).toBe(5_000_000_000n);
    expect(rewardAt(p, 10)).toBe(2_500_000_000n);
    expect(rewardAt(p, 25)).toBe(1_250_000_000n);
    expect(rewardAt(p, 640)).toBe(0n);
  });
});
