/** Pins partition key range splits: the SDK's 410/1002 handling on the change feed and in bulk, with nothing lost or duplicated. */
import { ChangeFeedMode, ChangeFeedStartFrom } from "@azure/cosmos";
import { describe, expect, it } from "vitest";
import { drain, itemsOf, rig } from "./kit.js";

interface Doc {
  id: string;
  pk: string;
  _lsn: number;
}

const write = async (r: Awaited<ReturnType<typeof rig>>, from: number, to: number): Promise<string[]> => {
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    await r.container.items.create({ id: `d${i}`, pk: `k${i}` });
    out.push(`d${i}`);
  }
  return out;
};

describe("partition key range split", () => {
  it("in the middle of reading: the SDK follows the children from the parent's etag, nothing lost or duplicated", async () => {
    const r = await rig();
    try {
      const before = await write(r, 0, 20);
      const it = r.container.items.getChangeFeedIterator<Doc>({ maxItemCount: 5, changeFeedStartFrom: ChangeFeedStartFrom.Beginning() });
      const seen: string[] = [];
      const first = await it.readNext();
      seen.push(...first.result.map((d) => d.id));
      expect(seen).toHaveLength(5);

      const { parent, children } = r.fake.split("db", "c");
      expect(parent.id).toBe("0");
      expect(children.map((c) => [c.minInclusive, c.maxExclusive, c.parents])).toEqual([
        ["", children[0]!.maxExclusive, ["0"]],
        [children[0]!.maxExclusive, "FF", ["0"]],
      ]);
      const after = await write(r, 20, 30);
      const pages = await drain(it);
      seen.push(...itemsOf(pages).map((d) => d.id));

      expect([...seen].sort()).toEqual([...before, ...after].sort());
      expect(new Set(seen).size).toBe(seen.length);
      // The documents really are spread over both children (the split point is their median EPK).
      const feed = r.fake.requests.filter((x) => x.headers["a-im"] !== undefined);
      const gone = feed.find((x) => x.status === 410);
      expect(gone).toMatchObject({ substatus: 1002, headers: { "x-ms-documentdb-partitionkeyrangeid": "0", "if-none-match": '"5"' } });
      const childReads = feed.filter((x) => x.status === 200 && x.seq > gone!.seq);
      expect(new Set(childReads.map((x) => x.headers["x-ms-documentdb-partitionkeyrangeid"]))).toEqual(new Set(["1", "2"]));
      expect(r.fake.requests.filter((x) => x.path.endsWith("/pkranges") && x.seq > gone!.seq).length).toBeGreaterThan(0);
      const token = JSON.parse(pages[pages.length - 1]!.continuationToken) as { Continuation: unknown[] };
      expect(token.Continuation).toHaveLength(2);
    } finally {
      await r.stop();
    }
  });

  it("resumes from a continuation taken before the split, in both modes", async () => {
    const r = await rig();
    try {
      await write(r, 0, 10);
      const latest = await drain(r.container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }));
      const avad = r.container.items.getChangeFeedIterator<{ metadata: { operationType: string }; current: Doc | null; previous?: Doc }>({
        changeFeedStartFrom: ChangeFeedStartFrom.Now(), changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes,
      });
      const avadStart = await drain(avad);
      const latestToken = latest[latest.length - 1]!.continuationToken;
      const avadToken = avadStart[avadStart.length - 1]!.continuationToken;

      r.fake.split("db", "c");
      const after = await write(r, 10, 20);
      await r.container.item("d3", "k3").delete();

      const resumed = itemsOf(await drain(r.container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Continuation(latestToken) })));
      expect(resumed.map((d) => d.id).sort()).toEqual([...after].sort());
      const changes = itemsOf(await drain(r.container.items.getChangeFeedIterator<{ metadata: { operationType: string }; current: Doc | null; previous?: Doc }>({
        changeFeedStartFrom: ChangeFeedStartFrom.Continuation(avadToken), changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes,
      })));
      expect(changes.map((c) => `${c.metadata.operationType}:${c.current?.id ?? c.previous?.id}`).sort()).toEqual(
        [...after.map((id) => `create:${id}`), "delete:d3"].sort(),
      );
    } finally {
      await r.stop();
    }
  });

  it("feed ranges: one iterator per child range sees disjoint halves; a pre-split range spans both", async () => {
    const r = await rig();
    try {
      const all = await write(r, 0, 30);
      const [whole] = await r.container.getFeedRanges();
      r.fake.split("db", "c");
      const ranges = await r.container.getFeedRanges();
      expect(ranges).toHaveLength(2);
      const halves = await Promise.all(ranges.map(async (fr) =>
        itemsOf(await drain(r.container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning(fr) }))).map((d) => d.id)));
      expect(halves[0]!.length).toBeGreaterThan(0);
      expect(halves[1]!.length).toBeGreaterThan(0);
      expect([...halves[0]!, ...halves[1]!].sort()).toEqual([...all].sort());
      const spanning = itemsOf(await drain(r.container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning(whole!) })));
      expect(spanning.map((d) => d.id).sort()).toEqual([...all].sort());
    } finally {
      await r.stop();
    }
  });

  it.each([
    ["V1", undefined],
    ["V2", 2],
  ])("bulk (%s hash): a batch sent to the split parent gets 410/1002 and is re-batched to the children", async (_name, version) => {
    const r = await rig(["/pk"], version !== undefined ? { version } : {});
    try {
      const upserts = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) => ({
          operationType: "Upsert" as const, partitionKey: `k${from + i}`, resourceBody: { id: `d${from + i}`, pk: `k${from + i}` },
        }));
      const first = await r.container.items.executeBulkOperations(upserts(0, 30));
      expect(first.map((x) => x.response?.statusCode)).toEqual(Array(30).fill(201));
      r.fake.split("db", "c");
      // The SDK's range cache still holds range 0 from the first call.
      const second = await r.container.items.executeBulkOperations(upserts(20, 60));
      expect(second.map((x) => x.response?.statusCode)).toEqual([...Array(10).fill(200), ...Array(30).fill(201)]);
      const batches = r.fake.requests.filter((x) => x.headers["x-ms-cosmos-is-batch-request"] !== undefined);
      expect(batches.some((x) => x.status === 410 && x.substatus === 1002)).toBe(true);
      expect(new Set(batches.filter((x) => x.status === 200).map((x) => x.headers["x-ms-documentdb-partitionkeyrangeid"]))).toEqual(new Set(["0", "1", "2"]));
      expect(r.fake.misroutedBulkOps).toBe(0);
      expect(r.fake.documents("db", "c")).toHaveLength(60);
    } finally {
      await r.stop();
    }
  });
});
