/** Pins injected faults as the real SDK experiences them: 429 retries, exhausted retries, 503, 410/1000, storms. */
import { ChangeFeedStartFrom } from "@azure/cosmos";
import { describe, expect, it } from "vitest";
import { matchers } from "./index.js";
import { drain, itemsOf, rejection, rig } from "./kit.js";

const feedOf = (r: Awaited<ReturnType<typeof rig>>) => r.fake.requests.filter(matchers.changeFeed);

describe("fault injection", () => {
  it("429 with x-ms-retry-after-ms is retried by the SDK on the change feed and on writes", async () => {
    const r = await rig();
    try {
      await r.container.items.create({ id: "a", pk: "p" });
      r.fake.faults.throttle(2, 20, matchers.changeFeed);
      const pages = await drain(r.container.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }));
      expect(itemsOf(pages)).toHaveLength(1);
      expect(feedOf(r).map((x) => x.status)).toEqual([429, 429, 200, 304]);
      expect(feedOf(r)[0]!.injected).toBe(true);
      r.fake.faults.throttle(1, 5, matchers.method("POST"));
      expect((await r.container.items.create({ id: "b", pk: "p" })).statusCode).toBe(201);
      expect(r.fake.faults.pending).toBe(0);
      expect(r.fake.faults.injected).toBe(3);
    } finally {
      await r.stop();
    }
  });

  it("exhausted 429 retries surface as an error with code 429", async () => {
    const r = await rig(["/pk"], { client: { connectionPolicy: { retryOptions: { maxRetryAttemptCount: 2, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 30 } } } });
    try {
      r.fake.faults.throttle(10, 5, matchers.changeFeed);
      const err = await rejection(r.container.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }).readNext());
      expect(err.code).toBe(429);
      expect(feedOf(r).map((x) => x.status)).toEqual([429, 429, 429]);
    } finally {
      await r.stop();
    }
  });

  it("a 503 once is retried transparently", async () => {
    const r = await rig();
    try {
      await r.container.items.create({ id: "a", pk: "p" });
      r.fake.faults.failNext(1, 503, undefined, matchers.changeFeed);
      const page = await r.container.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }).readNext();
      expect(page.statusCode).toBe(200);
      expect(feedOf(r).map((x) => x.status)).toEqual([503, 200]);
    } finally {
      await r.stop();
    }
  });

  it("410 substatus 1000 is returned by readNext as statusCode 410, and the next read goes on", async () => {
    const r = await rig();
    try {
      await r.container.items.create({ id: "a", pk: "p" });
      r.fake.faults.failNext(1, 410, 1000, matchers.changeFeed);
      const it = r.container.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() });
      const gone = await it.readNext();
      expect(gone.statusCode).toBe(410);
      expect(itemsOf(await drain(it))).toHaveLength(1);
    } finally {
      await r.stop();
    }
  });

  it("a 429 storm throttles every k-th request; the SDK's retries absorb it", async () => {
    const r = await rig();
    try {
      r.fake.faults.startStorm({ every: 3, durationMs: 60_000, retryAfterMs: 5, match: matchers.docs });
      for (let i = 0; i < 12; i++) await r.container.items.upsert({ id: `d${i}`, pk: "p" });
      r.fake.faults.stopStorm();
      const docs = r.fake.requests.filter(matchers.docs);
      expect(docs.filter((x) => x.status === 429)).toHaveLength(Math.floor(docs.length / 3));
      expect(r.fake.documents("db", "c")).toHaveLength(12);
    } finally {
      await r.stop();
    }
  });

  it("a throttled bulk batch is retried per operation", async () => {
    const r = await rig();
    try {
      r.fake.faults.throttle(1, 10, matchers.batch);
      const ops = Array.from({ length: 10 }, (_, i) => ({ operationType: "Create" as const, partitionKey: "p", resourceBody: { id: `d${i}`, pk: "p" } }));
      const res = await r.container.items.executeBulkOperations(ops);
      expect(res.map((x) => x.response?.statusCode)).toEqual(Array(10).fill(201));
      expect(r.fake.requests.filter(matchers.batch).map((x) => x.status)).toEqual([429, 200]);
    } finally {
      await r.stop();
    }
  });
});
