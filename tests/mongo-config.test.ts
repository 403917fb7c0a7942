// A MongoDB source in a stream spec: a refused value names its path below the stream's
// source; a `${VAR}` in the URL is kept as written for the node to resolve (ADR 0013).
import { describe, expect, it } from "vitest";
import { parseStreamSpec } from "../src/config/index.js";

const source = (extra: Record<string, unknown> = {}) => ({ type: "mongodb", url: "mongodb://127.0.0.1:27017/?replicaSet=rs0", collections: ["shop.orders"], ...extra });

describe("MongoDB source config", () => {
  it("through a stream spec: the path names the stream's source; ${VAR} in the URL is kept for the node to resolve", () => {
    expect(() => parseStreamSpec({ id: "m1", source: source({ compat: "cosmos", preImages: "required" }), sinks: [] })).toThrow(/source\.preImages: Azure Cosmos DB for MongoDB has no pre-images/);
    const spec = parseStreamSpec({ id: "m1", source: source({ url: "mongodb://reader:${MONGO_PASSWORD}@db:27017/?replicaSet=rs0" }), sinks: [] });
    expect((spec.source as { url: string }).url).toBe("mongodb://reader:${MONGO_PASSWORD}@db:27017/?replicaSet=rs0");
    expect(() => parseStreamSpec({ id: "m1", source: source({ url: "${MONGO_URL}" }), sinks: [] })).not.toThrow();
  });
});
