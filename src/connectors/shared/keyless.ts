/**
 * Tables without a primary key, replicated insert-only (docs/types.md, docs/adr/0010): a
 * target keyed by all of a keyless table's columns would collapse duplicate rows and refuse
 * rows with a NULL, so such a table is refused unless its stream sets `keylessTables:
 * insert-only`. Then every inserted (and snapshot) row carries its source position in one
 * more column, which is also its key; updates and deletes are not applied, only counted.
 * Shared by the PostgreSQL and MySQL sources.
 */
import type { Row } from "../../events/index.js";
import { TributaryError } from "../../base/index.js";
import type { Metrics } from "../../metrics/index.js";
import type { Logger } from "pino";

/** The column that keys a keyless table's rows in insert-only mode: the event's source position. */
export const SYNTHETIC_KEY = "_tributary_pos";

/** The `tributary_events_dropped_total` reason of an update or delete insert-only mode does not apply. */
export const KEYLESS_DROP_REASON = "keyless-insert-only";

/** An inserted row of a keyless table: the row with its position as SYNTHETIC_KEY, and that key. */
export function insertOnlyRow(after: Row | null, pos: string): { after: Row; key: Row } {
  return { after: { ...after, [SYNTHETIC_KEY]: pos }, key: { [SYNTHETIC_KEY]: pos } };
}

/**
 * Checks a table without a primary key against the stream's `keylessTables`. @throws
 * TributaryError SOURCE_INVALID (not retryable) naming the table and the ways out, unless
 * the mode is insert-only and no column is named SYNTHETIC_KEY already.
 */
export function checkKeylessTable(stream: string, qualified: string, columns: readonly string[], mode: "refuse" | "insert-only", addKey: string): void {
  if (mode !== "insert-only") {
    throw new TributaryError(
      "SOURCE_INVALID",
      `stream ${stream}: table ${qualified} has no primary key: a target keyed by all its columns would collapse duplicate rows into one and refuse rows with a NULL. Add a primary key (${addKey}), or set source.keylessTables: insert-only to replicate it as an append-only table (each row a new target row keyed by ${SYNTHETIC_KEY}; its updates and deletes are not applied)`,
    );
  }
  if (columns.includes(SYNTHETIC_KEY)) throw new TributaryError("SOURCE_INVALID", `stream ${stream}: table ${qualified} has a column named ${SYNTHETIC_KEY}, the key insert-only mode adds; rename it or add a primary key`);
}

/**
 * Warns that a snapshot retry re-publishes the rows of insert-only tables: an earlier
 * attempt's rows cannot be told apart from the retry's (they have no key), so the target
 * may hold some of them twice. Said loudly, with the way out, since it cannot be avoided.
 */
export function warnKeylessRetry(log: Logger, attempt: number, tables: readonly string[]): void {
  if (attempt < 2 || !tables.length) return;
  log.warn({ attempt, tables }, `snapshot attempt ${attempt} re-reads tables without a primary key replicated insert-only: rows an interrupted earlier attempt published, and rows inserted while it was interrupted, may be in their targets twice; to be exact, empty those target tables and re-snapshot the stream`);
}

/** Counts an update or delete of a keyless table that insert-only mode does not apply, and logs the first one per table. */
export class KeylessSkips {
  private readonly warned = new Set<string>();
  constructor(
    private readonly stream: string,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  skip(table: string, what: "update" | "delete"): void {
    this.metrics.eventsDropped.inc({ stream: this.stream, actor: "stream", reason: KEYLESS_DROP_REASON });
    if (this.warned.has(table)) return;
    this.warned.add(table);
    this.log.warn({ table }, `an ${what} of ${table}, a table without a primary key replicated insert-only, is not applied (nor are later updates and deletes of it: tributary_events_dropped_total{reason="${KEYLESS_DROP_REASON}"} counts them)`);
  }
}
