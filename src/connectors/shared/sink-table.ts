/**
 * The dialect-neutral half of a SQL sink's target catalog: the shape of a described target
 * table, and the pure rules deciding which columns a batch needs, what types `autoCreate`
 * gives them, and which upsert rows share one statement. Each dialect's `sink-schema.ts`
 * supplies the catalog queries, the DDL and the type mapping.
 */
import type { ChangeEvent, JsonValue, Row } from "../../events/index.js";
import type { SinkRecord, TablePlan, TargetTable } from "../../core/index.js";

/** A target table as the dialect's catalog describes it. */
export interface SinkTableMeta<C extends { generated: boolean }> {
  target: TargetTable;
  /** Columns in the table's column order; a generated column is never written. */
  columns: Map<string, C>;
  /** Primary key columns (in index order), if any. */
  primaryKey: string[] | undefined;
  /** Column sets of every unique index an upsert can use (the primary key included). */
  uniqueKeys: string[][];
}

/** Whether the table has a unique index on exactly the key columns (in any order), as an upsert needs. */
export function hasUniqueKey(meta: SinkTableMeta<{ generated: boolean }>, keyColumns: readonly string[]): boolean {
  const want = [...keyColumns].sort().join("\u0000");
  return meta.uniqueKeys.some((k) => [...k].sort().join("\u0000") === want);
}

/** Key columns plus every column an upsert of the plan writes. */
export function neededColumns(plan: TablePlan, keyColumns: readonly string[]): Set<string> {
  const needed = new Set<string>(plan.deletes.length || plan.upserts.length ? keyColumns : []);
  for (const row of plan.upserts) for (const c of Object.keys(row)) needed.add(c);
  return needed;
}

/** Every column the records mention (`types`, images, keys), in order of first mention: source order. */
export function columnsMentioned(records: readonly SinkRecord[]): string[] {
  const seen = new Set<string>();
  for (const { event } of records) {
    for (const row of [event.types, event.after, event.before, event.key]) {
      for (const c of Object.keys(row ?? {})) seen.add(c);
    }
  }
  return [...seen];
}

/**
 * The target type for each named column: `typeFor` of the source type the first record
 * naming one in `types` gives, else `infer` of the column's first non-null value (null when
 * every record lacks it).
 */
export function columnTypesFrom(
  records: readonly SinkRecord[],
  columns: Iterable<string>,
  typeFor: (sourceType: string, event: ChangeEvent) => string,
  infer: (sample: JsonValue) => string,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const col of columns) {
    let type: string | undefined;
    let sample: JsonValue = null;
    for (const { event } of records) {
      const sourceType = event.types?.[col];
      if (sourceType !== undefined) {
        type = typeFor(sourceType, event);
        break;
      }
      if (sample === null) sample = event.after?.[col] ?? event.key[col] ?? event.before?.[col] ?? null;
    }
    out.set(col, type ?? infer(sample));
  }
  return out;
}

/**
 * Groups upsert rows by their set of present, writable (not generated) columns, in table
 * order; groups in order of first appearance.
 */
export function byColumnSet(rows: readonly Row[], meta: SinkTableMeta<{ generated: boolean }>): Array<readonly [string[], Row[]]> {
  const writable = [...meta.columns].filter(([, m]) => !m.generated).map(([c]) => c);
  const groups = new Map<string, { columns: string[]; rows: Row[] }>();
  let last: { sig: string; columns: string[]; rows: Row[] } | undefined;
  for (const row of rows) {
    // one character per writable column: present or not (rows of a batch mostly share one set)
    let sig = "";
    for (const c of writable) sig += Object.hasOwn(row, c) ? "1" : "0";
    if (last?.sig === sig) {
      last.rows.push(row);
      continue;
    }
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { columns: writable.filter((c) => Object.hasOwn(row, c)), rows: [] }));
    g.rows.push(row);
    last = { sig, ...g, rows: g.rows };
  }
  return [...groups.values()].map((g) => [g.columns, g.rows] as const);
}

/** Sources whose `after` is the whole document: a field it lacks is not there (NULL), not "unchanged". */
const WHOLE_DOCUMENT_SOURCES = new Set(["mongodb"]);

/**
 * Makes the upsert rows of keys whose last change came from a whole-document source
 * (MongoDB: `after` is the full document) exactly that document: its fields and key, and
 * NULL for every other writable column of the table — a field `$unset` or dropped by a
 * replacement is gone, where a PostgreSQL image's absent column means "unchanged TOAST"
 * (kept). Rows are rewritten in place; returns how many.
 */
export function applyWholeDocuments(plan: TablePlan, records: readonly SinkRecord[], keyColumns: readonly string[], meta: SinkTableMeta<{ generated: boolean }>): number {
  const last = new Map<string, ChangeEvent>();
  for (const { event } of records) {
    if (event.op === "t" || event.op === "d" || !event.after) continue;
    const image = event.after;
    last.set(JSON.stringify(keyColumns.map((c) => (Object.hasOwn(event.key ?? {}, c) ? event.key[c] : image[c]))), event);
  }
  let n = 0;
  for (const row of plan.upserts) {
    const event = last.get(JSON.stringify(keyColumns.map((c) => row[c])));
    if (!event?.after || !WHOLE_DOCUMENT_SOURCES.has(event.source?.connector ?? "")) continue;
    for (const c of Object.keys(row)) if (!keyColumns.includes(c)) delete row[c];
    Object.assign(row, event.after);
    for (const [c, m] of meta.columns) if (!m.generated && !Object.hasOwn(row, c)) row[c] = null;
    n++;
  }
  return n;
}
