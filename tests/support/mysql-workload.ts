/**
 * A mixed workload that runs the same way on MariaDB and on PostgreSQL, over three tables
 * with the types the MySQL issue asks to carry exactly: DECIMAL, BIGINT UNSIGNED,
 * DATETIME(6), TIMESTAMP(6), DATE, TIME(6), JSON, BLOB/BINARY, ENUM, SET, BIT, utf8mb4
 * text with emoji, DOUBLE, NULLs; inserts, updates, deletes, multi-row statements,
 * primary-key changes and a composite key. Deterministic for a seed.
 *
 * `diffMyPg` compares a MariaDB and a PostgreSQL copy value by value: each side renders
 * every column with SQL of its own into the same canonical text (see COLUMNS).
 */
import { randomBytes } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import type { MyTestDb } from "./mariadb.js";
import type { TestDb } from "./postgres.js";
import { RandomWorkload } from "./workload.js";

/** How one column is declared and rendered to canonical text on each side. */
interface ColumnSpec {
  name: string;
  my: string;
  pg: string;
  myText: (c: string) => string;
  pgText: (c: string) => string;
  /** normalisation in JS after reading (DOUBLE: shortest form differs in exponent style) */
  norm?: (v: string) => string;
  /** how a canonical value is passed as a parameter */
  myParam?: (v: unknown) => unknown;
  pgParam?: (v: unknown) => unknown;
}

const asText = (c: string) => `CAST(${c} AS CHAR)`;
const pgText = (c: string) => `${c}::text`;
const plain = (c: string) => c;
const dt = { myText: (c: string) => `DATE_FORMAT(${c}, '%Y-%m-%d %H:%i:%s.%f')`, pgText: (c: string) => `to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US')` };
const bits = (n: number): Pick<ColumnSpec, "myText" | "pgText" | "myParam"> => ({
  myText: (c) => `LPAD(BIN(${c}), ${n}, '0')`,
  pgText,
  myParam: (v) => (v === null ? null : parseInt(String(v), 2)),
});
const bytes = { myText: (c: string) => `LOWER(HEX(${c}))`, pgText: (c: string) => `encode(${c}, 'hex')` };

