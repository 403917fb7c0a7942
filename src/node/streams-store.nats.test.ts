// createStream against the real streams bucket: POST /v1/streams's create never replaces a
// stream (issue 10): a second create of an id is CONFLICT naming it, two concurrent creates
// have one winner, and a deleted id can be created again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import { cleanupCluster, natsConnect, uniqueCluster } from "../../tests/support/index.js";
import { parseStreamSpec } from "../config/index.js";
import { openControlPlane } from "../nats/index.js";
import { createStream, getStream } from "./streams-store.js";

const cluster = uniqueCluster("create");
let nc: NatsConnection;
let kv: KV;
const gen = (id: string, rate: number) => parseStreamSpec({ id, source: { type: "generator", rate } });

beforeAll(async () => {
  nc = await natsConnect();
  kv = (await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 4000, nodeTtl: 3000 })).streams;
});
afterAll(async () => {
  await nc?.close();
  await cleanupCluster(cluster);
});

describe("createStream", () => {
  it("creates a new id; a second create of it is CONFLICT naming the stream and keeps the first spec", async () => {
    expect(await createStream(kv, gen("a", 1))).toBe("created");
    const err = await createStream(kv, gen("a", 2)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CONFLICT", retryable: false });
    expect((err as Error).message).toBe('stream "a" already exists; change it with PUT /v1/streams/a (or delete it first)');
    expect((await getStream(kv, "a"))?.source).toMatchObject({ rate: 1 });
  });

  it("of two concurrent creates of one id exactly one wins", async () => {
    const results = await Promise.allSettled([createStream(kv, gen("b", 1)), createStream(kv, gen("b", 2))]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ code: "CONFLICT" });
  });

  it("an id whose stream was deleted can be created again", async () => {
    await createStream(kv, gen("c", 1));
    await kv.delete("c");
    expect(await createStream(kv, gen("c", 3))).toBe("created");
    expect((await getStream(kv, "c"))?.source).toMatchObject({ rate: 3 });
  });
});
