// rignode entry point: run one command line and exit with its code.
import { runCli } from "./cli";

const code = await runCli(process.argv.slice(2));
process.exit(code);
