// Every actor stops when told (issue 10, item 5): pause, delete, POST /v1/drain and SIGTERM
// end a stuck actor — a sink whose target hangs, and whose connect then fails while it
// drains — and release its lease, instead of retrying under the lease for ever. Observed
// through the node's public surfaces: /v1/actors, the leases bucket, the process's exit,
// and (in process) the node's log lines through a pino destination. The transformer case
// (the issue's own) mostly passed before too: its STOP usually lands while it backs off,
// which released the lease already; the sink cases pin the STOP during the drain.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { DRAIN_TIMED_OUT } from "../actors/leased-actor.machine.js";
import type { ActorInfo } from "../src/admin/index.js";
import { DiscardPolicy, jetstreamManager } from "@nats-io/jetstream";
import { Names } from "../src/nats/index.js";
import type { RunningNode } from "../src/node/index.js";
import {
  assertBuilt,
  cleanupCluster,
  eventually,
  leasesAndPosition,
  natsConnect,
  NATS_URL,
  NodeProc,
  startNatsServer,
  startStalledTarget,
  startTestNode,
  uniqueCluster,
  type StalledTarget,
} from "./support/index.js";

const ID = "stuck";
const SINK = `sink.${ID}.down`;
/** a stream whose sink connects to a target that never answers */
const stuckStream = (port: number) => ({
  id: ID,
  source: { type: "generator", rate: 5, keys: 2 },
  sinks: [{ name: "down", type: "postgres", url: `postgres://postgres@127.0.0.1:${port}/nowhere` }],
});
/** long enough that the drain timeout cannot be what ends the actor in the tests that reset the target */
const LONG_DRAIN = "10m";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(): Promise<{ cluster: string; target: StalledTarget }> {
  const cluster = uniqueCluster("stop");
  const target = await startStalledTarget();
  cleanups.push(() => cleanupCluster(cluster), () => target.close());
  return { cluster, target };
}

const actorsAt = async (adminUrl: string): Promise<ActorInfo[]> => ((await (await fetch(`${adminUrl}/v1/actors`)).json()) as { actors: ActorInfo[] }).actors;
const sinkState = async (adminUrl: string): Promise<string | undefined> => (await actorsAt(adminUrl)).find((a) => a.id === SINK)?.state;
const leasesOf = async (cluster: string): Promise<string[]> => (await leasesAndPosition(cluster, ID)).leases.filter((k) => k.includes(`.${ID}`));

/** Waits until the sink holds its lease and hangs connecting to the target. */
async function stuck(adminUrl: string, target: StalledTarget): Promise<void> {
  await eventually(async () => target.open() > 0 && (await sinkState(adminUrl)) === "running.active.running", 60_000, "the sink hanging on its target");
}

/** Waits until the sink was told to stop (draining), then makes its connect fail. */
async function failWhileDraining(adminUrl: string, target: StalledTarget): Promise<void> {
  await eventually(async () => (await sinkState(adminUrl)) === "running.active.draining", 30_000, "the sink to be draining");
  target.reset();
}

/** An in-process node whose JSON log lines the test reads. */
async function inProcessNode(cluster: string, target: StalledTarget) {
  const lines: Array<{ level: number; msg: string; actor?: string; err?: { type?: string; message?: string; stack?: string } }> = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const node: RunningNode = await startTestNode(cluster, [stuckStream(target.port)], { leases: { ttl: "4s", nodeTtl: "3s", drainTimeout: LONG_DRAIN } }, log);
  cleanups.push(() => node.shutdown("test end"));
  return { node, lines };
}

