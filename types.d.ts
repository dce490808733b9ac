// Shared libraries imported with { type: "file" } resolve to their path.
declare module "*.so" {
  const path: string;
  export default path;
}
// The panel's files, imported with { type: "text" }: their contents, embedded in the binary (the .html page is
// typed by bun-types as an HTML bundle; panel.ts reads it as the string it is).
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.client.js" {
  const text: string;
  export default text;
}
declare module "uplot/dist/uPlot.iife.min.js" {
  const text: string;
  export default text;
}
