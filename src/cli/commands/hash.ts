import { fromHex, type Algo } from "../../core";
import { hashDisplay, loadKernel } from "../../kernel";
import type { Command } from "../command";

export const hashCommand: Command = {
  name: "hash",
  summary: "hash one 80-byte block header; prints the hash in display hex (digest bytes reversed)",
  usage: "rignode hash --algo sha256d|scrypt HEADER_HEX",
  options: ["algo", "kernel"],
  flags: {},
  positionals: [{ name: "HEADER_HEX", help: "the 80-byte header, 160 hex digits, wire order" }],
  async run({ config, positionals, out }) {
    const header = fromHex(positionals[0]!, 80, "HEADER_HEX");
    const { lib } = await loadKernel(config.kernel.variant);
    out(hashDisplay(lib, config.miner.algo as Algo, header));
    return 0;
  },
};
