export { Store, DB_FILE } from "./sqlite";
export { MIGRATIONS, type Migration } from "./migrations";
