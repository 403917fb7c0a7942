// One runaway JSONata expression must not take a node (or the cluster) down (issue 10, item
// 3; ADR 0011). Two real node processes share a stream whose transformer recurses forever
// and two healthy streams: each event of the runaway one is stopped at its time limit and
// dead-lettered with the reason, three in a row fail that transformer's actor with a
// non-retryable error naming it, and meanwhile both nodes answer /healthz and the healthy
// streams keep flowing. A transformer whose every other event runs away only dead-letters
// those: its events over the limit are never consecutive, so it keeps running.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertBuilt, cleanupCluster, eventually, NATS_URL, natsConnect, NodeProc, streamState, uniqueCluster } from "./support/index.js";
import { openControlPlane } from "../src/nats/index.js";
import { applyStreams } from "../src/node/index.js";
import { parseStreamSpec } from "../src/config/index.js";

const cluster = uniqueCluster("lim");
const nodes: NodeProc[] = [];
let nc: NatsConnection;

interface ActorInfo {
  id: string;
  state: string;
  status: string;
  lastError: string | null;
}

beforeAll(async () => {
  assertBuilt();
  nc = await natsConnect();
  for (const id of ["a", "b"]) {
    const n = await NodeProc.create({
      config: {
        cluster,
        nats: { servers: [NATS_URL] },
        node: { id: `${cluster}-${id}` },
        leases: { ttl: "4s", nodeTtl: "3s" },
        placement: { settle: "1s" },
        checkpoint: { interval: "300ms" },
        log: { level: "info" },
      },
      args: ["--no-apply"],
    });
    n.start();
    nodes.push(n);
  }
  const cp = await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 4000, nodeTtl: 3000 });
  await applyStreams(cp.streams, [
    parseStreamSpec({
      id: "runaway",
      source: { type: "generator", rate: 20, keys: 5 },
      transformers: [{ name: "spin", jsonata: "($f := function($x){ $f($x) }; $f(1))", timeLimit: "200ms", failAfter: 3 }],
    }),
    parseStreamSpec({
      id: "every2nd",
      source: { type: "generator", rate: 4, keys: 5 },
      transformers: [{ name: "half", jsonata: "after.seq % 2 = 0 ? ($f := function($x){ $f($x) }; $f(1)) : $", timeLimit: "20ms", failAfter: 2 }],
    }),
    ...["ok1", "ok2"].map((id) => parseStreamSpec({ id, source: { type: "generator", rate: 20, keys: 5 }, transformers: [{ name: "copy", jsonata: "$" }] })),
  ]);
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.term(30_000)));
  await nc?.close();
  await cleanupCluster(cluster);
});

async function healthz(n: NodeProc): Promise<number> {
  return (await fetch(`${n.adminUrl}/healthz`, { signal: AbortSignal.timeout(10_000) })).status;
}

async function actors(): Promise<ActorInfo[]> {
  const all: ActorInfo[] = [];
  for (const n of nodes) all.push(...(await n.json<{ actors: ActorInfo[] }>("/v1/actors")).actors);
  return all;
}

describe("bounded transformer evaluation", () => {
  it("dead-letters each runaway evaluation, fails only that transformer, and both nodes keep serving /healthz and the other streams", async () => {
    // the runaway transformer fails for good (non-retryable) with an error naming it
    const failed = await eventually(async () => (await actors()).find((a) => a.id === "transformer.runaway.spin" && a.lastError !== null) ?? null, 90_000, "the runaway transformer to fail");
    expect(failed.lastError).toMatch(/^transformer spin of stream runaway: 3 consecutive events went over its evaluation limits \(timeLimit 200 ms, depthLimit 500\); fix the expression or raise the limits\. Last: transformer spin: evaluation exceeded the time limit of 200 ms/);
    expect(failed.state).toMatch(/failed/);

    // its events are in the DLQ with the reason
    const jsm = await jetstreamManager(nc);
    const dlq = await jsm.streams.getMessage(`${cluster}_DLQ`, { last_by_subj: `${cluster}.dlq.runaway.transformer-spin` });
    expect(dlq?.header.get("Tributary-Reason")).toBe("limit");
    expect(dlq?.header.get("Tributary-Error")).toMatch(/^transformer spin: evaluation exceeded the time limit of 200 ms \(D1012/);

    // both nodes answer, and every other actor (the runaway stream's reader included) is fine
    for (const n of nodes) expect(await healthz(n)).toBe(200);
    const others = (await actors()).filter((a) => a.id !== "transformer.runaway.spin");
    expect(others.map((a) => a.id).sort()).toEqual(["stream.every2nd", "stream.ok1", "stream.ok2", "stream.runaway", "transformer.every2nd.half", "transformer.ok1.copy", "transformer.ok2.copy"]);
    expect(others.filter((a) => a.lastError !== null)).toEqual([]);

    // the healthy streams keep flowing through their transformers after the failure
    const before = await Promise.all(["ok1", "ok2"].map(async (s) => (await streamState(nc, `${cluster}_XF_${s}_copy`))?.messages ?? 0));
    await eventually(
      async () => {
        const now = await Promise.all(["ok1", "ok2"].map(async (s) => (await streamState(nc, `${cluster}_XF_${s}_copy`))?.messages ?? 0));
        return now.every((m, i) => m > before[i]! + 20);
      },
      30_000,
      "more output from the healthy transformers",
    );
    for (const n of nodes) expect(await healthz(n)).toBe(200);
    expect(nodes.every((n) => n.running)).toBe(true);

    // every other event over the limit: dead letters and outputs alternate, the actor runs on
    const half = await eventually(
      async () => {
        const dead = (await jsm.streams.info(`${cluster}_DLQ`, { subjects_filter: `${cluster}.dlq.every2nd.transformer-half` })).state.subjects?.[`${cluster}.dlq.every2nd.transformer-half`] ?? 0;
        const out = (await streamState(nc, `${cluster}_XF_every2nd_half`))?.messages ?? 0;
        return dead >= 6 && out >= 6 ? { dead, out } : null;
      },
      60_000,
      "dead letters and outputs of the every-other-event transformer",
    );
    expect(Math.abs(half.dead - half.out)).toBeLessThanOrEqual(4);
    expect((await actors()).find((a) => a.id === "transformer.every2nd.half")?.lastError).toBeNull();
  });
});
