import { describe, expect, test } from "bun:test";
import { formatAmount, parseAmount } from "../../src/cli/commands/wallet";

describe("coin amounts", () => {
  test("decimal coins to base units and back, exactly", () => {
    expect(parseAmount("1.5", 8)).toBe(150_000_000n);
    expect(parseAmount("0.00000001", 8)).toBe(1n);
    expect(parseAmount("21000000", 8)).toBe(2_100_000_000_000_000n);
    expect(formatAmount(150_000_000n, 8)).toBe("1.5");
    expect(formatAmount(1n, 8)).toBe("0.00000001");
    expect(formatAmount(0n, 8)).toBe("0");
  });
  test("more decimals than the coin has, signs and garbage are refused", () => {
    expect(() => parseAmount("0.000000001", 8)).toThrow("more than 8 decimals");
    expect(() => parseAmount("-1", 8)).toThrow("not a number");
    expect(() => parseAmount("1e5", 8)).toThrow("not a number");
  });
});
