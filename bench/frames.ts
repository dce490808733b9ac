// Stratum native frames: time to encode one message into a frame and to decode it back out of a byte stream, on the
// messages a pool and a worker exchange most. Runs against whatever codec src/stratum uses (msgpackr since issue 14;
// rignode's own loose encoder before), so a checkout of either can be measured the same way.
// Run: bun bench/frames.ts [messages per run]   (median of 5 runs, ns per message)
import { encodeStratum, stratumDecoder } from "../src/stratum";

const N = Number(process.argv[2] ?? 200_000);
const hex = (n: number) => "ab".repeat(n);
const messages: Record<string, unknown> = {
  notify: { id: null, method: "mining.notify", params: ["1f2e", hex(32), hex(60), hex(300), Array.from({ length: 12 }, () => hex(32)), "20000000", "1d2af31d", "6567a3b1", true] },
  submit: { id: 4711, method: "mining.submit", params: ["ADDRESSxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.rig1", "1f2e", "00000001", "6567a3b1", "8a3b21f0"] },
  answer: { id: 4711, result: true, error: null },
  reject: { id: 4712, result: null, error: [23, "Low difficulty share", null] },
};

function median(fn: () => void): number {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < N; i++) fn();
    runs.push((Bun.nanoseconds() - t0) / N);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

console.log(`frames: native Stratum codec, ${N} messages per run, median of 5 runs, ns per message`);
console.log("message  bytes  encode  decode");
for (const [name, m] of Object.entries(messages)) {
  const bytes = encodeStratum("native", m, 1 << 20);
  const dec = stratumDecoder("native", 1 << 20);
  const enc = median(() => encodeStratum("native", m, 1 << 20));
  const de = median(() => dec.push(bytes));
  console.log(`${name.padEnd(8)} ${String(bytes.length).padStart(5)} ${enc.toFixed(0).padStart(7)} ${de.toFixed(0).padStart(7)}`);
}
