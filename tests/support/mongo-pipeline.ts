/**
 * PostgreSQL → MongoDB checks for the MongoDB end-to-end and crash tests: the documents the
 * MongoDB sink wrote compared with the PostgreSQL rows they come from, value by value and
 * independently of the sink's own decoding (the PostgreSQL side is read as PostgreSQL
 * prints it, the MongoDB side through the driver with its exact BSON types). The tables
 * are cosmos-pipeline's (`accounts` keyed by (id, pk): an embedded `_id`; `items` by id).
 * The driver is loaded when a diff runs, so importing the support module stays light.
 */
import type { Document, MongoClient } from "mongodb";
import { canonicalRows, TABLE_COLUMNS, TABLE_KEYS, type WorkloadTarget } from "./mysql-workload.js";
import type { TestDb } from "./postgres.js";

/** How a column is compared: PostgreSQL's text (or JSON) on one side, the BSON value on the other. */
type Kind = "text" | "numeric" | "int8" | "int4" | "bool" | "tstz" | "ts" | "json" | "bytea" | "float8";

const TABLES: Record<string, { key: string[]; cols: Record<string, Kind> }> = {
  accounts: {
    key: ["id", "pk"],
    cols: { id: "text", pk: "text", name: "text", balance: "numeric", big: "int8", active: "bool", updated: "tstz", doc: "json", tags: "json", blob: "bytea", score: "float8", note: "text" },
  },
  items: {
    key: ["id"],
    cols: { id: "text", pk: "text", title: "text", price: "numeric", qty: "int4", ts: "ts", attrs: "json", emoji: "text", scores: "json", dates: "json" },
  },
};

/** PostgreSQL's expression giving a column's comparable text. */
function pgExpr(col: string, kind: Kind): string {
  const q = `"${col}"`;
  switch (kind) {
    case "tstz":
      return `((extract(epoch from ${q}) * 1000000)::numeric(30,0))::text`;
    case "ts":
      return `to_json(${q}) #>> '{}'`;
    case "json":
      return `to_json(${q})::text`;
    case "bytea":
      return `replace(encode(${q}, 'base64'), E'\\n', '')`;
    default:
      return `${q}::text`;
  }
}

/** JSON text with object keys sorted at every depth. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

/** Microseconds since the epoch of an ISO-8601 UTC instant with up to 6 fractional digits. */
function isoMicros(s: string): string {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/.exec(s);
  if (!m) return `bad instant ${s}`;
  const frac = (m[2] ?? "").padEnd(6, "0");
  return String(BigInt(Date.parse(`${m[1]}${m[3]}`)) * 1000n + BigInt(frac.slice(0, 6)));
}

/** A BSON value as comparable text of kind `kind` (with the kind's BSON type checked). */
function mongoText(m: typeof import("mongodb"), v: unknown, kind: Kind): string | null {
  const { Binary, BSON, Decimal128, Double, Int32, Long } = m;
  if (v === null || v === undefined) return null;
  const wrong = () => `wrong BSON type ${(v as object).constructor?.name ?? typeof v} for ${kind}: ${String(v)}`;
  switch (kind) {
    case "text":
      return typeof v === "string" ? v : wrong();
    case "numeric":
      return v instanceof Decimal128 ? v.toString() : wrong();
    case "int8":
      return v instanceof Long ? v.toString() : wrong();
    case "int4":
      return v instanceof Int32 ? String(v.value) : wrong();
    case "float8":
      return v instanceof Double ? String(v.value) : wrong();
    case "bool":
      return typeof v === "boolean" ? String(v) : wrong();
    case "tstz":
      if (v instanceof Date) return String(BigInt(v.getTime()) * 1000n);
      return typeof v === "string" && /\.\d{4,6}Z$/.test(v) ? isoMicros(v) : wrong(); // sub-ms digits: kept as text
    case "ts":
      return typeof v === "string" ? v : wrong();
    case "json":
      return canonical(BSON.EJSON.serialize(v as Document, { relaxed: true }));
    case "bytea":
      return v instanceof Binary && v.sub_type === 0 ? Buffer.from(v.buffer).toString("base64") : wrong();
  }
}

/** PostgreSQL's comparable text of a column value (JSON columns parsed and re-serialized canonically). */
function pgText(v: string | null, kind: Kind): string | null {
  if (v === null) return null;
  if (kind === "json") return canonical(JSON.parse(v));
  if (kind === "float8") return String(Number(v));
  if (kind === "bool") return v === "true" || v === "t" ? "true" : "false";
  return v;
}

/**
 * Differences between the PostgreSQL tables `accounts` and `items` of `src` and the
 * documents in `db.accounts` / `db.items` (null when every row has its document with
 * exactly its values, and there is no other document).
 */
