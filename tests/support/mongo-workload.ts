/**
 * A seeded MongoDB workload for the MongoDB end-to-end tests, and the checks of its
 * copies: documents with every BSON type the connectors must keep exactly (ObjectId,
 * Int32, Int64 beyond 2^53, Double incl. integral values, Decimal128 with 34 digits, Date,
 * Timestamp, Binary subtypes 0 and 4, null, nested documents and arrays), changed by
 * inserts, `$set`/`$unset`/`$inc` updates, replacements and deletes. `diffMongoCopy`
 * compares two collections byte by byte (BSON); `diffMongoPg` compares a collection with
 * the PostgreSQL table a sink made of it, independently of the connectors' encoding. The
 * driver is loaded when used, so importing the support module stays light.
 */
import type { Collection, Document, MongoClient } from "mongodb";
import type { TestDb } from "./postgres.js";
import { rng } from "./workload.js";

type Mongo = typeof import("mongodb");

/** Random documents and changes on one collection. */
export class MongoWorkload {
  private readonly r: () => number;
  private readonly ids: import("mongodb").ObjectId[] = [];
  ops = 0;

  private constructor(private readonly m: Mongo, private readonly coll: Collection<Document>, seed: number, private readonly deletes: boolean) {
    this.r = rng(seed);
  }

  /** @param o.deletes whether changes include deletes @default true */
  static async create(client: MongoClient, db: string, coll: string, seed: number, o: { deletes?: boolean } = {}): Promise<MongoWorkload> {
    return new MongoWorkload(await import("mongodb"), client.db(db).collection(coll), seed, o.deletes ?? true);
  }

  private int(n: number): number {
    return Math.floor(this.r() * n);
  }
  private digits(n: number): string {
    let s = String(1 + this.int(9));
    while (s.length < n) s += String(this.int(10));
    return s;
  }
  private hex(n: number): string {
    let s = "";
    while (s.length < n) s += this.int(16).toString(16);
    return s;
  }

  /** A document with every type (some fields left out at random). */
  doc(): Document {
    const { Binary, Decimal128, Double, Int32, Long, Timestamp } = this.m;
    const d: Document = {
      s: ["plain", "ünïcødé 🚀", "quote's \"dq\"", "日本語", ""][this.int(5)]! + this.int(1000),
      i: new Int32(this.int(2 ** 31) - 2 ** 30),
      big: Long.fromString(String(9007199254740993n + BigInt(this.int(1e9)))),
      d: new Double(this.r() < 0.3 ? this.int(100) : this.r() * 1e6),
      dec: Decimal128.fromString(`${this.r() < 0.5 ? "-" : ""}${this.digits(34)}E${this.int(40) - 20}`),
      at: new Date(Date.UTC(2000 + this.int(30), this.int(12), 1 + this.int(28), this.int(24), this.int(60), this.int(60), this.int(1000))),
      ts: new Timestamp({ t: 1_600_000_000 + this.int(1e8), i: this.int(1000) }),
      bin: new Binary(Buffer.from(this.hex(2 * this.int(40)), "hex"), 0),
      uuid: new Binary(Buffer.from(this.hex(32), "hex"), 4),
      flag: this.r() < 0.5,
      n: null,
      nested: { a: Long.fromString(String(2n ** 60n + BigInt(this.int(1e6)))), b: new Double(this.int(10)), c: [new Int32(this.int(100)), "x", { when: new Date(this.int(2e12)) }], e: {} },
    };
    for (const f of ["flag", "uuid", "ts"]) if (this.r() < 0.15) delete d[f];
    return d;
  }

  /** Inserts `n` documents (before the stream starts: read by the snapshot). */
  async seed(n: number): Promise<void> {
    const docs = Array.from({ length: n }, () => ({ _id: new this.m.ObjectId(), ...this.doc() }));
    await this.coll.insertMany(docs);
    for (const d of docs) this.ids.push(d._id);
  }

  /** Runs `n` random changes. */
  async run(n: number): Promise<void> {
    for (let k = 0; k < n; k++) await this.op();
  }

  private async op(): Promise<void> {
    const { Decimal128, Int32 } = this.m;
    this.ops++;
    const p = this.r();
    const at = this.int(this.ids.length);
    const id = this.ids[at];
    if (p < 0.3 || id === undefined) {
      const _id = new this.m.ObjectId();
      await this.coll.insertOne({ _id, ...this.doc() });
      this.ids.push(_id);
    } else if (p < 0.65) {
      const fresh = this.doc();
      const set: Document = { s: fresh.s, big: fresh.big, dec: Decimal128.fromString(`${this.digits(20)}.${this.digits(10)}`), "nested.a": fresh.nested.a, at: fresh.at };
      const update: Document = { $set: set, $inc: { i: new Int32(1) } };
      if (this.r() < 0.3) update.$unset = { [["flag", "uuid", "ts", "bin"][this.int(4)]!]: "" };
      await this.coll.updateOne({ _id: id }, update);
    } else if (p < 0.85 || !this.deletes) {
      const fresh = this.doc();
      delete fresh.nested;
      await this.coll.replaceOne({ _id: id }, fresh);
    } else {
      await this.coll.deleteOne({ _id: id });
      this.ids.splice(at, 1);
    }
  }
}

