import { RignodeError, toHex } from "../../core";
import { decodeAddress, encodeAddress, encodeTx, loadNetwork, signTransfer } from "../../chain";
import { parseListen } from "../../config";
import { createWallet, loadWallet } from "../../node";
import type { Command } from "../command";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TOKEN_FILE } from "../../api";

/** "1.5" coins to base units with `decimals` digits; refuses more digits than the coin has, or garbage. */
export function parseAmount(text: string, decimals: number): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new RignodeError("usage", `amount '${text}' is not a number like 12 or 0.5`);
  const frac = m[2] ?? "";
  if (frac.length > decimals) throw new RignodeError("usage", `amount '${text}' has more than ${decimals} decimals`);
  return BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
}

/** Base units as a decimal coin amount. */
export function formatAmount(units: bigint, decimals: number): string {
  const s = units.toString().padStart(decimals + 1, "0");
  const whole = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

/** The node's API token from the data dir, when it has one (write requests need it off loopback). */
function tokenHeader(dataDir: string): Record<string, string> {
  try {
    return { authorization: `Bearer ${readFileSync(join(dataDir, TOKEN_FILE), "utf8").trim()}` };
  } catch {
    return {};
  }
}

/** A node's refusal in words, amounts in coins: the API's details carry them in base units. */
export function refusalMessage(body: Record<string, unknown>, status: number, decimals: number): string {
  const d = (body.details ?? {}) as Record<string, unknown>;
  const units = (k: string) => (typeof d[k] === "string" && /^\d+$/.test(d[k]) ? BigInt(d[k]) : null);
  const available = units("available");
  const needed = units("needed");
  if (d.rule === "insufficient-funds" && available !== null && needed !== null) {
    return `insufficient-funds: available ${formatAmount(available, decimals)} coins, needed ${formatAmount(needed, decimals)} coins (amount + fee)`;
  }
  return String(body.message ?? `HTTP ${status}`);
}

async function api(listen: string, decimals: number, path: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const { host, port } = parseListen(listen);
  const h = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  let res: Response;
  try {
    res = await fetch(`http://${h}:${port}${path}`, init);
  } catch (cause) {
    throw new RignodeError("unavailable", `no node answers at ${listen} (start one with 'rignode node', or pass --api HOST:PORT)`, { cause });
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status === 404 && String(body.message).startsWith("no route")) {
    // Another process (a worker's API) holds the port: the node moved to the next free one when it started.
    throw new RignodeError("unavailable", `the API at ${listen} is not a node's (a worker's?); pass the node's --api HOST:PORT (its log says api.listening)`);
  }
  if (!res.ok) throw new RignodeError("refused", `node refused: ${refusalMessage(body, res.status, decimals)}`);
  return body;
}

export const walletCommand: Command = {
  name: "wallet",
  summary: "keys and transfers: wallet new | address | balance [ADDRESS] | send --to ADDR --amount N",
  usage: "rignode wallet new|address|balance [ADDRESS]|send --to ADDR --amount COINS [--fee COINS]",
  options: ["data-dir", "network", "api"],
  flags: {
    to: { kind: "string", arg: "ADDR", help: "recipient (send)" },
    amount: { kind: "string", arg: "COINS", help: "amount in coins, e.g. 1.5 (send)" },
    fee: { kind: "string", arg: "COINS", help: "fee in coins (send; default 0.0001)" },
  },
  positionals: [
    { name: "ACTION", help: "new, address, balance or send" },
    { name: "ADDRESS", help: "the account for balance (default: this wallet)", optional: true },
  ],
  async run({ config, flags, positionals, out }) {
    const params = loadNetwork(config.network);
    const [action, arg] = positionals;
    const decimals = params.coinDecimals;
    switch (action) {
      case "new": {
        const kp = createWallet(config.dataDir);
        out(encodeAddress(kp.publicKey, params.addressVersion));
        return 0;
      }
      case "address":
        out(encodeAddress(loadWallet(config.dataDir).publicKey, params.addressVersion));
        return 0;
      case "balance": {
        const address = arg ?? encodeAddress(loadWallet(config.dataDir).publicKey, params.addressVersion);
        decodeAddress(address, params.addressVersion);
        const b = await api(config.api.listen, decimals, `/api/balance/${address}`);
        out(`${formatAmount(BigInt(String(b.balance)), decimals)} coins at ${address}`);
        return 0;
      }
      case "send": {
        if (arg) throw new RignodeError("usage", "send takes --to and --amount, not an argument");
        if (typeof flags.to !== "string" || typeof flags.amount !== "string") throw new RignodeError("usage", "send needs --to ADDR and --amount COINS");
        const to = decodeAddress(flags.to, params.addressVersion);
        const amount = parseAmount(flags.amount, decimals);
        const fee = parseAmount(typeof flags.fee === "string" ? flags.fee : "0.0001", decimals);
        const kp = loadWallet(config.dataDir);
        const from = encodeAddress(kp.publicKey, params.addressVersion);
        const acct = await api(config.api.listen, decimals, `/api/balance/${from}`);
        const t = signTransfer({ from: kp.publicKey, to, amount, fee, nonce: BigInt(String(acct.next_nonce)) }, kp.seed, params.chainId);
        const r = await api(config.api.listen, decimals, "/api/tx", { method: "POST", headers: { "content-type": "application/json", ...tokenHeader(config.dataDir) }, body: JSON.stringify({ raw: toHex(encodeTx(t)) }) });
        // Labelled lines a person reads and a script greps (`awk '/^txid/ {print $2}'`).
        out(`sent    ${formatAmount(amount, decimals)} coins`);
        out(`fee     ${formatAmount(fee, decimals)} coins`);
        out(`from    ${from}`);
        out(`to      ${flags.to}`);
        out(`txid    ${String(r.id)}`);
        return 0;
      }
      default:
        throw new RignodeError("usage", `unknown wallet action '${action}'; actions: new, address, balance, send`);
    }
  },
};
