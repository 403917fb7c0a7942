/**
 * PostgreSQL → Cosmos DB → PostgreSQL round trips for the end-to-end and crash tests: a
 * source database with a mixed workload, Cosmos DB containers (the fake) written by a
 * `cosmosdb` sink and read back by a `cosmosdb` source in allVersionsAndDeletes mode into a
 * target database, whose tables must end up equal to the source's (values compared as
 * PostgreSQL prints them). Document ids are the rows' text ids; the partition key is the
 * `pk` column, so the target tables are keyed by (id, pk) — the key Cosmos DB events carry.
 */
import { randomBytes } from "node:crypto";
import { createDb, diffTables, type TestDb } from "./postgres.js";
import { rng } from "./workload.js";

/**
 * Source tables. A delete must carry the partition key value: `accounts` has it in its
 * primary key, `items` sends full row images (which also show a row moving to another `pk`).
 */
export const SOURCE_SQL = `
CREATE TABLE accounts (id text, pk text NOT NULL, name text, balance numeric(30,10), big bigint, active boolean,
  updated timestamptz, doc jsonb, tags text[], blob bytea, score double precision, note text, PRIMARY KEY (id, pk));
CREATE TABLE items (id text PRIMARY KEY, pk text NOT NULL, title varchar(200), price numeric(12,2), qty int, ts timestamp(6),
  attrs json, emoji text, scores int[], dates date[]);
ALTER TABLE items REPLICA IDENTITY FULL;
`;

/** Target tables: the same columns, keyed like the Cosmos DB events (id and partition key). */
export const TARGET_SQL = `
CREATE TABLE accounts (id text, pk text, name text, balance numeric(30,10), big bigint, active boolean,
  updated timestamptz, doc jsonb, tags text[], blob bytea, score double precision, note text, PRIMARY KEY (id, pk));
CREATE TABLE items (id text, pk text, title varchar(200), price numeric(12,2), qty int, ts timestamp(6),
  attrs json, emoji text, scores int[], dates date[], PRIMARY KEY (id, pk));
`;

/** The two databases of a round trip. */
export interface RoundTripDbs {
  src: TestDb;
  dst: TestDb;
  drop(): Promise<void>;
}

export async function roundTripDbs(prefix: string): Promise<RoundTripDbs> {
  const src = await createDb(`${prefix}_src`);
  const dst = await createDb(`${prefix}_dst`);
  await src.query(SOURCE_SQL);
  await dst.query(TARGET_SQL);
  return { src, dst, drop: async () => { await src.drop(); await dst.drop(); } };
}

/** Differences between source and target tables (null when equal). */
export async function diffRoundTrip(d: RoundTripDbs): Promise<string | null> {
  const out: string[] = [];
  for (const t of ["public.accounts", "public.items"]) {
    const diff = await diffTables(d.src, d.dst, t, "id");
    if (diff) out.push(diff);
  }
  return out.length ? out.join("\n") : null;
}

/**
 * A seeded workload on the source tables: inserts, updates (most leave the TOASTed `note`
 * alone, so it is not sent), deletes, and rows of `items` moving to another `pk`; numeric,
 * bigint beyond 2^53, timestamps, json/jsonb, arrays, bytea, doubles, NULLs and unicode.
 */
export class CosmosWorkload {
  private readonly r: () => number;
  private next = { accounts: 1, items: 1 };
  private readonly accounts = new Set<string>();
  private readonly items = new Set<string>();
  ops = 0;

  constructor(private readonly db: TestDb, seed: number) {
    this.r = rng(seed);
  }

  private int(n: number): number {
    return Math.floor(this.r() * n);
  }
  private pick(s: Set<string>): string | undefined {
    if (s.size === 0) return undefined;
    const i = this.int(s.size);
    let j = 0;
    for (const v of s) if (j++ === i) return v;
    return undefined;
  }
  private nul<T>(v: T): T | null {
    return this.r() < 0.1 ? null : v;
  }
  private text(): string {
    const parts = ["plain", "quote's", 'dq"x', "back\\slash", "ünïcødé", "🚀🔥", "tab\there", "line\nbreak", "NULL", "日本語"];
    return `${parts[this.int(parts.length)]} ${this.int(1e6)}`;
  }
  private bigint(): string {
    const c = [() => String(9007199254740993n + BigInt(this.int(1e9))), () => "-9223372036854775808", () => String(this.int(1000))];
    return c[this.int(c.length)]!();
  }
  private ts(): string {
    return new Date(Date.UTC(2020 + this.int(6), this.int(12), 1 + this.int(28), this.int(24), this.int(60), this.int(60))).toISOString().replace("Z", `${String(this.int(1000)).padStart(3, "0")}Z`);
  }
  private pk(): string {
    return `p${this.int(8)}`;
  }

