export { KernelLib, ABI_VERSION, FEATURE, checkHeader, checkRange } from "./ffi";
export { chooseVariant, supportedVariants, featureNames } from "./select";
export { loadKernel, loadSupportedVariants, cpuFeatures, variantPath, type KernelInfo } from "./load";
export { referenceBackend } from "./reference";
export { selftest, hashDisplay, type SelftestResult, type SelftestCase } from "./selftest";
