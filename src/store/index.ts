export { Store, DB_FILE } from "./sqlite";
export { lockDataDir, LOCK_FILE } from "./lock";
export { MARKER_FILE, readMarker, type Marker } from "./marker";
export { MIGRATIONS, type Migration } from "./migrations";
export { diagnose, ledgerAmountProblems, type Finding } from "./doctor";
