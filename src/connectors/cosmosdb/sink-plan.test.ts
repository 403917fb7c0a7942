/** The sink's planning: document identity, one operation per document, and the records it refuses. */
import { describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../events/index.js";
import { CosmosRowError, MAX_DOCUMENT_BYTES, documentId, planDocuments } from "./sink-plan.js";

let n = 0;
const ev = (op: ChangeEvent["op"], key: ChangeEvent["key"], after: ChangeEvent["after"], before: ChangeEvent["before"] = null, types?: Record<string, string>): { seq: number; event: ChangeEvent } => ({
  seq: ++n,
  event: {
    op, key, after, before,
    source: { connector: "postgres", stream: "s", db: "d", schema: "public", table: "t", pos: String(n), txId: null, ts_ms: 0, snapshot: false },
    ts_ms: 0,
    ...(types ? { types } : {}),
  },
});

/** The refusal `fn` throws. */
function refusal(fn: () => unknown): CosmosRowError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CosmosRowError);
    return err as CosmosRowError;
  }
  throw new Error("expected a CosmosRowError");
}

describe("document id", () => {
  it("is the key's id, else its only column, else the JSON of a composite key — always a string", () => {
    expect(documentId({ id: 5, pk: "a" }, null, 1)).toBe("5");
    expect(documentId({ id: "x" }, null, 1)).toBe("x");
    expect(documentId({ code: "A-1" }, null, 1)).toBe("A-1");
    expect(documentId({ k1: "a", k2: 7 }, null, 1)).toBe('["a",7]');
    expect(documentId({}, { id: "from-image" }, 1)).toBe("from-image");
  });

  it("refuses what Cosmos DB cannot name, naming the event", () => {
    expect(refusal(() => documentId({}, null, 9)).message).toMatch(/event seq 9 has no key/);
    expect(refusal(() => documentId({ id: "a/b" }, null, 9)).message).toMatch(/event seq 9: document id "a\/b" contains/);
    expect(refusal(() => documentId({ id: null }, null, 9)).seqs).toEqual([9]);
    expect(refusal(() => documentId({ id: "x".repeat(1024) }, null, 9)).message).toMatch(/longer than Cosmos DB allows/);
  });
});

describe("planDocuments", () => {
  it("one upsert per document with the merged images, partition key from the body, system properties dropped", () => {
    const rs = [ev("c", { id: 1 }, { id: 1, pk: "eu", a: 1, b: 2, _etag: "x" }), ev("u", { id: 1 }, { id: 1, pk: "eu", a: 3 }), ev("c", { id: 2 }, { id: 2, pk: "us", a: 9 })];
    expect(planDocuments(rs, "/pk")).toEqual([
      { kind: "upsert", id: "1", pk: "eu", body: { id: "1", pk: "eu", a: 3, b: 2 }, seqs: [rs[0]!.seq, rs[1]!.seq] },
      { kind: "upsert", id: "2", pk: "us", body: { id: "2", pk: "us", a: 9 }, seqs: [rs[2]!.seq] },
    ]);
  });

  it("a delete followed by a create is one upsert of the new image only; a create then delete is one delete", () => {
    const rs = [ev("c", { id: 1 }, { id: 1, pk: "eu", old: true }), ev("d", { id: 1 }, null, { id: 1, pk: "eu" }), ev("c", { id: 1 }, { id: 1, pk: "eu", fresh: true })];
    expect(planDocuments(rs, "/pk")).toEqual([{ kind: "upsert", id: "1", pk: "eu", body: { id: "1", pk: "eu", fresh: true }, seqs: rs.map((r) => r.seq) }]);
    const gone = [ev("c", { id: 2 }, { id: 2, pk: "eu" }), ev("d", { id: 2 }, null, { id: 2, pk: "eu" })];
    expect(planDocuments(gone, "/pk")).toEqual([{ kind: "delete", id: "2", pk: "eu", seqs: gone.map((r) => r.seq) }]);
  });

  it("orders documents by their last change", () => {
    const rs = [ev("c", { id: 1 }, { id: 1, pk: "a" }), ev("c", { id: 2 }, { id: 2, pk: "a" }), ev("u", { id: 1 }, { id: 1, pk: "a", v: 2 })];
    expect(planDocuments(rs, "/pk").map((o) => o.id)).toEqual(["2", "1"]);
  });

  it("an update that moves the row to another partition key value deletes the old document", () => {
    const r = ev("u", { id: 1 }, { id: 1, pk: "us", v: 2 }, { id: 1, pk: "eu", v: 1 });
    expect(planDocuments([r], "/pk")).toEqual([
      { kind: "delete", id: "1", pk: "eu", seqs: [r.seq] },
      { kind: "upsert", id: "1", pk: "us", body: { id: "1", pk: "us", v: 2 }, seqs: [r.seq] },
    ]);
  });

  it("partition key /id is the string id; a nested path reads into the body", () => {
    expect(planDocuments([ev("c", { id: 7 }, { id: 7 })], "/id")[0]).toMatchObject({ id: "7", pk: "7" });
    expect(planDocuments([ev("c", { id: 7 }, { id: 7, addr: { city: "Oslo" } })], "/addr/city")[0]).toMatchObject({ pk: "Oslo" });
  });

  it("a delete takes its partition key from the key or the before image, and is refused without one", () => {
    expect(planDocuments([ev("d", { id: 3, pk: "eu" }, null)], "/pk")).toMatchObject([{ kind: "delete", id: "3", pk: "eu" }]);
    const r = ev("d", { id: 3 }, null);
    const e = refusal(() => planDocuments([r], "/pk"));
    expect(e.message).toMatch(new RegExp(`event seq ${r.seq} \\(document id "3"\\) has no value at the partition key path /pk: make it a key column, send full row images`));
    expect(e.seqs).toEqual([r.seq]);
  });

  it("marks an upsert partial when the source declared columns it did not send (unchanged TOAST)", () => {
    const types = { id: "int8", pk: "text", note: "text" };
    const [partial] = planDocuments([ev("u", { id: 1 }, { id: 1, pk: "a" }, null, types)], "/pk");
    expect(partial!.partial).toBe(true);
    // a full image earlier in the batch completes it
    const [full] = planDocuments([ev("c", { id: 1 }, { id: 1, pk: "a", note: "n" }, null, types), ev("u", { id: 1 }, { id: 1, pk: "a" }, null, types)], "/pk");
    expect(full!.partial).toBeUndefined();
    expect(full!.body).toEqual({ id: "1", pk: "a", note: "n" });
  });

  it("refuses truncates and documents over 2 MB, naming the events", () => {
    const t = ev("t", {}, null);
    expect(refusal(() => planDocuments([t], "/pk")).message).toMatch(new RegExp(`event seq ${t.seq} truncates public\\.t: the Cosmos DB sink cannot empty a container`));
    const big = ev("c", { id: 1 }, { id: 1, pk: "a", blob: "x".repeat(MAX_DOCUMENT_BYTES) });
    const e = refusal(() => planDocuments([big], "/pk"));
    expect(e.message).toMatch(new RegExp(`document id "1" would be \\d+ bytes, over Cosmos DB's 2 MB limit \\(2097152 bytes\\): event seq ${big.seq}`));
    expect(e.seqs).toEqual([big.seq]);
    // just under the limit passes
    const fits = ev("c", { id: 1 }, { id: 1, pk: "a", blob: "x".repeat(MAX_DOCUMENT_BYTES - 100) });
    expect(planDocuments([fits], "/pk")).toHaveLength(1);
  });
});
