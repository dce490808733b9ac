export { KernelLib, ABI_VERSION, FEATURE, IMPLS, checkHeader, checkRange, type Impl } from "./ffi";
export { chooseImpls, measureImpl, type ImplChoice } from "./impl";
export { chooseVariant, supportedVariants, featureNames } from "./select";
export { loadKernel, loadSupportedVariants, cpuFeatures, variantPath, type KernelInfo } from "./load";
export { referenceBackend } from "./reference";
export { selftest, hashDisplay, type SelftestResult, type SelftestCase } from "./selftest";