describe("an actor stuck retrying stops when told", () => {
  it.each([
    ["pause", "POST", "/pause"],
    ["delete", "DELETE", ""],
  ] as const)("%s: the sink whose connect fails while it drains stops, its lease is released and its failure logged with the error", async (_what, method, suffix) => {
    const { cluster, target } = await setup();
    const { node, lines } = await inProcessNode(cluster, target);
    await stuck(node.adminUrl, target);
    expect(await leasesOf(cluster)).toContain(SINK);
    const r = await fetch(`${node.adminUrl}/v1/streams/${ID}${suffix}`, { method });
    expect(r.status).toBe(200);
    await failWhileDraining(node.adminUrl, target);
    // before issue 10 the failure sent the sink back to backoff and a new connect, lease held, for ever
    await eventually(async () => (await actorsAt(node.adminUrl)).length === 0 && (await leasesOf(cluster)).length === 0, 60_000, "every actor of the stream stopped and its lease released");
    const failed = lines.find((l) => l.actor === SINK && l.level >= 40 && l.err?.stack !== undefined);
    expect(failed?.level).toBe(40);
    expect(failed?.err).toMatchObject({ type: expect.any(String), message: expect.any(String) });
  });

  /** A node process running the stuck stream. */
  async function nodeProcess(cluster: string, target: StalledTarget, drainTimeout: string): Promise<NodeProc> {
    assertBuilt();
    const n = await NodeProc.create({
      config: {
        cluster,
        nats: { servers: [NATS_URL] },
        node: { id: `n-${cluster}` },
        admin: { insecure: true },
        leases: { ttl: "4s", nodeTtl: "3s", drainTimeout },
        checkpoint: { interval: "200ms" },
        streams: [stuckStream(target.port)],
      },
    });
    n.start();
    cleanups.push(() => n.kill9());
    return n;
  }

  it("SIGTERM: the node drains the stuck sink, exits 0 and leaves no lease", async () => {
    const { cluster, target } = await setup();
    const n = await nodeProcess(cluster, target, LONG_DRAIN);
    await stuck(n.adminUrl, target);
    const exit = n.term(5 * 60_000);
    await failWhileDraining(n.adminUrl, target);
    expect(await exit).toBe(0);
    expect(await leasesOf(cluster)).toEqual([]);
  });

  it("POST /v1/drain: the node drains the stuck sink, exits 0 and leaves no lease", async () => {
    const { cluster, target } = await setup();
    const n = await nodeProcess(cluster, target, LONG_DRAIN);
    await stuck(n.adminUrl, target);
    expect((await fetch(`${n.adminUrl}/v1/drain`, { method: "POST" })).status).toBe(202);
    await failWhileDraining(n.adminUrl, target);
    await eventually(() => !n.running, 5 * 60_000, "the node to exit");
    expect(n.exits).toEqual([0]);
    expect(await leasesOf(cluster)).toEqual([]);
  });

  it("SIGTERM: a sink that never answers its drain is cut at leases.drainTimeout; the node exits 0 and leaves no lease", async () => {
    const { cluster, target } = await setup();
    const n = await nodeProcess(cluster, target, "2s");
    await stuck(n.adminUrl, target);
    expect(await n.term(5 * 60_000)).toBe(0);
    expect(await leasesOf(cluster)).toEqual([]);
    // the drain timeout is an error the node reports at warn, with the error
    const cut = n.output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; actor?: string; lastError?: string; err?: { message?: string } })
      .find((l) => l.actor === SINK && l.level === 40 && l.err?.message !== undefined && l.err.message === l.lastError);
    expect(cut?.err?.message).toBe(DRAIN_TIMED_OUT);
  });

  it("SIGTERM with its NATS server frozen: the node exits 0 rather than waiting for NATS (a kill would come at 30 s)", async () => {
    assertBuilt();
    const nats = await startNatsServer();
    cleanups.push(async () => (nats.thaw(), nats.stop()));
    const n = await NodeProc.create({
      config: {
        cluster: uniqueCluster("frozen"),
        nats: { servers: [nats.url()] },
        node: { id: "n-frozen" },
        admin: { insecure: true },
        leases: { ttl: "6s", nodeTtl: "6s", drainTimeout: "3s" },
        streams: [{ id: "g", source: { type: "generator", rate: 5, keys: 2 } }],
      },
    });
    n.start();
    cleanups.push(() => n.kill9());
    await n.waitReady({ actors: 1 });
    nats.freeze();
    // every NATS request now times out (5 s), and the connection's drain would wait for the
    // server until the connection is found stale: about 35 s in all before the bound
    expect(await n.term(30_000)).toBe(0);
  });

  it("pause: a transformer whose output stream refuses every message (it fails and retries under its lease) stops and releases its lease", async () => {
    const cluster = uniqueCluster("stopxf");
    cleanups.push(() => cleanupCluster(cluster));
    // the transformer's output stream, made first, full after one message and refusing the rest
    const names = new Names(cluster);
    const nc = await natsConnect();
    cleanups.push(() => nc.close());
    await (await jetstreamManager(nc)).streams.add({ name: names.xfStream("x", "t"), subjects: [names.xfFilter("x", "t")], max_msgs: 1, discard: DiscardPolicy.New });
    const node: RunningNode = await startTestNode(cluster, [{ id: "x", source: { type: "generator", rate: 20, keys: 2 }, transformers: [{ name: "t", jsonata: "$" }] }], { leases: { ttl: "4s", nodeTtl: "3s", drainTimeout: LONG_DRAIN } });
    cleanups.push(() => node.shutdown("test end"));
    const xf = async () => (await actorsAt(node.adminUrl)).find((a) => a.id === "transformer.x.t");
    await eventually(async () => {
      const a = await xf();
      return a !== undefined && a.epoch !== null && a.lastError !== null;
    }, 60_000, "the transformer refused by its output stream");
    expect((await fetch(`${node.adminUrl}/v1/streams/x/pause`, { method: "POST" })).status).toBe(200);
    await eventually(async () => (await actorsAt(node.adminUrl)).length === 0 && (await leasesAndPosition(cluster, "x")).leases.length === 0, 60_000, "the paused stream's actors stopped and their leases released");
  });
});
