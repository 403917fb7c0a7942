/** Pins the fake's change feed (LatestVersion and AllVersionsAndDeletes) through the real SDK's pull model. */
import { ChangeFeedMode, ChangeFeedStartFrom } from "@azure/cosmos";
import { describe, expect, it } from "vitest";
import { drain, itemsOf, rejection, rig } from "./kit.js";

interface Doc {
  id: string;
  pk: string;
  v?: number;
  _lsn: number;
}

interface AvadItem {
  current: (Doc & Record<string, unknown>) | null;
  previous?: Doc & Record<string, unknown>;
  metadata: { operationType: string; lsn: number; crts: number; previousImageLSN?: number; timeToLiveExpired: boolean; id?: string; partitionKey?: unknown };
}

const ids = (docs: Doc[]): string[] => docs.map((d) => `${d.id}:${d.v ?? ""}@${d._lsn}`);

describe("change feed, LatestVersion", () => {
  it("Beginning → every live document once in LSN order of its last change, then 304 that keeps an etag", async () => {
    const r = await rig();
    try {
      const c = r.container;
      await c.items.create({ id: "a", pk: "p1", v: 1 }); // lsn 1
      await c.items.create({ id: "b", pk: "p2", v: 1 }); // lsn 2
      await c.items.upsert({ id: "a", pk: "p1", v: 2 }); // lsn 3
      await c.items.create({ id: "gone", pk: "p1", v: 1 }); // lsn 4
      await c.item("gone", "p1").delete(); // lsn 5
      const it = c.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() });
      const pages = await drain(it);
      expect(ids(itemsOf(pages))).toEqual(["b:1@2", "a:2@3"]);
      expect(pages.map((p) => p.statusCode)).toEqual([200, 304]);
      const feed = r.fake.requests.filter((x) => x.headers["a-im"] !== undefined);
      expect(feed.map((x) => [x.headers["a-im"], x.headers["if-none-match"], x.status, x.etag])).toEqual([
        ["Incremental Feed", undefined, 200, '"3"'],
        ["Incremental Feed", '"3"', 304, '"5"'],
      ]);
      // After the 304 the continuation moved to the current LSN: the next change is all that comes.
      await c.items.upsert({ id: "b", pk: "p2", v: 2 }); // lsn 6
      expect(ids(itemsOf(await drain(it)))).toEqual(["b:2@6"]);
    } finally {
      await r.stop();
    }
  });

  it("Continuation(token) resumes after the token: two upserts of a and a delete of b give a's last version", async () => {
    const r = await rig();
    try {
      const c = r.container;
      await c.items.create({ id: "a", pk: "p1", v: 1 });
      await c.items.create({ id: "b", pk: "p1", v: 1 });
      const first = await drain(c.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }));
      const token = first[first.length - 1]!.continuationToken;
      expect(JSON.parse(token)).toMatchObject({ rid: (await c.read()).resource!._rid, Continuation: [{ minInclusive: "", maxExclusive: "FF", continuationToken: '"2"' }] });
      await c.items.upsert({ id: "a", pk: "p1", v: 2 });
      await c.items.upsert({ id: "a", pk: "p1", v: 3 });
      await c.item("b", "p1").delete();
      await c.items.create({ id: "d", pk: "p2", v: 1 });
      const resumed = await drain(c.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Continuation(token) }));
      expect(ids(itemsOf(resumed))).toEqual(["a:3@4", "d:1@6"]);
    } finally {
      await r.stop();
    }
  });

  it("Now() → 304 with If-None-Match '*' and an etag; only later changes are delivered", async () => {
    const r = await rig();
    try {
      const c = r.container;
      await c.items.create({ id: "old", pk: "p1" });
      const it = c.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Now() });
      const first = await it.readNext();
      expect(first.statusCode).toBe(304);
      const req = r.fake.requests.filter((x) => x.headers["a-im"] !== undefined)[0]!;
      expect([req.headers["if-none-match"], req.status, req.etag]).toEqual(["*", 304, '"1"']);
      await c.items.create({ id: "new", pk: "p1" });
      expect(itemsOf(await drain(it)).map((d) => d.id)).toEqual(["new"]);
    } finally {
      await r.stop();
    }
  });

  it("a partition key scope sends x-ms-documentdb-partitionkey and sees only that key", async () => {
    const r = await rig();
    try {
      const c = r.container;
      for (const [id, pk] of [["a", "p1"], ["b", "p2"], ["c", "p1"]] as const) await c.items.create({ id, pk });
      const pages = await drain(c.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning("p1") }));
      expect(itemsOf(pages).map((d) => d.id)).toEqual(["a", "c"]);
      expect(JSON.parse(pages[pages.length - 1]!.continuationToken)).toMatchObject({ partitionKey: "p1", Continuation: '"3"' });
      const feed = r.fake.requests.filter((x) => x.headers["a-im"] !== undefined);
      expect(feed.every((x) => x.headers["x-ms-documentdb-partitionkey"] === '["p1"]')).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it("pages by x-ms-max-item-count", async () => {
    const r = await rig();
    try {
      for (let i = 0; i < 5; i++) await r.container.items.create({ id: `d${i}`, pk: "p" });
      const pages = await drain(r.container.items.getChangeFeedIterator<Doc>({ maxItemCount: 2, changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }));
      expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1, 0]);
      expect(itemsOf(pages).map((d) => d.id)).toEqual(["d0", "d1", "d2", "d3", "d4"]);
      expect(r.fake.requests.filter((x) => x.headers["a-im"]).every((x) => x.headers["x-ms-max-item-count"] === "2")).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it("Time(date) sends If-Modified-Since and starts at that time", async () => {
    const r = await rig();
    try {
      await r.container.items.create({ id: "a", pk: "p" });
      const past = await drain(r.container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Time(new Date(Date.now() - 3600_000)) }));
      expect(itemsOf(past).map((d) => d.id)).toEqual(["a"]);
      const future = r.container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Time(new Date(Date.now() + 3600_000)) });
      expect((await future.readNext()).statusCode).toBe(304);
      const sent = r.fake.requests.filter((x) => x.headers["a-im"]).map((x) => x.headers["if-modified-since"]);
      expect(sent[0]).toMatch(/GMT$/);
      await r.container.items.create({ id: "b", pk: "p" });
      expect(itemsOf(await drain(future)).map((d) => d.id)).toEqual(["b"]);
    } finally {
      await r.stop();
    }
  });
});

