// Leases survive hiccups, not partitions (issue 10, item 7), against a PRIVATE nats-server
// frozen with SIGSTOP: a renew during a freeze is a retryable timeout, and the write it left
// behind is recognised as ours after the thaw; a freeze shorter than the self-fence deadline
// (but longer than a request timeout, so renews really fail) keeps the lease where it was —
// same owner, same epoch, nobody else acquires; a freeze longer than the deadline makes the
// owner fence itself before anyone else can take the lease (its stop time < the other's
// acquire time, as the server recorded it). The "other" is an independent contender with
// its own connection, polling for the lease throughout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { SELF_FENCED } from "../actors/leased-actor.machine.js";
import type { ActorInfo } from "../src/admin/index.js";
import type { RunningNode } from "../src/node/index.js";
import { LeaseStore, openControlPlane, type Lease, type LeaseValue } from "../src/nats/index.js";
import { eventually, natsConnect, sleep, startNatsServer, startTestNode, uniqueCluster, type NatsServerProc } from "./support/index.js";

const ID = "h";
const ACTOR = `stream.${ID}`;
let nats: NatsServerProc;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  nats = await startNatsServer();
  cleanups.push(() => nats.stop());
});
afterAll(async () => {
  nats?.thaw();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

type Line = { level: number; time: number; msg: string; actor?: string; state?: string; lastError?: string | null; err?: { code?: string; message?: string } };

/** A node on the private server running one generator stream, with its log lines readable. */
async function nodeWith(cluster: string, leases: Record<string, string>): Promise<{ node: RunningNode; lines: Line[]; leasesKv: KV; nc: NatsConnection }> {
  const lines: Line[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l) as Line) });
  const node = await startTestNode(cluster, [{ id: ID, source: { type: "generator", rate: 20, keys: 3 } }], { nats: { servers: [nats.url()] }, leases }, log);
  cleanups.push(() => node.shutdown("test end"));
  const nc = await natsConnect(nats.url());
  cleanups.push(() => nc.close());
  const leasesKv = await new Kvm(nc).open(`${cluster}_leases`);
  return { node, lines, leasesKv, nc };
}

const actorOf = async (node: RunningNode): Promise<ActorInfo | undefined> => ((await (await fetch(`${node.adminUrl}/v1/actors`)).json()) as { actors: ActorInfo[] }).actors.find((a) => a.id === ACTOR);

