/**
 * The PostgreSQL sink's batch planning; the pure rules live in ../shared/coalesce.ts
 * (shared with the MySQL sink).
 */
export * from "../shared/coalesce.js";
