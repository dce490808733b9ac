import pkg from "../../package.json" with { type: "json" };

/** Set by build.ts when it compiles the binary. */
declare const __RIGNODE_COMMIT__: string | undefined;

/** This build's version, from package.json. */
export const VERSION: string = pkg.version;
/** The git commit the binary was built from, or "dev" when run from source. */
export const COMMIT: string = typeof __RIGNODE_COMMIT__ === "string" ? __RIGNODE_COMMIT__ : "dev";