/** Polls for the lease from its own connection until stopped; records every lease it got. */
function contender(kv: KV): { got: Lease[]; stop: () => Promise<void> } {
  const store = new LeaseStore(kv, "contender");
  const got: Lease[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const l = await store.acquire(ACTOR).catch(() => null);
      if (l) got.push(l);
      await sleep(200);
    }
  })();
  return {
    got,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Resolves right after the owner's next renew is written (the revision of the lease key moves). */
async function nextRenew(kv: KV): Promise<number> {
  const first = (await kv.get(ACTOR))!.revision;
  return eventually(async () => {
    const r = (await kv.get(ACTOR))?.revision ?? first;
    return r > first ? r : null;
  }, 60_000, "a renew", 20);
}

describe("leases across a frozen NATS server", () => {
  it("a renew against a frozen server times out as NATS_UNAVAILABLE (retryable); after the thaw the chain goes on from the write that landed late", async () => {
    const cluster = uniqueCluster("renew");
    const nc = await natsConnect(nats.url());
    cleanups.push(() => nc.close());
    const kv = (await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 60_000, nodeTtl: 60_000 })).leases;
    const store = new LeaseStore(kv, "n1");
    const lease = await store.acquire(ACTOR);
    nats.freeze();
    const err = await store.renew(lease).catch((e: unknown) => e);
    nats.thaw();
    expect(err).toMatchObject({ code: "NATS_UNAVAILABLE", retryable: true });
    // the timed-out update is applied once the server runs again: the key moved past our revision
    await eventually(async () => (await kv.get(ACTOR))!.revision > lease.revision, 10_000, "the late write to land");
    const next = await store.renew(lease);
    expect(next.epoch).toBe(lease.epoch);
    expect(next.revision).toBe((await kv.get(ACTOR))!.revision);
    expect((await kv.get(ACTOR))!.json<LeaseValue>()).toMatchObject({ node: "n1", epoch: lease.epoch });
  });

  it("a freeze shorter than the self-fence deadline: renews fail and are retried, the lease stays (same owner, same epoch, nobody else acquires)", async () => {
    // TTL 20 s: renew every 6.7 s, self-fence at 18 s after a confirmation; a request times out after 5 s
    const { node, lines, leasesKv } = await nodeWith(uniqueCluster("hiccup"), { ttl: "20s", nodeTtl: "60s" });
    await eventually(async () => (await actorOf(node))?.ready === true, 60_000, "the reader running");
    const before = (await actorOf(node))!;
    const other = contender(leasesKv);
    await nextRenew(leasesKv);
    // frozen from just after a renew: the next renew (at 6.7 s) times out (at 11.7 s) and is retried
    nats.freeze();
    await sleep(14_000);
    nats.thaw();
    await eventually(async () => {
      const a = await actorOf(node);
      return a?.ready && a.epoch === before.epoch && (await leasesKv.get(ACTOR))!.revision > 0;
    }, 60_000, "the reader running again");
    await nextRenew(leasesKv);
    await other.stop();
    // the retry branch ran: a renew failed as retryable, never as a lost lease
    const renewFailures = lines.filter((l) => l.actor === ACTOR && l.msg === "lease renew failed");
    expect(renewFailures.length).toBeGreaterThan(0);
    expect(renewFailures.map((l) => [l.level, l.err?.code])).toEqual(renewFailures.map(() => [40, "NATS_UNAVAILABLE"]));
    expect(lines.filter((l) => l.actor === ACTOR && (l.state === "lost" || l.lastError === SELF_FENCED))).toEqual([]);
    // no handoff: the same owner at the same epoch, and the contender never got it
    expect(other.got).toEqual([]);
    const v = (await leasesKv.get(ACTOR))!.json<LeaseValue>();
    expect(v).toMatchObject({ node: node.id, epoch: before.epoch });
    expect((await actorOf(node))?.epoch).toBe(before.epoch);
  });

  it("a freeze longer than the deadline: the owner fences itself before anyone else acquires the lease", async () => {
    // TTL 6 s: self-fence at 5.4 s after a confirmation; the key ages out 6 s after its last write
    const { node, lines, leasesKv } = await nodeWith(uniqueCluster("partition"), { ttl: "6s", nodeTtl: "60s" });
    await eventually(async () => (await actorOf(node))?.ready === true, 60_000, "the reader running");
    const epoch = (await actorOf(node))!.epoch!;
    // every write of the lease key, with the server's time of it
    const written = new Map<number, number>();
    const watch = await leasesKv.watch({ key: ACTOR });
    void (async () => {
      for await (const e of watch) written.set(e.revision, e.created.getTime());
    })();
    const other = contender(leasesKv);
    nats.freeze();
    await sleep(10_000);
    nats.thaw();
    // someone (the contender, or the node again) holds the lease at a new epoch
    const next = await eventually(async () => {
      const e = await leasesKv.get(ACTOR);
      if (!e || e.operation !== "PUT") return null;
      const v = e.json<LeaseValue>();
      return v.epoch !== null && v.epoch !== epoch ? v : null;
    }, 60_000, "a new holder of the lease");
    await other.stop();
    const fenced = lines.find((l) => l.actor === ACTOR && l.state === "lost" && l.lastError === SELF_FENCED);
    expect(fenced?.level).toBe(40);
    // the server's time of the new epoch's create: the earliest the other holder could act
    const acquiredAt = await eventually(() => written.get(next.epoch!), 10_000, "the create of the new epoch seen by the watcher");
    watch.stop();
    expect(fenced!.time).toBeLessThan(acquiredAt);
    expect(next.epoch).toBeGreaterThan(epoch);
  });
});
