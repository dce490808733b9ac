export { Store, DB_FILE } from "./sqlite";
export { lockDataDir, LOCK_FILE } from "./lock";
export { MIGRATIONS, type Migration } from "./migrations";