/** JSON text with object keys sorted at every depth. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

/** Every document of a collection by its `_id` (canonical Extended JSON) → its exact BSON bytes (hex). */
async function bsonById(m: Mongo, client: MongoClient, db: string, coll: string): Promise<Map<string, string>> {
  const docs = await client.db(db).collection(coll).find({}, { promoteValues: false, promoteLongs: false, promoteBuffers: false }).toArray();
  return new Map(docs.map((d) => [canonical(m.BSON.EJSON.serialize({ _id: d._id }, { relaxed: false })), Buffer.from(m.BSON.serialize(d)).toString("hex")]));
}

/** Differences between two collections (null when every document is byte-identical and none is missing or extra). */
export async function diffMongoCopy(client: MongoClient, from: { db: string; coll: string }, to: { db: string; coll: string }, targetClient = client): Promise<string | null> {
  const m = await import("mongodb");
  const a = await bsonById(m, client, from.db, from.coll);
  const b = await bsonById(m, targetClient, to.db, to.coll);
  const out: string[] = [];
  for (const [id, bytes] of a as Map<string, string>) {
    const other = b.get(id);
    if (other === undefined) out.push(`${id}: missing in the copy`);
    else if (other !== bytes) out.push(`${id}: differs\n  source ${canonical(m.BSON.EJSON.serialize(m.BSON.deserialize(Buffer.from(bytes, "hex")), { relaxed: false }))}\n  copy   ${canonical(m.BSON.EJSON.serialize(m.BSON.deserialize(Buffer.from(other, "hex")), { relaxed: false }))}`);
  }
  for (const id of b.keys()) if (!a.has(id)) out.push(`${id}: only in the copy`);
  return out.length ? `${out.length} difference(s):\n${out.slice(0, 3).join("\n")}` : null;
}

/** A decimal text (plain or with an exponent) in one canonical form: sign, digits without leading/trailing zeros, exponent. */
function normDecimal(s: string): string {
  const m = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s.trim());
  if (!m) return s;
  let digits = (m[2] ?? "") + (m[3] ?? "");
  let exp = Number(m[4] ?? 0) - (m[3] ?? "").length;
  digits = digits.replace(/^0+/, "");
  if (digits === "") return "0";
  while (digits.endsWith("0")) {
    digits = digits.slice(0, -1);
    exp++;
  }
  return `${m[1] === "-" ? "-" : ""}${digits}e${exp}`;
}

/**
 * Differences between the workload's collection and the PostgreSQL table a sink made of it
 * (columns by field name, `_id` the ObjectId's hex; a field a document lacks is NULL).
 */
export async function diffMongoPg(client: MongoClient, db: string, coll: string, pg: TestDb, table: string): Promise<string | null> {
  const m = await import("mongodb");
  const { Binary, Decimal128, Double, Int32, Long, Timestamp } = m;
  const docs = await client.db(db).collection(coll).find({}, { promoteValues: false, promoteLongs: false, promoteBuffers: false }).toArray();
  const rows = (
    await pg.query<Record<string, string | null>>(
      `SELECT _id, s, i::text AS i, big::text AS big, d::text AS d, dec::text AS dec, (extract(epoch from at) * 1000)::bigint::text AS at, ts::text AS ts,
              replace(encode(bin, 'base64'), E'\\n', '') AS bin, replace(encode(uuid, 'base64'), E'\\n', '') AS uuid, flag::text AS flag, n, nested::text AS nested FROM ${table}`,
    )
  ).rows;
  const want = new Map<string, string>();
  const b64 = (v: unknown) => (v instanceof Binary ? Buffer.from(v.buffer).toString("base64") : v === undefined || v === null ? null : `not binary: ${String(v)}`);
  for (const d of docs) {
    const id = String(d._id);
    want.set(id, canonical({
      s: d.s ?? null,
      i: d.i instanceof Int32 ? String(d.i.value) : null,
      big: d.big instanceof Long ? d.big.toString() : null,
      d: d.d instanceof Double ? String(d.d.value) : null,
      dec: d.dec instanceof Decimal128 ? normDecimal(d.dec.toString()) : null,
      at: d.at instanceof Date ? String(d.at.getTime()) : null,
      ts: d.ts instanceof Timestamp ? canonical({ t: d.ts.t, i: d.ts.i }) : null,
      bin: b64(d.bin), uuid: b64(d.uuid), flag: typeof d.flag === "boolean" ? String(d.flag) : null, n: null,
      nested: d.nested ? canonical(m.BSON.EJSON.serialize(d.nested, { relaxed: false })) : null,
    }));
  }
  const got = new Map<string, string>();
  for (const r of rows) {
    got.set(r._id!, canonical({
      s: r.s, i: r.i, big: r.big, d: r.d == null ? null : String(Number(r.d)), dec: r.dec == null ? null : normDecimal(r.dec), at: r.at,
      ts: r.ts == null ? null : canonical(JSON.parse(r.ts)), bin: r.bin, uuid: r.uuid, flag: r.flag, n: r.n,
      nested: r.nested == null ? null : canonical(m.BSON.EJSON.serialize(m.BSON.EJSON.deserialize(JSON.parse(r.nested) as Document, { relaxed: false }), { relaxed: false })),
    }));
  }
  const out: string[] = [];
  for (const [id, w] of want) {
    const g = got.get(id);
    if (g === undefined) out.push(`${id}: missing in PostgreSQL`);
    else if (g !== w) out.push(`${id}:\n  mongo ${w}\n  pg    ${g}`);
  }
  for (const id of got.keys()) if (!want.has(id)) out.push(`${id}: only in PostgreSQL`);
  return out.length ? `${out.length} difference(s):\n${out.slice(0, 3).join("\n")}` : null;
}
