// Membership and heartbeats against the real NATS server, with a short node TTL: joins,
// drains and leaves arrive through the watch, a node whose heartbeat stops ages out of the
// bucket and is dropped by the periodic listing, and only a change of the live set counts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import { pino } from "pino";
import { cleanupCluster, eventually, natsConnect, uniqueCluster } from "../../tests/support/index.js";
import { openControlPlane } from "../nats/index.js";
import { startHeartbeat, type NodeRecord } from "./heartbeat.js";
import { Membership } from "./membership.js";

const NODE_TTL = 1500;
const POLL_MS = 200;
const log = pino({ level: "silent" });
let nc: NatsConnection;
let n = 0;
const open: Array<{ stop(): void }> = [];

beforeAll(async () => {
  nc = await natsConnect();
});
afterEach(() => {
  for (const m of open.splice(0)) m.stop();
});
const clusters: string[] = [];
afterAll(async () => {
  await nc?.close();
  for (const c of clusters) await cleanupCluster(c);
});

/** A nodes bucket of a cluster of its own. */
async function bucket(): Promise<KV> {
  const cluster = uniqueCluster(`mem${n++}`);
  clusters.push(cluster);
  return (await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 5000, nodeTtl: NODE_TTL })).nodes;
}

const record = (id: string, o: Partial<NodeRecord> = {}): NodeRecord => ({ id, admin: `http://${id}`, version: "0", capacity: 100, draining: false, started: "2024-01-01T00:00:00.000Z", pid: 1, actors: 0, ...o });
const put = (kv: KV, r: NodeRecord) => kv.put(r.id, JSON.stringify(r));

async function watching(kv: KV): Promise<{ m: Membership; changes: () => number }> {
  const m = new Membership(kv, POLL_MS, log);
  let changes = 0;
  m.onChange(() => changes++);
  await m.start();
  open.push(m);
  return { m, changes: () => changes };
}

const ids = (rs: NodeRecord[]) => rs.map((r) => r.id);

describe("Membership", () => {
  it("starts with the nodes already in the bucket, live ones sorted by id, draining ones left out", async () => {
    const kv = await bucket();
    await put(kv, record("n3"));
    await put(kv, record("n1"));
    await put(kv, record("n2", { draining: true }));
    const { m } = await watching(kv);
    expect(ids(m.live())).toEqual(["n1", "n3"]);
    expect(ids(m.all())).toEqual(["n1", "n2", "n3"]);
  });

  it("a join, a drain and a leave change the live set and call the listeners", async () => {
    const kv = await bucket();
    await put(kv, record("n1"));
    const { m, changes } = await watching(kv);
    const c0 = changes();
    const t0 = m.changedAt;
    await put(kv, record("n2"));
    await eventually(() => ids(m.live()).join() === "n1,n2", 10_000, "n2 to join");
    expect(changes()).toBe(c0 + 1);
    expect(m.changedAt).toBeGreaterThan(t0);
    expect(m.stableFor()).toBeGreaterThanOrEqual(0);
    await put(kv, record("n2", { draining: true }));
    await eventually(() => ids(m.live()).join() === "n1", 10_000, "n2 to drain");
    expect(ids(m.all())).toEqual(["n1", "n2"]);
    expect(changes()).toBe(c0 + 2);
    await kv.delete("n2");
    await eventually(() => ids(m.all()).join() === "n1", 10_000, "n2 to leave");
    expect(changes()).toBe(c0 + 2); // a draining node leaving does not change the live set
  });

  it("a heartbeat that changes nothing of the live set is not a change; a new capacity is", async () => {
    const kv = await bucket();
    await put(kv, record("n1"));
    const { m, changes } = await watching(kv);
    const c0 = changes();
    await put(kv, record("n1", { actors: 7 }));
    await eventually(() => m.all()[0]?.actors === 7, 10_000, "the new record");
    expect(changes()).toBe(c0);
    await put(kv, record("n1", { capacity: 5 }));
    await eventually(() => changes() === c0 + 1, 10_000, "the capacity change");
    expect(m.live()[0]?.capacity).toBe(5);
  });

  it("a node whose heartbeat stopped ages out of the bucket and is dropped by the listing", async () => {
    const kv = await bucket();
    await put(kv, record("n1"));
    const { m, changes } = await watching(kv);
    const c0 = changes();
    expect(ids(m.live())).toEqual(["n1"]);
    await eventually(() => m.live().length === 0, 20_000, "n1 to age out");
    expect(changes()).toBe(c0 + 1);
  });

  it("ignores unreadable records, listed or watched", async () => {
    const kv = await bucket();
    await kv.put("junk", "not json");
    await put(kv, record("n1"));
    const { m } = await watching(kv);
    expect(ids(m.all())).toEqual(["n1"]);
    await kv.put("junk2", "{");
    await put(kv, record("n2"));
    await eventually(() => ids(m.all()).join() === "n1,n2", 10_000, "n2 to join");
  });

  it("sees nothing after stop()", async () => {
    const kv = await bucket();
    const { m } = await watching(kv);
    m.stop();
    await put(kv, record("n9"));
    // the watch is gone and the listing timer cleared: wait for a later change to be visible elsewhere
    const { m: other } = await watching(kv);
    expect(ids(other.all())).toEqual(["n9"]);
    await new Promise((r) => setTimeout(r, 3 * POLL_MS));
    expect(m.all()).toEqual([]);
  });
});

describe("startHeartbeat", () => {
  it("puts the record at once and every TTL/3, beats on demand, and deletes it on stop", async () => {
    const kv = await bucket();
    const { m } = await watching(kv);
    let draining = false;
    const hb = startHeartbeat(kv, NODE_TTL, () => record("h1", { draining }), log);
    await eventually(() => ids(m.live()).join() === "h1", 10_000, "h1 to join");
    // outlives the bucket TTL: the periodic beats keep it
    const first = (await kv.get("h1"))!.revision;
    await eventually(async () => ((await kv.get("h1"))?.revision ?? 0) > first, 10_000, "a periodic beat");
    draining = true;
    await hb.beat();
    await eventually(() => m.live().length === 0 && ids(m.all()).join() === "h1", 10_000, "h1 draining");
    await hb.stop();
    await eventually(() => m.all().length === 0, 10_000, "h1 to leave");
    expect(await kv.get("h1")).toMatchObject({ operation: "DEL" });
  });
});
