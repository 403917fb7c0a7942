/** Pins batch requests: executeBulkOperations per-operation results and the atomic items.batch. */
import type { OperationInput } from "@azure/cosmos";
import { describe, expect, it } from "vitest";
import { matchers } from "./index.js";
import { rig } from "./kit.js";

describe("executeBulkOperations", () => {
  it("upserts and deletes with partition keys; per-operation status, etag and body", async () => {
    const r = await rig();
    try {
      const upserts: OperationInput[] = Array.from({ length: 40 }, (_, i) => ({
        operationType: "Upsert", partitionKey: `k${i % 7}`, resourceBody: { id: `d${i}`, pk: `k${i % 7}`, n: i },
      }));
      const res = await r.container.items.executeBulkOperations(upserts);
      expect(res.map((x) => x.response?.statusCode)).toEqual(Array(40).fill(201));
      const one = res[3]!.response!;
      expect(one.resourceBody).toMatchObject({ id: "d3", pk: "k3", n: 3 });
      expect(one.eTag).toBe(one.resourceBody!._etag);

      const mixed: OperationInput[] = [
        ...Array.from({ length: 20 }, (_, i): OperationInput => ({ operationType: "Delete", partitionKey: `k${i % 7}`, id: `d${i}` })),
        { operationType: "Upsert", partitionKey: "k1", resourceBody: { id: "d1", pk: "k1", n: 100 } },
        { operationType: "Delete", partitionKey: "k1", id: "never-existed" },
        { operationType: "Create", partitionKey: "k0", resourceBody: { id: "d21", pk: "k0" } },
      ];
      const res2 = await r.container.items.executeBulkOperations(mixed);
      expect(res2.slice(0, 20).map((x) => x.response?.statusCode)).toEqual(Array(20).fill(204));
      expect(res2[20]!.response?.statusCode).toBe(201);
      expect(res2[21]!.error?.code).toBe(404);
      expect(res2[22]!.error?.code).toBe(409);
      const left = r.fake.documents("db", "c").map((d) => String(d.id)).sort();
      expect(left).toEqual(["d1", ...Array.from({ length: 20 }, (_, i) => `d${i + 20}`)].sort());
      const batches = r.fake.requests.filter(matchers.batch);
      expect(batches.every((x) => x.headers["x-ms-cosmos-batch-atomic"] === "false" && x.headers["x-ms-documentdb-partitionkeyrangeid"] === "0")).toBe(true);
      expect(batches.map((x) => x.status)).toEqual([200, 207]);
    } finally {
      await r.stop();
    }
  });

  it("works on a nested partition key path, with Read, Replace (IfMatch), Patch", async () => {
    const r = await rig(["/tenant/id"], { version: 2 });
    try {
      const put = await r.container.items.executeBulkOperations([
        { operationType: "Upsert", partitionKey: "t1", resourceBody: { id: "offset", tenant: { id: "t1" }, pos: 1 } },
        { operationType: "Upsert", partitionKey: "t2", resourceBody: { id: "offset", tenant: { id: "t2" }, pos: 1 } },
      ]);
      const etag = put[0]!.response!.eTag!;
      const res = await r.container.items.executeBulkOperations([
        { operationType: "Read", partitionKey: "t2", id: "offset" },
        { operationType: "Replace", partitionKey: "t1", id: "offset", ifMatch: etag, resourceBody: { id: "offset", tenant: { id: "t1" }, pos: 2 } },
        { operationType: "Replace", partitionKey: "t2", id: "offset", ifMatch: etag, resourceBody: { id: "offset", tenant: { id: "t2" }, pos: 2 } },
        { operationType: "Patch", partitionKey: "t2", id: "offset", resourceBody: { operations: [{ op: "incr", path: "/pos", value: 10 }] } },
      ]);
      expect(res[0]!.response).toMatchObject({ statusCode: 200, resourceBody: { tenant: { id: "t2" }, pos: 1 } });
      expect(res[1]!.response?.statusCode).toBe(200);
      expect(res[2]!.error?.code).toBe(412);
      expect(res[3]!.response?.resourceBody).toMatchObject({ pos: 11 });
      expect((await r.container.item("offset", "t1").read()).resource).toMatchObject({ pos: 2 });
      expect((await r.container.item("offset", "t2").read()).resource).toMatchObject({ pos: 11 });
    } finally {
      await r.stop();
    }
  });
});

describe("items.batch (transactional)", () => {
  it("applies all operations or none", async () => {
    const r = await rig();
    try {
      await r.container.items.create({ id: "exists", pk: "p" });
      const lsn = r.fake.lsn;
      const failed = await r.container.items.batch([
        { operationType: "Create", resourceBody: { id: "new", pk: "p" } },
        { operationType: "Create", resourceBody: { id: "exists", pk: "p" } },
      ], "p");
      expect(failed.result?.map((x) => x.statusCode)).toEqual([424, 409]);
      expect(r.fake.lsn).toBe(lsn);
      expect((await r.container.item("new", "p").read()).statusCode).toBe(404);

      const ok = await r.container.items.batch([
        { operationType: "Create", resourceBody: { id: "new", pk: "p" } },
        { operationType: "Delete", id: "exists" },
      ], "p");
      expect(ok.result?.map((x) => x.statusCode)).toEqual([201, 204]);
      expect(r.fake.documents("db", "c").map((d) => d.id)).toEqual(["new"]);
    } finally {
      await r.stop();
    }
  });
});
