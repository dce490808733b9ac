import type { Chain } from "../chain";
import { MAX_HEADERS } from "./messages";

/** Our main chain's hashes at the tip, then back in doubling steps to genesis: where a peer finds the fork. */
export function locator(chain: Chain, genesis: Uint8Array): Uint8Array[] {
  const tip = chain.tip();
  const out: Uint8Array[] = [];
  let step = 1;
  for (let h = tip.height; h > 0 && out.length < 60; h -= step) {
    out.push(chain.hashAt(h)!);
    if (out.length >= 10) step *= 2;
  }
  out.push(genesis);
  return out;
}

/** Up to MAX_HEADERS main-chain headers after the first locator hash that is on our main chain. */
export function headersAfter(chain: Chain, loc: Uint8Array[]): Uint8Array[] {
  let start = 0;
  for (const h of loc) {
    const b = chain.block(h);
    if (b && b.status === "main") {
      start = b.height;
      break;
    }
  }
  const tip = chain.tip().height;
  const out: Uint8Array[] = [];
  for (let h = start + 1; h <= tip && out.length < MAX_HEADERS; h++) out.push(chain.headerBytesAt(h)!);
  return out;
}
