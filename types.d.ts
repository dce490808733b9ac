// Shared libraries imported with { type: "file" } resolve to their path.
declare module "*.so" {
  const path: string;
  export default path;
}
