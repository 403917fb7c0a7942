/**
 * A mixed PostgreSQL workload over three tables with the types the brief asks to carry
 * exactly: bigint beyond 2^53, numeric, timestamptz/timestamp, json/jsonb, arrays, bytea,
 * NULLs, unicode, TOASTed text left unchanged by updates, primary-key changes, a
 * composite key. Deterministic for a seed.
 */
import { randomBytes } from "node:crypto";
import { diffTables, type TestDb } from "./postgres.js";

/** The workload's tables and their key columns (the ORDER BY of a comparison). */
export const TABLES = [
  { name: "public.accounts", key: "id" },
  { name: "public.items", key: "id" },
  { name: "public.events", key: "k1, k2" },
] as const;

/** CREATE TABLE statements of the PostgreSQL workload. */
export const SCHEMA_SQL = `
CREATE TABLE accounts (id bigint PRIMARY KEY, name text, balance numeric(30,10), big bigint, active boolean,
  updated timestamptz, doc jsonb, tags text[], blob bytea, note text);
CREATE TABLE items (id bigint PRIMARY KEY, title varchar(200), price numeric(12,2), qty int, ts timestamp(6),
  dates date[], attrs json, emoji text, scores int[]);
CREATE TABLE events (k1 text, k2 int, payload text, amount double precision, seen timestamptz, PRIMARY KEY (k1, k2));
`;

/** xorshift PRNG so a failing run can be replayed from its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * What the workloads share: the seeded randomness, the live keys of the three tables
 * (accounts and items by id, events by `k1|k2`), seeding and running operations in
 * transactions. Subclasses write the rows and choose each operation.
 */
export abstract class RandomWorkload {
  protected readonly r: () => number;
  protected readonly nextId = { accounts: 1, items: 1 };
  protected readonly live = { accounts: new Set<number>(), items: new Set<number>(), events: new Set<string>() };
  ops = 0;

  constructor(seed: number) {
    this.r = rng(seed);
  }

  /** Inserts the account row with this id. */
  protected abstract writeAccount(id: number): Promise<void>;
  /** Inserts the item row with this id. */
  protected abstract writeItem(id: number): Promise<void>;
  /** Inserts the event row with this key. */
  protected abstract writeEvent(k1: string, k2: number): Promise<void>;
  /** One random operation (counted in `ops`). */
  protected abstract op(): Promise<void>;
  protected abstract begin(): Promise<void>;
  protected abstract commit(): Promise<void>;

  protected int(n: number): number {
    return Math.floor(this.r() * n);
  }
  protected pick<T>(s: Set<T>): T | undefined {
    if (s.size === 0) return undefined;
    const i = this.int(s.size);
    let j = 0;
    for (const v of s) if (j++ === i) return v;
    return undefined;
  }
  protected maybeNull<T>(v: T, p = 0.1): T | null {
    return this.r() < p ? null : v;
  }

  protected async insertAccount(): Promise<void> {
    const id = this.nextId.accounts++;
    await this.writeAccount(id);
    this.live.accounts.add(id);
  }
  protected async insertItem(): Promise<void> {
    const id = this.nextId.items++;
    await this.writeItem(id);
    this.live.items.add(id);
  }
  /** Inserts an event with a random key, unless that key is live already. */
  protected async insertEvent(): Promise<void> {
    const k1 = `k${this.int(50)}`;
    const k2 = this.int(1000);
    const key = `${k1}|${k2}`;
    if (this.live.events.has(key)) return;
    await this.writeEvent(k1, k2);
    this.live.events.add(key);
  }

  /** Rows that exist before the stream starts (read by the snapshot). */
  async seed(perTable: number): Promise<void> {
    for (let i = 0; i < perTable; i++) {
      await this.insertAccount();
      await this.insertItem();
      await this.insertEvent();
    }
  }

  /** Runs `n` operations in transactions of 1-25 operations; `between` runs between transactions. */
  async run(n: number, between?: () => Promise<void>): Promise<void> {
    const target = this.ops + n;
    while (this.ops < target) {
      const size = 1 + this.int(25);
      await this.begin();
      for (let i = 0; i < size && this.ops < target; i++) await this.op();
      await this.commit();
      if (between) await between();
    }
  }
}

/** The PostgreSQL workload on one database (see the module comment). */
export class Workload extends RandomWorkload {
  constructor(private readonly db: TestDb, seed = 42) {
    super(seed);
  }

  private text(): string {
    const parts = ["plain", "quote's", 'dq"x', "back\\slash", "ünïcødé", "🚀🔥", "tab\there", "line\nbreak", "comma,brace{}", "NULL"];
    return parts[this.int(parts.length)]! + " " + this.int(1e6);
  }
  private bigint(): string {
    const c = [() => String(9007199254740993n + BigInt(this.int(1e9))), () => "-9223372036854775808", () => "9223372036854775807", () => String(this.int(1000))];
    return c[this.int(c.length)]!();
  }
  private numeric(): string {
    return `${this.int(1e12)}.${String(this.int(1e10)).padStart(10, "0")}`;
  }
  private ts(): string {
    return new Date(Date.UTC(2020 + this.int(6), this.int(12), 1 + this.int(28), this.int(24), this.int(60), this.int(60))).toISOString().replace("Z", `${String(this.int(1000)).padStart(3, "0")}Z`);
  }

