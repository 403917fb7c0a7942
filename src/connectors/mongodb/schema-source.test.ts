/** The MongoDB source spec: defaults, refused values with their field path, the cross-field checks, (the stream-spec level: tests/mongo-config.test.ts). */
import { describe, expect, it } from "vitest";
import { checkSource, mongoSourceSchema } from "./schema-source.js";

const source = (extra: Record<string, unknown> = {}) => ({ type: "mongodb", url: "mongodb://127.0.0.1:27017/?replicaSet=rs0", collections: ["shop.orders"], ...extra });
const issues = (r: { success: boolean; error?: { issues: Array<{ path: Array<string | number>; message: string }> } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
const checks = (extra: Record<string, unknown>) => checkSource(mongoSourceSchema.parse(source(extra))).map((i) => `${i.path.join(".")}: ${i.message}`);

describe("MongoDB source spec", () => {
  it("defaults", () => {
    expect(mongoSourceSchema.parse(source())).toEqual({
      ...source(), snapshot: "initial", fullDocument: "updateLookup", preImages: "off", compat: "mongodb", snapshotBatchSize: 1000, batchSize: 1000, maxAwaitTime: 1000,
    });
  });

  it("refuses bad values with the field path", () => {
    expect(issues(mongoSourceSchema.safeParse(source({ url: "postgres://x/db" })))).toEqual(["url: must be a mongodb:// or mongodb+srv:// connection string"]);
    expect(issues(mongoSourceSchema.safeParse(source({ collections: ["orders", "shop.ok", "a b.c"] })))).toEqual([
      'collections.0: collection must be written "db.collection" or "db.*" (every collection of the database)',
      'collections.2: collection must be written "db.collection" or "db.*" (every collection of the database)',
    ]);
    expect(issues(mongoSourceSchema.safeParse(source({ collections: [] })))[0]).toMatch(/^collections: /);
    expect(issues(mongoSourceSchema.safeParse(source({ snapshot: "always" })))[0]).toMatch(/^snapshot: .*'initial' \| 'never'/);
    expect(issues(mongoSourceSchema.safeParse(source({ fullDocument: "default" })))[0]).toMatch(/^fullDocument: /);
    expect(issues(mongoSourceSchema.safeParse(source({ preImages: "on" })))[0]).toMatch(/^preImages: /);
    expect(issues(mongoSourceSchema.safeParse(source({ compat: "documentdb" })))[0]).toMatch(/^compat: /);
    expect(issues(mongoSourceSchema.safeParse(source({ batchSize: 0, maxAwaitTime: "soon" })))).toEqual([
      "batchSize: Number must be greater than or equal to 1",
      'maxAwaitTime: invalid duration "soon" (use e.g. "500ms", "15s", "2m", "7d")',
    ]);
    expect(issues(mongoSourceSchema.safeParse(source({ slot: "x" })))[0]).toMatch(/Unrecognized key/);
  });

  it("checkSource: a collection twice or covered by db.*, a system collection, compat cosmos with pre-images, another fullDocument or two databases", () => {
    expect(checks({ collections: ["shop.orders", "shop.*", "shop.orders", "shop.system.views"] })).toEqual([
      'collections.0: "shop.orders" is already captured by "shop.*"',
      'collections.2: collection "shop.orders" is listed twice',
      'collections.2: "shop.orders" is already captured by "shop.*"',
      'collections.3: "shop.system.views" is already captured by "shop.*"',
      "collections.3: system collections (shop.system.views) have no change stream",
    ]);
    expect(checks({ compat: "cosmos", preImages: "whenAvailable", fullDocument: "whenAvailable", collections: ["a.x", "b.y"] })).toEqual([
      "preImages: Azure Cosmos DB for MongoDB has no pre-images: use preImages: off with compat: cosmos",
      "fullDocument: Azure Cosmos DB for MongoDB requires fullDocument: updateLookup",
      "collections: with compat: cosmos every collection must be in one database (Cosmos DB has no cluster-wide change stream)",
    ]);
    expect(checks({ compat: "cosmos", collections: ["a.x", "a.y"] })).toEqual([]);
    expect(checks({ collections: ["a.x", "b.*", "c.d.e"] })).toEqual([]);
  });
});