describe("change feed, AllVersionsAndDeletes", () => {
  it("delivers creates, replaces and deletes in order with previous images and delete metadata", async () => {
    const r = await rig();
    try {
      const c = r.container;
      await c.items.create({ id: "before", pk: "p1" }); // lsn 1, before Now()
      const it = c.items.getChangeFeedIterator<AvadItem>({ changeFeedStartFrom: ChangeFeedStartFrom.Now(), changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes });
      expect((await it.readNext()).statusCode).toBe(304);
      await c.items.create({ id: "x", pk: "p1", v: 1 }); // 2
      await c.item("x", "p1").replace({ id: "x", pk: "p1", v: 2 }); // 3
      await c.items.upsert({ id: "x", pk: "p1", v: 3 }); // 4
      await c.item("x", "p1").delete(); // 5
      await c.items.create({ id: "x", pk: "p1", v: 4 }); // 6
      const pages = await drain(it);
      const items = itemsOf(pages);
      expect(items.map((i) => [i.metadata.operationType, i.metadata.lsn, i.metadata.previousImageLSN])).toEqual([
        ["create", 2, undefined], ["replace", 3, 2], ["replace", 4, 3], ["delete", 5, 4], ["create", 6, undefined],
      ]);
      expect(items[1]!.current).toMatchObject({ id: "x", v: 2, _lsn: 3 });
      expect(items[1]!.previous).toMatchObject({ id: "x", v: 1 });
      expect(items[3]!.current).toBeNull();
      expect(items[3]!.previous).toMatchObject({ v: 3 });
      expect(items[3]!.metadata).toMatchObject({ id: "x", partitionKey: { pk: "p1" }, timeToLiveExpired: false });
      expect(items.every((i) => typeof i.metadata.crts === "number")).toBe(true);
      const feed = r.fake.requests.filter((x) => x.headers["a-im"] !== undefined);
      expect(feed.every((x) => x.headers["a-im"] === "Full-Fidelity Feed" && x.headers["x-ms-cosmos-changefeed-wire-format-version"] === "2021-09-15")).toBe(true);
      // A continuation resumes after the last change.
      await c.item("x", "p1").delete(); // 7
      const resumed = itemsOf(await drain(c.items.getChangeFeedIterator<AvadItem>({
        changeFeedStartFrom: ChangeFeedStartFrom.Continuation(pages[pages.length - 1]!.continuationToken),
        changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes,
      })));
      expect(resumed.map((i) => [i.metadata.operationType, i.metadata.lsn])).toEqual([["delete", 7]]);
    } finally {
      await r.stop();
    }
  });

  it("refuses Beginning() with 400 like the service", async () => {
    const r = await rig();
    try {
      const it = r.container.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning(), changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes });
      expect((await rejection(it.readNext())).code).toBe(400);
    } finally {
      await r.stop();
    }
  });
});