export async function diffPgMongo(src: TestDb, client: MongoClient, db: string): Promise<string | null> {
  const m = await import("mongodb");
  const out: string[] = [];
  for (const [table, { key, cols }] of Object.entries(TABLES)) {
    const names = Object.keys(cols);
    const rows = (await src.query<Record<string, string | null>>(`SELECT ${names.map((c) => `${pgExpr(c, cols[c]!)} AS "${c}"`).join(", ")} FROM ${table}`)).rows;
    const want = new Map(rows.map((r) => [r.id!, canonical(Object.fromEntries(names.map((c) => [c, pgText(r[c] ?? null, cols[c]!)])))]));
    const docs = await client.db(db).collection(table).find({}, { promoteValues: false }).toArray();
    const got = new Map<string, string>();
    for (const d of docs) {
      const id = key.length === 1 ? d._id : (d._id as Document)?.id;
      const idText = typeof id === "string" ? id : `bad _id ${canonical(m.BSON.EJSON.serialize({ id: d._id }))}`;
      if (key.length > 1 && canonical(d._id) !== canonical(Object.fromEntries(key.map((k) => [k, d[k]])))) out.push(`${table} ${idText}: _id ${canonical(d._id)} is not the key`);
      const extra = Object.keys(d).filter((f) => f !== "_id" && !(f in cols));
      if (extra.length) out.push(`${table} ${idText}: unexpected fields ${extra.join(", ")}`);
      got.set(idText, canonical(Object.fromEntries(names.map((c) => [c, mongoText(m, d[c], cols[c]!)]))));
    }
    for (const [id, w] of want) {
      const g = got.get(id);
      if (g === undefined) out.push(`${table} ${id}: missing in MongoDB`);
      else if (g !== w) out.push(`${table} ${id}:\n  pg    ${w}\n  mongo ${g}`);
    }
    for (const id of got.keys()) if (!want.has(id)) out.push(`${table} ${id}: in MongoDB only`);
  }
  return out.length ? `${out.length} difference(s):\n${out.slice(0, 5).join("\n")}` : null;
}

/**
 * Differences between the MySQL workload's tables (mysql-workload.ts, read as canonical
 * text by `canonicalRows`) and the documents a MongoDB sink wrote of them in database `db`:
 * each BSON value rendered as MySQL renders the column (numbers and decimals as text,
 * DATETIME/TIMESTAMP as `YYYY-MM-DD HH:MM:SS.ffffff`, binary as hex, JSON parsed), with its
 * BSON type checked (Int32/Int64/Decimal128/Double/Binary/Date/string).
 */
export async function diffMyMongo(my: WorkloadTarget, client: MongoClient, db: string): Promise<string | null> {
  const m = await import("mongodb");
  const out: string[] = [];
  for (const table of Object.keys(TABLE_COLUMNS)) {
    const specs = TABLE_COLUMNS[table]!;
    const keys = TABLE_KEYS[table]!;
    const want = await canonicalRows(my, table);
    const docs = await client.db(db).collection(table).find({}, { promoteValues: false }).toArray();
    const got = new Map<string, string>();
    for (const d of docs) {
      const vals = specs.map((c) => myText(m, d[c.name], c.my, c.name));
      got.set(keys.map((k) => vals[specs.findIndex((c) => c.name === k)]).join("|"), JSON.stringify(vals));
    }
    const jsonAt = specs.findIndex((c) => c.my === "JSON");
    const norm = (row: string) => {
      const vals = JSON.parse(row) as Array<string | null>;
      if (jsonAt >= 0 && vals[jsonAt] != null) vals[jsonAt] = canonical(JSON.parse(vals[jsonAt]!));
      return JSON.stringify(vals);
    };
    for (const [k, w] of want) {
      const g = got.get(k);
      if (g === undefined) out.push(`${table} ${k}: missing in MongoDB`);
      else if (norm(g) !== norm(w)) out.push(`${table} ${k}:\n  mysql ${w}\n  mongo ${g}`);
    }
    for (const k of got.keys()) if (!want.has(k)) out.push(`${table} ${k}: in MongoDB only`);
  }
  return out.length ? `${out.length} difference(s):\n${out.slice(0, 5).join("\n")}` : null;
}

/** A BSON value as MySQL's canonical text of a column declared `decl` (see diffMyMongo). */
function myText(m: typeof import("mongodb"), v: unknown, decl: string, name: string): string | null {
  const { Binary, Decimal128, Double, Int32, Long } = m;
  if (v === null || v === undefined) return null;
  const bad = () => `wrong BSON type ${(v as object).constructor?.name ?? typeof v} for ${name} ${decl}`;
  const t = decl.toUpperCase();
  if (/^(BIGINT)/.test(t)) return v instanceof Long || v instanceof Decimal128 ? v.toString() : bad();
  if (/^(INT|TINYINT|SMALLINT|MEDIUMINT)/.test(t)) return v instanceof Int32 ? String(v.value) : bad();
  if (/^DECIMAL/.test(t)) return v instanceof Decimal128 ? v.toString() : bad();
  if (/^DOUBLE/.test(t)) return v instanceof Double ? String(v.value) : bad();
  if (/^(BLOB|BINARY|VARBINARY)/.test(t)) return v instanceof Binary ? Buffer.from(v.buffer).toString("hex") : bad();
  if (/^JSON/.test(t)) return JSON.stringify(m.BSON.EJSON.serialize(v as Document, { relaxed: true }));
  if (/^TIMESTAMP/.test(t)) {
    if (v instanceof Date) return v.toISOString().replace("T", " ").replace("Z", "000");
    return typeof v === "string" ? v.replace("T", " ").replace(/Z$/, "") : bad();
  }
  if (/^DATETIME/.test(t)) return typeof v === "string" ? v.replace("T", " ") : bad();
  return typeof v === "string" ? v : bad();
}