/** Every column of the three tables, declared and rendered for each side. */
export const TABLE_COLUMNS: Record<string, ColumnSpec[]> = {
  accounts: [
    { name: "id", my: "BIGINT UNSIGNED NOT NULL", pg: "numeric(20,0) NOT NULL", myText: asText, pgText },
    { name: "name", my: "VARCHAR(100)", pg: "text", myText: plain, pgText: plain },
    { name: "balance", my: "DECIMAL(30,10)", pg: "numeric(30,10)", myText: asText, pgText },
    { name: "big", my: "BIGINT UNSIGNED", pg: "numeric(20,0)", myText: asText, pgText },
    { name: "created", my: "DATETIME(6)", pg: "timestamp(6)", ...dt },
    { name: "seen", my: "TIMESTAMP(6) NULL", pg: "timestamptz", myText: dt.myText, pgText: (c) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')`, pgParam: (v) => (v === null ? null : `${String(v)}+00`) },
    { name: "day", my: "DATE", pg: "date", myText: asText, pgText },
    { name: "dur", my: "TIME(6)", pg: "time(6)", myText: (c) => `TIME_FORMAT(${c}, '%H:%i:%s.%f')`, pgText: (c) => `to_char(${c}::interval, 'HH24:MI:SS.US')` },
    { name: "doc", my: "JSON", pg: "json", myText: plain, pgText },
    { name: "data", my: "BLOB", pg: "bytea", ...bytes },
    { name: "code", my: "BINARY(8)", pg: "bytea", ...bytes },
    { name: "status", my: "ENUM('new','active','closed','ünï')", pg: "text", myText: plain, pgText: plain },
    { name: "flags", my: "SET('a','b','c','d')", pg: "text", myText: plain, pgText: plain },
    { name: "bits", my: "BIT(12)", pg: "bit(12)", ...bits(12) },
    { name: "note", my: "TEXT", pg: "text", myText: plain, pgText: plain },
  ],
  items: [
    { name: "id", my: "INT NOT NULL", pg: "int NOT NULL", myText: asText, pgText },
    { name: "title", my: "VARCHAR(200)", pg: "text", myText: plain, pgText: plain },
    { name: "price", my: "DECIMAL(12,2)", pg: "numeric(12,2)", myText: asText, pgText },
    { name: "qty", my: "INT", pg: "int", myText: asText, pgText },
    { name: "ts", my: "DATETIME(6)", pg: "timestamp(6)", ...dt },
    { name: "emoji", my: "VARCHAR(64)", pg: "text", myText: plain, pgText: plain },
    { name: "flag", my: "BIT(1)", pg: "bit(1)", ...bits(1) },
    { name: "tiny", my: "TINYINT", pg: "smallint", myText: asText, pgText },
    { name: "ratio", my: "DOUBLE", pg: "double precision", myText: asText, pgText, norm: (v) => String(Number(v)) },
  ],
  events: [
    { name: "k1", my: "VARCHAR(20) NOT NULL", pg: "varchar(20) NOT NULL", myText: plain, pgText: plain },
    { name: "k2", my: "INT NOT NULL", pg: "int NOT NULL", myText: asText, pgText },
    { name: "payload", my: "TEXT", pg: "text", myText: plain, pgText: plain },
    { name: "amount", my: "DECIMAL(20,4)", pg: "numeric(20,4)", myText: asText, pgText },
  ],
};

/** Primary key columns of the three tables. */
export const TABLE_KEYS: Record<string, string[]> = { accounts: ["id"], items: ["id"], events: ["k1", "k2"] };

/** CREATE TABLE statements of the workload for one side. */
export function schemaSql(dialect: "mysql" | "pg"): string[] {
  return Object.entries(TABLE_COLUMNS).map(([t, cols]) => {
    const defs = cols.map((c) => `${c.name} ${dialect === "mysql" ? c.my : c.pg}`);
    defs.push(`PRIMARY KEY (${TABLE_KEYS[t]!.join(", ")})`);
    return `CREATE TABLE ${t} (${defs.join(", ")})${dialect === "mysql" ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : ""}`;
  });
}

/** Where the workload runs. */
export type WorkloadTarget = { dialect: "mysql"; db: MyTestDb } | { dialect: "pg"; db: TestDb };

/** The mixed workload on MariaDB or PostgreSQL, the same operations for a seed (see the module comment). */
export class MixedWorkload extends RandomWorkload {
  constructor(private readonly t: WorkloadTarget, seed = 42) {
    super(seed);
  }

  private text(): string {
    const parts = ["plain", "quote's", 'dq"x', "back\\slash", "ünïcødé", "🚀🔥 emoji", "tab\there", "line\nbreak", "percent%_under", "NULL", "日本語テキスト"];
    return parts[this.int(parts.length)]! + " " + this.int(1e6);
  }
  private unsigned(): string {
    const c = [() => "18446744073709551615", () => String(9007199254740993n + BigInt(this.int(1e9))), () => String(2n ** 63n + BigInt(this.int(1e6))), () => String(this.int(1000)), () => "0"];
    return c[this.int(c.length)]!();
  }
  private stamp(minYear = 1971, span = 60): string {
    const d = new Date(Date.UTC(minYear + this.int(span), this.int(12), 1 + this.int(28), this.int(24), this.int(60), this.int(60)));
    return `${d.toISOString().slice(0, 19).replace("T", " ")}.${String(this.int(1_000_000)).padStart(6, "0")}`;
  }
  private time(): string {
    const p2 = (n: number) => String(n).padStart(2, "0");
    return `${p2(this.int(24))}:${p2(this.int(60))}:${p2(this.int(60))}.${String(this.int(1_000_000)).padStart(6, "0")}`;
  }
  private flags(): string {
    return ["a", "b", "c", "d"].filter(() => this.r() < 0.5).join(",");
  }
  private bits(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += this.r() < 0.5 ? "0" : "1";
    return s;
  }
  private double(): number {
    const c = [() => 0.1 + 0.2, () => 1 / 3, () => 1e300, () => -2.5e-300, () => this.r() * 1e6 - 5e5, () => 0];
    return c[this.int(c.length)]!();
  }

  private accountRow(id: number): Record<string, unknown> {
    return {
      id,
      name: this.maybeNull(this.text()),
      balance: this.maybeNull(`${this.r() < 0.3 ? "-" : ""}${this.int(1e12)}.${String(this.int(1e10)).padStart(10, "0")}`),
      big: this.maybeNull(this.unsigned()),
      created: this.maybeNull(this.stamp(1000, 8000)),
      seen: this.maybeNull(this.stamp(1971, 60)),
      day: this.maybeNull(this.stamp(1000, 8000).slice(0, 10)),
      dur: this.maybeNull(this.time()),
      doc: this.maybeNull(`{"n": 12345678901234567890123, "s": ${JSON.stringify(this.text())}, "a": [1, 2.5, null], "e": "😀"}`),
      data: this.maybeNull(randomBytes(this.int(40))),
      code: this.maybeNull(randomBytes(8)),
      status: this.maybeNull(["new", "active", "closed", "ünï"][this.int(4)]!),
      flags: this.maybeNull(this.flags()),
      bits: this.maybeNull(this.bits(12)),
      note: this.maybeNull(`${this.text()} ${"🎉".repeat(this.int(5))}`),
    };
  }

  private itemRow(id: number): Record<string, unknown> {
    return {
      id,
      title: this.maybeNull(this.text()),
      price: this.maybeNull(`${this.int(1e8)}.${String(this.int(100)).padStart(2, "0")}`),
      qty: this.maybeNull(this.int(1e6) - 5e5),
      ts: this.maybeNull(this.stamp(1000, 8000)),
      emoji: this.maybeNull(`Zoë 🚀 ${this.int(100)}`),
      flag: this.maybeNull(this.r() < 0.5 ? "0" : "1"),
      tiny: this.maybeNull(this.int(256) - 128),
      ratio: this.maybeNull(this.double()),
    };
  }

  /** Runs one statement with `?` placeholders, converting values per column. */
  private async exec(sql: string, params: unknown[], columns: Array<string | undefined> = [], table = ""): Promise<void> {
    const specs = TABLE_COLUMNS[table] ?? [];
    const conv = params.map((v, i) => {
      const spec = specs.find((c) => c.name === columns[i]);
      if (!spec) return v;
      const f = this.t.dialect === "mysql" ? spec.myParam : spec.pgParam;
      return f ? f(v) : v;
    });
    if (this.t.dialect === "mysql") {
      await this.t.db.conn.query(sql, conv);
    } else {
      let n = 0;
      await this.t.db.query(sql.replace(/\?/g, () => `$${++n}`), conv);
    }
  }

  private async insert(table: string, row: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(row);
    await this.exec(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`, Object.values(row), cols, table);
  }

  private async update(table: string, set: Record<string, unknown>, key: Record<string, unknown>): Promise<void> {
    const s = Object.keys(set);
    const k = Object.keys(key);
    await this.exec(`UPDATE ${table} SET ${s.map((c) => `${c} = ?`).join(", ")} WHERE ${k.map((c) => `${c} = ?`).join(" AND ")}`, [...Object.values(set), ...Object.values(key)], [...s, ...k], table);
  }

  protected override async writeAccount(id: number): Promise<void> {
    await this.insert("accounts", this.accountRow(id));
  }
  protected override async writeItem(id: number): Promise<void> {
    await this.insert("items", this.itemRow(id));
  }
  protected override async writeEvent(k1: string, k2: number): Promise<void> {
    await this.insert("events", { k1, k2, payload: this.maybeNull(this.text()), amount: this.maybeNull(`${this.int(1e9)}.${String(this.int(1e4)).padStart(4, "0")}`) });
  }
  protected override async begin(): Promise<void> {
    await this.exec("BEGIN", []);
  }
  protected override async commit(): Promise<void> {
    await this.exec("COMMIT", []);
  }

  protected override async op(): Promise<void> {
    const t = this.int(3);
    const p = this.r();
    this.ops++;
    if (t === 0) {
      const id = this.pick(this.live.accounts);
      if (p < 0.4 || id === undefined) return this.insertAccount();
      if (p < 0.85) {
        const full = this.accountRow(id);
        const cols = Object.keys(full).filter((c) => c !== "id" && this.r() < 0.4);
        if (cols.length === 0) cols.push("balance");
        await this.update("accounts", Object.fromEntries(cols.map((c) => [c, full[c]])), { id });
        return;
      }
      await this.exec("DELETE FROM accounts WHERE id = ?", [id]);
      this.live.accounts.delete(id);
      return;
    }
    if (t === 1) {
      const id = this.pick(this.live.items);
      if (p < 0.4 || id === undefined) return this.insertItem();
      if (p < 0.7) {
        const full = this.itemRow(id);
        await this.update("items", { price: full.price, emoji: full.emoji, flag: full.flag, ratio: full.ratio }, { id });
        return;
      }
      if (p < 0.78) {
        // one statement, several rows
        await this.exec("UPDATE items SET qty = qty + 1, tiny = NULL WHERE id BETWEEN ? AND ?", [id, id + 5]);
        return;
      }
      if (p < 0.85) {
        const nid = this.nextId.items++; // primary-key change
        await this.update("items", { id: nid }, { id });
        this.live.items.delete(id);
        this.live.items.add(nid);
        return;
      }
      await this.exec("DELETE FROM items WHERE id = ?", [id]);
      this.live.items.delete(id);
      return;
    }
    const key = this.pick(this.live.events);
    if (p < 0.5 || key === undefined) return this.insertEvent();
    const [k1, k2] = key.split("|");
    if (p < 0.85) {
      await this.update("events", { payload: this.maybeNull(this.text()), amount: `${this.int(1e6)}.5000` }, { k1, k2: Number(k2) });
      return;
    }
    await this.exec("DELETE FROM events WHERE k1 = ? AND k2 = ?", [k1, Number(k2)]);
    this.live.events.delete(key);
  }
}

/** Every row of a workload table as canonical text, keyed by its key values. */
export async function canonicalRows(t: WorkloadTarget, table: string, targetTable = table, extraColumns: string[] = []): Promise<Map<string, string>> {
  const specs = TABLE_COLUMNS[table]!;
  const keys = TABLE_KEYS[table]!;
  const exprs = specs.map((c) => (t.dialect === "mysql" ? c.myText(c.name) : c.pgText(c.name)));
  for (const x of extraColumns) exprs.push(t.dialect === "mysql" ? `CAST(${x} AS CHAR)` : `${x}::text`);
  const sql = `SELECT ${exprs.map((e, i) => `${e} AS c${i}`).join(", ")} FROM ${targetTable}`;
  let rows: Array<Record<string, unknown>>;
  if (t.dialect === "mysql") rows = await t.db.query<RowDataPacket[]>(sql);
  else rows = (await t.db.query(sql)).rows as Array<Record<string, unknown>>;
  const out = new Map<string, string>();
  for (const r of rows) {
    const vals = exprs.map((_, i) => {
      const v = r[`c${i}`];
      if (v === null || v === undefined) return null;
      const s = Buffer.isBuffer(v) ? v.toString("utf8") : String(v);
      return specs[i]?.norm ? specs[i]!.norm!(s) : s;
    });
    const key = keys.map((k) => vals[specs.findIndex((c) => c.name === k)]).join("|");
    out.set(key, JSON.stringify(vals));
  }
  return out;
}

/** Differences between two copies of every workload table (null when equal value by value). */
export async function diffWorkload(a: WorkloadTarget, b: WorkloadTarget, targetPrefix = "", extraColumns: Record<string, string[]> = {}): Promise<string | null> {
  const diffs: string[] = [];
  for (const table of Object.keys(TABLE_COLUMNS)) {
    let x: Map<string, string>;
    let y: Map<string, string>;
    try {
      [x, y] = await Promise.all([canonicalRows(a, table, table, extraColumns[table]), canonicalRows(b, table, `${targetPrefix}${table}`, extraColumns[table])]);
    } catch (err) {
      diffs.push(`${table}: ${(err as Error).message}`);
      continue;
    }
    const missing = [...x].filter(([k, v]) => y.get(k) !== v).slice(0, 3);
    const extra = [...y].filter(([k]) => !x.has(k)).slice(0, 3);
    if (x.size !== y.size || missing.length || extra.length) {
      diffs.push(`${table}: source ${x.size} rows, target ${y.size}; differing: ${missing.map(([k, v]) => `${k}: ${v} vs ${y.get(k) ?? "(absent)"}`).join(" | ").slice(0, 2000)}; extra: ${extra.map(([k]) => k).join(", ")}`);
    }
  }
  return diffs.length ? diffs.join("\n") : null;
}
