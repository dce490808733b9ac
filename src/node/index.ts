export { startRole, type RunningRole } from "./role";
export { createWallet, loadOrCreateWallet, loadWallet, WALLET_FILE } from "./wallet";
export { runBench, type BenchOptions, type BenchResult } from "./bench";
