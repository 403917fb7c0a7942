/**
 * The sink kernel's pure batch planning, the same for every sink: which target (table,
 * collection…) each event goes to (the `table` template) and, per target, the smallest set
 * of writes with the same effect as applying the events one by one (several changes to one
 * key collapse into one delete and/or one upsert). No I/O here, so the rules are
 * unit-tested in isolation.
 */
import type { ChangeEvent, JsonValue, Row } from "../events/index.js";

/** One event to apply; `seq` is its JetStream stream sequence (strictly increasing in a batch). */
export interface SinkRecord {
  seq: number;
  event: ChangeEvent;
}

/** A target table, unquoted. */
export interface TargetTable {
  schema: string;
  table: string;
}

/** What applying one table's share of a batch comes down to, in this order. */
export interface TablePlan {
  /** Empty the table first: the batch held a truncate, and every change before the last one is dropped. */
  truncate: boolean;
  /** Key rows (key columns only) to delete, applied before the upserts. */
  deletes: Row[];
  /**
   * Rows to upsert, in the order of each key's last change: the merge of the key's `after`
   * images since its last delete. A column absent from every image is absent here, so the
   * target keeps its value (unchanged TOAST). A key that is also in `deletes` is re-inserted.
   */
  upserts: Row[];
}

/**
 * Compiles a `table` template (`{schema}` and `{table}` placeholders, at most one `.`
 * separating schema from table; no `.` means `defaultSchema`) into a resolver. The template
 * is split before substitution, so source names containing dots stay one identifier.
 * @param defaultSchema schema (PostgreSQL) or database (MySQL) of a template without `.` @default "public"
 * @throws Error naming the template when it has more than one `.` or an unknown placeholder.
 */
export function compileTableTemplate(template: string, defaultSchema = "public"): (source: { schema: string; table: string }) => TargetTable {
  const parts = template.split(".");
  if (parts.length > 2 || parts.some((p) => p.length === 0)) {
    throw new Error(`table template "${template}" must be "table" or "schema.table" (one '.' at most, no empty part)`);
  }
  const unknown = template.replace(/\{schema\}|\{table\}/g, "").match(/\{[^}]*\}/);
  if (unknown) throw new Error(`table template "${template}" has an unknown placeholder ${unknown[0]} (known: {schema}, {table})`);
  const tableTpl = parts.length === 2 ? (parts[1] as string) : (parts[0] as string);
  const fill = (tpl: string, s: { schema: string; table: string }) =>
    tpl.replace(/\{schema\}|\{table\}/g, (m) => (m === "{schema}" ? s.schema : s.table));
  const schemaTpl = parts.length === 2 ? (parts[0] as string) : undefined;
  return (s) => ({ schema: schemaTpl === undefined ? defaultSchema : fill(schemaTpl, s), table: fill(tableTpl, s) });
}

/**
 * Splits records by target table, keeping the order of first appearance of each table and
 * the record order within a table. The map key is a collision-free id of the target.
 */
export function groupByTarget(
  records: readonly SinkRecord[],
  resolve: (source: { schema: string; table: string }) => TargetTable,
): Map<string, { target: TargetTable; records: SinkRecord[] }> {
  const groups = new Map<string, { target: TargetTable; records: SinkRecord[] }>();
  for (const r of records) {
    const target = resolve(r.event.source);
    const id = JSON.stringify([target.schema, target.table]);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { target, records: [] }));
    g.records.push(r);
  }
  return groups;
}

/** The key column names the events declare (the first non-empty `key`), or undefined if none does. */
export function declaredKeyColumns(records: readonly SinkRecord[]): string[] | undefined {
  for (const { event } of records) {
    const cols = Object.keys(event.key ?? {});
    if (event.op !== "t" && cols.length > 0) return cols;
  }
  return undefined;
}

/** The key row of a non-truncate event: `key` values first, else the before/after image's. */
function keyOf(rec: SinkRecord, keyColumns: readonly string[]): Row {
  const { event } = rec;
  const image = event.op === "d" ? event.before : event.after;
  const key: Row = {};
  for (const c of keyColumns) {
    const v: JsonValue | undefined = Object.hasOwn(event.key ?? {}, c) ? event.key[c] : image?.[c];
    if (v === undefined) throw new Error(`event seq ${rec.seq} (op '${event.op}') has no value for key column "${c}"`);
    key[c] = v;
  }
  return key;
}

/**
 * Coalesces one table's records (in sequence order) into a {@link TablePlan}.
 * Per key the last op wins: `d` deletes; `c`/`r`/`u` upsert the merged `after` images since
 * the last delete (with a delete first if the chain held one); `t` drops everything before
 * it; an update without an image but with its update description (MongoDB's updateLookup
 * after a delete) changes nothing. Key changes need no special case: the reader emits them
 * as delete + create.
 * @param keyColumns the target's key columns (unused when the records are all truncates).
 * @throws Error naming the seq when an event lacks its `after` image or a key value.
 */
export function coalesceTable(records: readonly SinkRecord[], keyColumns: readonly string[]): TablePlan {
  let truncate = false;
  // Insertion order = order of each key's last change (entries are re-inserted when touched).
  let byKey = new Map<string, { key: Row; deleted: boolean; row: Row | null }>();
  for (const rec of records) {
    const { event } = rec;
    if (event.op === "t") {
      truncate = true;
      byKey = new Map();
      continue;
    }
    // An update that says what changed but has no image (MongoDB with fullDocument:
    // updateLookup finds nothing when the document was deleted since; its delete follows):
    // nothing to write for it.
    if (event.op === "u" && !event.after && event.update) continue;
    if (keyColumns.length === 0) throw new Error(`event seq ${rec.seq} (op '${event.op}'): no key columns known for its table`);
    const key = keyOf(rec, keyColumns);
    const id = JSON.stringify(keyColumns.map((c) => key[c]));
    const state = byKey.get(id) ?? { key, deleted: false, row: null };
    byKey.delete(id);
    if (event.op === "d") {
      state.deleted = true;
      state.row = null;
    } else {
      if (!event.after) throw new Error(`event seq ${rec.seq} (op '${event.op}') has no after image`);
      state.row = { ...(state.row ?? {}), ...event.after, ...key };
    }
    byKey.set(id, state);
  }
  const deletes: Row[] = [];
  const upserts: Row[] = [];
  for (const s of byKey.values()) {
    if (s.deleted) deletes.push(s.key);
    if (s.row) upserts.push(s.row);
  }
  return { truncate, deletes, upserts };
}