  private async insertAccount(): Promise<void> {
    const id = `a${this.next.accounts++}`;
    await this.db.query("INSERT INTO accounts VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)", [
      id, this.pk(), this.nul(this.text()), this.nul(`${this.int(1e12)}.${String(this.int(1e10)).padStart(10, "0")}`), this.nul(this.bigint()),
      this.nul(this.r() < 0.5), this.nul(this.ts()), this.nul(`{"n": 12345678901234567890123, "s": ${JSON.stringify(this.text())}, "a": [1, 2.5, null]}`),
      this.nul([this.text(), null, "NULL", "", 'a"b,c']), this.nul(randomBytes(this.int(40))), this.nul(this.r() * 1e6 - 5e5),
      // incompressible ~8 KiB: stored out of line (TOAST), so updates that leave it alone do not send it
      randomBytes(6000).toString("base64"),
    ]);
    this.accounts.add(id);
  }

  private async insertItem(): Promise<void> {
    const id = `i${this.next.items++}`;
    await this.db.query("INSERT INTO items VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)", [
      id, this.pk(), this.nul(this.text()), this.nul(`${this.int(1e8)}.${String(this.int(100)).padStart(2, "0")}`), this.nul(this.int(1e6) - 5e5),
      this.nul(this.ts().replace("Z", "")), this.nul(`{"x": 1.000, "y": [true, false], "big": 99999999999999999999}`), this.nul(`Zoë 🚀 ${this.int(100)}`),
      this.nul([this.int(100), null, -this.int(100)]), this.nul([`202${this.int(6)}-0${1 + this.int(9)}-1${this.int(9)}`, null]),
    ]);
    this.items.add(id);
  }

  /** Rows that exist before the changes start. */
  async seed(perTable: number): Promise<void> {
    for (let i = 0; i < perTable; i++) {
      await this.insertAccount();
      await this.insertItem();
    }
  }

  /** Runs `n` operations in transactions of 1-25 operations. */
  async run(n: number): Promise<void> {
    const target = this.ops + n;
    while (this.ops < target) {
      const size = 1 + this.int(25);
      await this.db.query("BEGIN");
      for (let i = 0; i < size && this.ops < target; i++) await this.op();
      await this.db.query("COMMIT");
    }
  }

  private async op(): Promise<void> {
    this.ops++;
    const p = this.r();
    if (this.r() < 0.5) {
      const id = this.pick(this.accounts);
      if (p < 0.45 || id === undefined) return this.insertAccount();
      if (p < 0.85) {
        if (this.r() < 0.8) await this.db.query("UPDATE accounts SET name=$2, balance=$3, big=$4, doc=$5, score=$6 WHERE id=$1", [id, this.text(), `${this.int(1e6)}.5`, this.bigint(), `{"v": ${this.int(1e9)}}`, this.r()]);
        else await this.db.query("UPDATE accounts SET note=$2, tags=$3 WHERE id=$1", [id, randomBytes(6000).toString("base64"), [this.text()]]);
        return;
      }
      await this.db.query("DELETE FROM accounts WHERE id=$1", [id]);
      this.accounts.delete(id);
      return;
    }
    const id = this.pick(this.items);
    if (p < 0.4 || id === undefined) return this.insertItem();
    if (p < 0.75) {
      await this.db.query("UPDATE items SET price=$2, qty=qty+1, emoji=$3, scores=$4 WHERE id=$1", [id, `${this.int(1e6)}.${this.int(10)}5`, this.text(), [this.int(9)]]);
      return;
    }
    if (p < 0.85) {
      // the row moves to another partition key value: a different document in Cosmos DB
      await this.db.query("UPDATE items SET pk=$2, title=$3 WHERE id=$1", [id, this.pk(), this.text()]);
      return;
    }
    await this.db.query("DELETE FROM items WHERE id=$1", [id]);
    this.items.delete(id);
  }
}

/** The streams of a round trip: Cosmos DB → PostgreSQL (allVersionsAndDeletes from now) and PostgreSQL → Cosmos DB. */
export function roundTripStreams(o: { endpoint: string; database: string; dbs: RoundTripDbs; slot: string }): unknown[] {
  const auth = { key: "${COSMOS_KEY}" };
  return [
    {
      id: "c2pg",
      source: { type: "cosmosdb", endpoint: o.endpoint, database: o.database, containers: ["accounts", "items"], mode: "allVersionsAndDeletes", auth, pollInterval: "100ms", pageSize: 200 },
      sinks: [{ name: "pg", type: "postgres", url: o.dbs.dst.url, table: "public.{table}", batchMaxRows: 1000 }],
    },
    {
      id: "pg2c",
      source: { type: "postgres", url: o.dbs.src.url, tables: ["public.accounts", "public.items"], slot: o.slot },
      sinks: [{ name: "cosmos", type: "cosmosdb", endpoint: o.endpoint, database: o.database, partitionKey: "/pk", auth, autoCreate: true, batchMaxRows: 1000 }],
    },
  ];
}
