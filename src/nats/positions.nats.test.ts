// The position store against the real NATS server: fencing claims a key for an epoch and
// keeps its position, a higher epoch's write refuses a lower one, checkpoints are CAS writes
// that fail as FENCED once anyone else wrote. Concurrent writers are real writes to the
// server, made by a bucket wrapper at the moment between the store's read and its write.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import { cleanupCluster, natsConnect, uniqueCluster } from "../../tests/support/index.js";
import { openControlPlane } from "./control-plane.js";
import { PositionStore, type PositionValue } from "./positions.js";

const cluster = uniqueCluster("pos");
let nc: NatsConnection;
let kv: KV;
let n = 0;
/** a fresh position key per test */
const key = () => `stream.p${n++}`;

beforeAll(async () => {
  nc = await natsConnect();
  kv = (await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 5000, nodeTtl: 3000 })).positions;
});
afterAll(async () => {
  await nc?.close();
  await cleanupCluster(cluster);
});

/** The bucket, with `before(k)` run before each `update` of the store (another writer getting in between). */
function interposed(before: (k: string) => Promise<void>): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === "update") {
        return async (k: string, data: string, version: number) => {
          await before(k);
          return target.update(k, data, version);
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe("PositionStore", () => {
  it("reads nothing for a key never written", async () => {
    expect(await new PositionStore(kv, "n1").read(key())).toBeUndefined();
  });

  it("fence on a new key creates it for the epoch, with no position", async () => {
    const store = new PositionStore(kv, "n1");
    const k = key();
    const f = await store.fence<string>(k, 3);
    expect(f).toEqual({ key: k, epoch: 3, revision: (await kv.get(k))!.revision, position: null });
    expect(await store.read(k)).toMatchObject({ position: null, epoch: 3, node: "n1" });
  });

  it("checkpoints are CAS writes chained by revision", async () => {
    const store = new PositionStore(kv, "n1");
    const k = key();
    const f0 = await store.fence<string>(k, 1);
    const f1 = await store.checkpoint(f0, "a");
    const f2 = await store.checkpoint(f1, "b");
    expect(f1).toEqual({ ...f0, revision: f1.revision, position: "a" });
    expect(f2.revision).toBeGreaterThan(f1.revision);
    expect((await kv.get(k))!.revision).toBe(f2.revision);
    const v = await store.read<string>(k);
    expect(v).toMatchObject({ position: "b", epoch: 1, node: "n1" } satisfies Partial<PositionValue<string>>);
    expect(Number.isNaN(Date.parse(v!.updated))).toBe(false);
  });

  it("a new epoch's fence keeps the position and takes the key over", async () => {
    const k = key();
    const old = new PositionStore(kv, "n1");
    await old.checkpoint(await old.fence<string>(k, 1), "a");
    const f = await new PositionStore(kv, "n2").fence<string>(k, 2);
    expect(f).toMatchObject({ epoch: 2, position: "a" });
    expect(await old.read(k)).toMatchObject({ position: "a", epoch: 2, node: "n2" });
  });

  it("the same epoch may fence again (a restart of the work under the same lease)", async () => {
    const store = new PositionStore(kv, "n1");
    const k = key();
    await store.checkpoint(await store.fence<string>(k, 4), "a");
    await expect(store.fence<string>(k, 4)).resolves.toMatchObject({ epoch: 4, position: "a" });
  });

  it("fence is FENCED when a higher epoch already wrote the key", async () => {
    const k = key();
    await new PositionStore(kv, "n2").fence(k, 7);
    const err = await new PositionStore(kv, "n1").fence(k, 6).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "FENCED", retryable: false });
    expect((err as Error).message).toBe(`position ${k} already written by epoch 7 (node n2); ours is 6`);
  });

  it("a checkpoint after a newer epoch fenced the key is FENCED, and writes nothing", async () => {
    const k = key();
    const old = new PositionStore(kv, "n1");
    const f = await old.checkpoint(await old.fence<string>(k, 1), "a");
    await new PositionStore(kv, "n2").fence(k, 2);
    const err = await old.checkpoint(f, "stale").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "FENCED", retryable: false });
    expect((err as Error).message).toContain(`checkpoint of ${k} refused for epoch 1`);
    expect(await old.read(k)).toMatchObject({ position: "a", epoch: 2 });
  });

  it("a checkpoint of a deleted key is FENCED", async () => {
    const store = new PositionStore(kv, "n1");
    const k = key();
    const f = await store.fence<string>(k, 1);
    await kv.delete(k);
    await expect(store.checkpoint(f, "a")).rejects.toMatchObject({ code: "FENCED" });
  });

  it("fence reads again when someone wrote between its read and its write, and keeps the newest position", async () => {
    const k = key();
    const first = new PositionStore(kv, "n1");
    const f = await first.fence<string>(k, 1);
    let interfered = 0;
    // the stale owner's last checkpoint lands just as the new owner fences
    const store = new PositionStore(
      interposed(async () => {
        if (interfered++ === 0) await first.checkpoint(f, "last-of-epoch-1");
      }),
      "n2",
    );
    const g = await store.fence<string>(k, 2);
    expect(interfered).toBe(2);
    expect(g).toMatchObject({ epoch: 2, position: "last-of-epoch-1" });
    expect(await store.read(k)).toMatchObject({ epoch: 2, node: "n2", position: "last-of-epoch-1" });
  });

  it("fence gives up (FENCED) when the key keeps changing under it", async () => {
    const k = key();
    const other = new PositionStore(kv, "n1");
    let f = await other.fence<number>(k, 1);
    let writes = 0;
    const store = new PositionStore(
      interposed(async () => {
        f = await other.checkpoint(f, ++writes);
      }),
      "n2",
    );
    const err = await store.fence(k, 2).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "FENCED" });
    expect((err as Error).message).toBe(`could not fence position ${k} for epoch 2: it keeps changing under us`);
    expect(writes).toBe(5);
  });

  it("other failures are NATS_UNAVAILABLE and retryable", async () => {
    const k = key();
    const f = await new PositionStore(kv, "n1").fence<string>(k, 1);
    const other = await natsConnect();
    const closedKv = (await openControlPlane(other, { cluster, replicas: 1, leaseTtl: 5000, nodeTtl: 3000 })).positions;
    await other.close();
    const store = new PositionStore(closedKv, "n1");
    await expect(store.checkpoint(f, "a")).rejects.toMatchObject({ code: "NATS_UNAVAILABLE", retryable: true });
    await expect(store.fence(key(), 1)).rejects.toMatchObject({ code: "NATS_UNAVAILABLE", retryable: true });
  });
});