  accountValues(id: number): unknown[] {
    return [
      id,
      this.maybeNull(this.text()),
      this.maybeNull(this.numeric()),
      this.maybeNull(this.bigint()),
      this.maybeNull(this.r() < 0.5),
      this.maybeNull(this.ts()),
      this.maybeNull(`{"n": 12345678901234567890123, "s": ${JSON.stringify(this.text())}, "a": [1, 2.5, null]}`),
      this.maybeNull([this.text(), null, "NULL", "", 'a"b,c']),
      this.maybeNull(randomBytes(this.int(40))),
      // incompressible ~8 KiB: stored out of line (TOAST), so updates that leave it alone send "unchanged"
      randomBytes(6000).toString("base64"),
    ];
  }

  itemValues(id: number): unknown[] {
    return [
      id,
      this.maybeNull(this.text()),
      this.maybeNull(`${this.int(1e8)}.${String(this.int(100)).padStart(2, "0")}`),
      this.maybeNull(this.int(1e6) - 5e5),
      this.maybeNull(this.ts().replace("Z", "")),
      this.maybeNull([`202${this.int(6)}-0${1 + this.int(9)}-1${this.int(9)}`, null]),
      this.maybeNull(`{"x": 1.000, "y": [true, false], "big": 99999999999999999999}`),
      this.maybeNull("Zoë 🚀 日本語 " + this.int(100)),
      this.maybeNull([this.int(100), null, -this.int(100)]),
    ];
  }

  protected override async writeAccount(id: number): Promise<void> {
    await this.db.query(`INSERT INTO accounts VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, this.accountValues(id));
  }
  protected override async writeItem(id: number): Promise<void> {
    await this.db.query(`INSERT INTO items (id, title, price, qty, ts, dates, attrs, emoji, scores) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, this.itemValues(id));
  }
  protected override async writeEvent(k1: string, k2: number): Promise<void> {
    await this.db.query(`INSERT INTO events VALUES ($1,$2,$3,$4,$5)`, [k1, k2, this.maybeNull(this.text()), this.maybeNull(this.r() * 1e6), this.maybeNull(this.ts())]);
  }
  protected override async begin(): Promise<void> {
    await this.db.query("BEGIN");
  }
  protected override async commit(): Promise<void> {
    await this.db.query("COMMIT");
  }

  protected override async op(): Promise<void> {
    const t = this.int(3);
    const p = this.r();
    this.ops++;
    if (t === 0) {
      const id = this.pick(this.live.accounts);
      if (p < 0.45 || id === undefined) return this.insertAccount();
      if (p < 0.85) {
        // leave the TOASTed note alone most of the time
        if (this.r() < 0.8) await this.db.query(`UPDATE accounts SET name=$2, balance=$3, big=$4, doc=$5 WHERE id=$1`, [id, this.text(), this.numeric(), this.bigint(), `{"v": ${this.int(1e9)}}`]);
        else await this.db.query(`UPDATE accounts SET note=$2, tags=$3 WHERE id=$1`, [id, randomBytes(6000).toString("base64"), [this.text()]]);
        return;
      }
      await this.db.query(`DELETE FROM accounts WHERE id=$1`, [id]);
      this.live.accounts.delete(id);
      return;
    }
    if (t === 1) {
      const id = this.pick(this.live.items);
      if (p < 0.45 || id === undefined) return this.insertItem();
      if (p < 0.8) {
        await this.db.query(`UPDATE items SET price=$2, qty=qty+1, emoji=$3, scores=$4 WHERE id=$1`, [id, `${this.int(1e6)}.${this.int(10)}5`, this.text(), [this.int(9)]]);
        return;
      }
      if (p < 0.85) {
        // primary-key change
        const nid = this.nextId.items++;
        await this.db.query(`UPDATE items SET id=$2 WHERE id=$1`, [id, nid]);
        this.live.items.delete(id);
        this.live.items.add(nid);
        return;
      }
      await this.db.query(`DELETE FROM items WHERE id=$1`, [id]);
      this.live.items.delete(id);
      return;
    }
    const key = this.pick(this.live.events);
    if (p < 0.5 || key === undefined) return this.insertEvent();
    const [k1, k2] = key.split("|");
    if (p < 0.85) {
      await this.db.query(`UPDATE events SET payload=$3, amount=$4, seen=$5 WHERE k1=$1 AND k2=$2`, [k1, Number(k2), this.text(), this.r() * 1e6, this.ts()]);
      return;
    }
    await this.db.query(`DELETE FROM events WHERE k1=$1 AND k2=$2`, [k1, Number(k2)]);
    this.live.events.delete(key);
  }
}

/** Differences between source and target for every workload table (null when equal). */
export async function diffAll(src: TestDb, dst: TestDb, targetSchema = "public"): Promise<string | null> {
  const diffs: string[] = [];
  for (const t of TABLES) {
    const d = await diffTables(src, dst, t.name, t.key, t.name.replace(/^public\./, `${targetSchema}.`));
    if (d) diffs.push(d);
  }
  return diffs.length ? diffs.join("\n") : null;
}
