export { cpuInfo, autoThreads, type CpuInfo } from "./hardware";
