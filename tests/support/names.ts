/** Unique names for what tests and benchmarks create on the shared services (databases, slots, clusters), so runs never collide and a rerun starts clean. */

/** A unique lower-case name with a prefix (database, slot). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`.toLowerCase();
}

/** A unique cluster name (letters and digits only, as NATS stream names need). */
export function uniqueCluster(prefix = "t"): string {
  return `${prefix}${process.pid}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
}
