export { startRole, type RunningRole } from "./serve";
export { runBench, type BenchOptions, type BenchResult } from "./bench";
