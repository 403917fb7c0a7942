// The lease store against the real NATS server: acquire (the create's revision is the
// epoch), held by another node, CAS renew, a conflicting write or a missing key is a lost
// lease, any other failure is retryable, and release is a CAS delete.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import { cleanupCluster, eventually, natsConnect, uniqueCluster } from "../../tests/support/index.js";
import { openControlPlane } from "./control-plane.js";
import { LeaseStore, type LeaseValue } from "./lease.js";

const TTL_MS = 2000;
const cluster = uniqueCluster("lease");
let nc: NatsConnection;
let kv: KV;
let n = 0;
/** a fresh lease key per test */
const key = () => `stream.s${n++}`;

beforeAll(async () => {
  nc = await natsConnect();
  kv = (await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: TTL_MS, nodeTtl: 3000 })).leases;
});
afterAll(async () => {
  await nc?.close();
  await cleanupCluster(cluster);
});

const value = async (k: string): Promise<LeaseValue | null> => {
  const e = await kv.get(k);
  return e && e.operation === "PUT" ? e.json<LeaseValue>() : null;
};

describe("LeaseStore", () => {
  it("acquire creates the key; its revision is the epoch, and the epoch is written in the value by a first renew", async () => {
    let clock = 100;
    const store = new LeaseStore(kv, "n1", () => clock++);
    const k = key();
    const lease = await store.acquire(k);
    expect(lease.key).toBe(k);
    expect(lease.revision).toBeGreaterThan(lease.epoch);
    expect(lease.confirmedAt).toBe(101); // taken before the renew that confirmed it (acquire's own reading was 100)
    const v = await value(k);
    expect(v).toMatchObject({ node: "n1", epoch: lease.epoch, acquired: lease.acquired });
    expect(typeof v?.renewed).toBe("string");
    expect((await kv.get(k))?.revision).toBe(lease.revision);
  });

  it("a held lease is LEASE_HELD (retryable), naming the holder and its epoch", async () => {
    const k = key();
    const mine = await new LeaseStore(kv, "n1").acquire(k);
    const err = await new LeaseStore(kv, "n2").acquire(k).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "LEASE_HELD", retryable: true });
    expect((err as Error).message).toBe(`lease ${k} is held by n1 (epoch ${mine.epoch})`);
  });

  it("renew is a CAS update: a new revision, the confirmation time from before the request, the value renewed", async () => {
    let clock = 0;
    const store = new LeaseStore(kv, "n1", () => clock);
    const k = key();
    const first = await store.acquire(k);
    clock = 5000;
    const second = await store.renew(first);
    expect(second).toEqual({ ...first, revision: second.revision, confirmedAt: 5000 });
    expect(second.revision).toBeGreaterThan(first.revision);
    expect((await kv.get(k))?.revision).toBe(second.revision);
    const third = await store.renew(second);
    expect(third.revision).toBeGreaterThan(second.revision);
    expect(third.epoch).toBe(first.epoch);
  });

  it("a renew after someone else wrote the key is LEASE_LOST (not retryable)", async () => {
    const store = new LeaseStore(kv, "n1");
    const k = key();
    const lease = await store.acquire(k);
    await kv.put(k, JSON.stringify({ node: "intruder", epoch: 99, acquired: "x" }));
    const err = await store.renew(lease).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "LEASE_LOST", retryable: false });
    expect((err as Error).message).toContain(`lease ${k} (epoch ${lease.epoch}) lost`);
  });

  it("a renew with a stale revision whose newer one is our own write (a timed-out renew that landed) continues the chain", async () => {
    let clock = 0;
    const store = new LeaseStore(kv, "n1", () => clock);
    const k = key();
    const lease = await store.acquire(k);
    const landed = await store.renew(lease); // the caller never saw this answer
    clock = 777;
    const next = await store.renew(lease);
    expect(next).toEqual({ ...lease, revision: next.revision, confirmedAt: 777 });
    expect(next.revision).toBeGreaterThan(landed.revision);
    expect((await kv.get(k))?.revision).toBe(next.revision);
  });

  it("a stale revision is LEASE_LOST when the newer write is another node's, or another epoch's of this node", async () => {
    const store = new LeaseStore(kv, "n1");
    const k = key();
    const lease = await store.acquire(k);
    await kv.put(k, JSON.stringify({ node: "n1", epoch: lease.epoch + 1000, acquired: "x" } satisfies LeaseValue));
    const err = await store.renew(lease).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "LEASE_LOST", retryable: false });
    expect((err as Error).message).toContain(`lost: n1 (epoch ${lease.epoch + 1000}) wrote it`);
  });

  it("a renew of a deleted key is LEASE_LOST", async () => {
    const store = new LeaseStore(kv, "n1");
    const k = key();
    const lease = await store.acquire(k);
    await kv.delete(k);
    const err = await store.renew(lease).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "LEASE_LOST" });
    expect((err as Error).message).toContain("lost: the key is gone");
  });

  it("a renew of a key that aged out (bucket TTL) is LEASE_LOST", async () => {
    const store = new LeaseStore(kv, "n1");
    const k = key();
    const lease = await store.acquire(k);
    await eventually(async () => (await kv.get(k)) === null, 20_000, `lease ${k} to age out`);
    await expect(store.renew(lease)).rejects.toMatchObject({ code: "LEASE_LOST" });
  });

  it("any other failure is NATS_UNAVAILABLE and retryable: the lease may still be ours", async () => {
    const k = key();
    const lease = await new LeaseStore(kv, "n1").acquire(k);
    const other = await natsConnect();
    const closedKv = (await openControlPlane(other, { cluster, replicas: 1, leaseTtl: TTL_MS, nodeTtl: 3000 })).leases;
    await other.close();
    const store = new LeaseStore(closedKv, "n1");
    const renewErr = await store.renew(lease).catch((e: unknown) => e);
    expect(renewErr).toMatchObject({ code: "NATS_UNAVAILABLE", retryable: true });
    expect((renewErr as Error).message).toContain("retrying until its deadline");
    await expect(store.acquire(key())).rejects.toMatchObject({ code: "NATS_UNAVAILABLE", retryable: true });
    expect(await value(k)).toMatchObject({ node: "n1", epoch: lease.epoch });
  });

  it("release deletes the key by CAS, and the next holder gets a higher epoch", async () => {
    const k = key();
    const a = new LeaseStore(kv, "n1");
    const lease = await a.acquire(k);
    expect(await a.release(lease)).toBe(true);
    expect(await kv.get(k)).toMatchObject({ operation: "DEL" });
    const next = await new LeaseStore(kv, "n2").acquire(k);
    expect(next.epoch).toBeGreaterThan(lease.epoch);
    expect(await value(k)).toMatchObject({ node: "n2", epoch: next.epoch });
  });

  it("release after a renew that landed unseen (in flight when the actor stopped) still deletes our key", async () => {
    const k = key();
    const store = new LeaseStore(kv, "n1");
    const lease = await store.acquire(k);
    await store.renew(lease); // landed; the caller releases with the revision it knew
    expect(await store.release(lease)).toBe(true);
    expect(await kv.get(k)).toMatchObject({ operation: "DEL" });
  });

  it("release with a stale revision leaves the key alone when the newer write is another epoch's of this node", async () => {
    const k = key();
    const store = new LeaseStore(kv, "n1");
    const old = await store.acquire(k);
    await kv.delete(k);
    const mine = await store.acquire(k);
    expect(await store.release({ ...old, revision: old.revision })).toBe(false);
    expect(await value(k)).toMatchObject({ node: "n1", epoch: mine.epoch });
  });

  it("release of a lease someone else holds now fails (false) and leaves their key alone", async () => {
    const k = key();
    const stale = await new LeaseStore(kv, "n1").acquire(k);
    await kv.delete(k);
    const theirs = await new LeaseStore(kv, "n2").acquire(k);
    expect(await new LeaseStore(kv, "n1").release(stale)).toBe(false);
    expect(await value(k)).toMatchObject({ node: "n2", epoch: theirs.epoch });
  });
});
