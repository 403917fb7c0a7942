/**
 * Desired state has one owner (issue 11, item 1; docs/adr/0012): a node start never deletes
 * a stream and never changes `paused` (Helm's `streams: []` and pod restarts included);
 * `tributary apply -f` is the declarative sync with a `--dry-run` diff and deletion only
 * with `--prune`, of its own owner's streams; deleting a stream keeps its replication slot,
 * publication and JetStream streams, says so, measures the WAL the slot retains, and drops
 * them only when asked.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, parseStreamSpec, type StreamSpec } from "../src/config/index.js";
import { openControlPlane, type ControlPlane } from "../src/nats/index.js";
import { defaultSlotName } from "../src/connectors/postgres/index.js";
import { getStream, listRetired, putStream, startNode, type RunningNode } from "../src/node/index.js";
import { NATS_URL, adminQuery, assertBuilt, cleanupCluster, createDb, eventually, freePort, natsConnect, runCli, uniqueCluster, writeConfigFile, type TestDb } from "./support/index.js";

const gen = (id: string, rate = 5): StreamSpec => parseStreamSpec({ id, source: { type: "generator", rate, keys: 3 } });

let nc: NatsConnection;
const clusters: string[] = [];
const nodes: RunningNode[] = [];

beforeAll(async () => {
  assertBuilt();
  nc = await natsConnect();
});
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown("test done").catch(() => undefined);
});
afterAll(async () => {
  for (const c of clusters) await cleanupCluster(c);
  await nc.close();
});

function newCluster(): string {
  const c = uniqueCluster("ds");
  clusters.push(c);
  return c;
}

/** A node of `cluster` (in this process) started with a config file listing `streams`. */
async function node(cluster: string, streams: unknown[], extra: Record<string, unknown> = {}): Promise<RunningNode> {
  const cfg = parseConfig({
    cluster,
    nats: { servers: [NATS_URL] },
    node: { id: `n-${cluster}` },
    admin: { host: "127.0.0.1", port: await freePort(), insecure: true },
    leases: { ttl: "4s", nodeTtl: "3s" },
    checkpoint: { interval: "200ms" },
    streams,
    ...extra,
  });
  const n = await startNode(cfg, { logger: pino({ level: "silent" }), retentionIntervalMs: 300 });
  nodes.push(n);
  return n;
}

const controlPlane = (cluster: string): Promise<ControlPlane> => openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 4000, nodeTtl: 3000 });

async function inject<T = Record<string, unknown>>(n: RunningNode, method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: unknown): Promise<{ status: number; body: T }> {
  const r = await n.admin.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return { status: r.statusCode, body: r.json<T>() };
}

describe("a node start never deletes a stream and never changes paused", () => {
  it("keeps API-created streams and paused flags across restarts, with the same file and with Helm's streams: []", async () => {
    const cluster = newCluster();
    const a = await node(cluster, [gen("fromfile")]);
    expect((await inject(a, "POST", "/v1/streams", { id: "fromapi", source: { type: "generator", rate: 5 } })).status).toBe(201);
    expect((await inject(a, "POST", "/v1/streams/fromfile/pause")).status).toBe(200);
    await a.shutdown("restart");
    nodes.splice(nodes.indexOf(a), 1);

    for (const streams of [[gen("fromfile")], []]) {
      const b = await node(cluster, streams);
      const cp = b.cp;
      expect((await getStream(cp.streams, "fromapi"))?.managedBy).toBe("api");
      expect((await getStream(cp.streams, "fromfile"))?.paused).toBe(true);
      expect(b.supervisor.actors().filter((x) => x.stream === "fromfile")).toEqual([]);
      await b.shutdown("restart");
      nodes.splice(nodes.indexOf(b), 1);
    }
  });

  it("does not change a stream whose spec in the file differs, nor re-create one deleted in the cluster", async () => {
    const cluster = newCluster();
    const a = await node(cluster, [gen("s1", 5), gen("s2", 5)]);
    expect((await getStream(a.cp.streams, "s1"))?.managedBy).toBe("node");
    expect((await inject(a, "DELETE", "/v1/streams/s2")).status).toBe(200);
    await a.shutdown("restart");
    nodes.splice(nodes.indexOf(a), 1);
    const b = await node(cluster, [gen("s1", 99), gen("s2", 5)]);
    expect((await getStream(b.cp.streams, "s1"))?.source).toMatchObject({ rate: 5 });
    expect(await getStream(b.cp.streams, "s2")).toBeUndefined();
  });
});

const cli = (args: string[]) => runCli(args, 30_000, { env: { NATS_URL } });

async function bucketsOf(cluster: string): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const out: string[] = [];
  for await (const n of jsm.streams.names()) if (n.startsWith(`KV_${cluster}_`)) out.push(n);
  return out;
}

describe("tributary apply -f: the declarative sync", () => {
  const file = (cluster: string, streams: unknown[]) => writeConfigFile({ cluster, nats: { servers: [NATS_URL] }, streams });

  it("--dry-run prints the diff and changes nothing (on a new cluster: not even its buckets)", async () => {
    const cluster = newCluster();
    const r = await cli(["apply", "-f", file(cluster, [{ id: "a", source: { type: "generator" } }]), "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("+ a (create)");
    expect(r.stdout).toContain("dry run: nothing changed");
    expect(await bucketsOf(cluster)).toEqual([]);
  });

  it("creates and updates, keeps paused unless the file states it, deletes only with --prune and only its own owner's streams", async () => {
    const cluster = newCluster();
    const v1 = file(cluster, [
      { id: "a", source: { type: "generator", rate: 5 } },
      { id: "b", source: { type: "generator", rate: 5 } },
    ]);
    const created = await cli(["apply", "-f", v1]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/\+ a \(create\)\n\+ b \(create\)/);
    const cp = await controlPlane(cluster);
    expect((await getStream(cp.streams, "a"))?.managedBy).toBe("apply");
    await putStream(cp.streams, { ...gen("viaapi"), managedBy: "api" });
    await putStream(cp.streams, { ...(await getStream(cp.streams, "a"))!, paused: true });

    // b changes, b2 is new; a is paused in the cluster and the file does not say: stays paused
    const v2 = file(cluster, [
      { id: "a", source: { type: "generator", rate: 5 } },
      { id: "b", source: { type: "generator", rate: 7 } },
    ]);
    const dry = await cli(["apply", "-f", v2, "--dry-run"]);
    expect(dry.stdout).toContain("= a (unchanged)");
    expect(dry.stdout).toContain("~ b (update: source.rate)");
    expect(dry.stdout).toContain("  viaapi (kept: not in the file");
    expect((await getStream(cp.streams, "b"))?.source).toMatchObject({ rate: 5 });
    expect((await cli(["apply", "-f", v2])).code).toBe(0);
    expect((await getStream(cp.streams, "b"))?.source).toMatchObject({ rate: 7 });
    expect((await getStream(cp.streams, "a"))?.paused).toBe(true);

    // the file states paused: false: now it resumes
    expect((await cli(["apply", "-f", file(cluster, [{ id: "a", source: { type: "generator", rate: 5 }, paused: false }, { id: "b", source: { type: "generator", rate: 7 } }])])).code).toBe(0);
    expect((await getStream(cp.streams, "a"))?.paused).toBe(false);

    // b leaves the file: kept without --prune; with --prune deleted (its JetStream stream kept, said so); the API's stream stays
    const v3 = file(cluster, [{ id: "a", source: { type: "generator", rate: 5 } }]);
    const noPrune = await cli(["apply", "-f", v3]);
    expect(noPrune.stdout).toMatch(/ {2}b \(kept: not in the file/);
    expect(await getStream(cp.streams, "b")).toBeDefined();
    const pruneDry = await cli(["apply", "-f", v3, "--prune", "--dry-run"]);
    expect(pruneDry.stdout).toContain("- b (delete; its source resources and JetStream streams are kept)");
    expect(pruneDry.stdout).toMatch(/ {2}viaapi \(kept: managed by api, not by apply\)/);
    expect(await getStream(cp.streams, "b")).toBeDefined();
    const pruned = await cli(["apply", "-f", v3, "--prune"]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(await getStream(cp.streams, "b")).toBeUndefined();
    expect(await getStream(cp.streams, "viaapi")).toBeDefined();
    expect(pruned.stderr).toMatch(/warning: stream b is deleted but its JetStream stream .*_CDC_b are kept/);
    expect((await listRetired(cp)).map((r) => [r.id, r.by])).toEqual([["b", "apply:apply"]]);

    // another owner's prune never touches apply's streams
    const other = await cli(["apply", "-f", file(cluster, []), "--prune", "--owner", "helm/other"]);
    expect(other.code).toBe(0);
    expect(await getStream(cp.streams, "a")).toBeDefined();
  });
});

describe("deleting a PostgreSQL stream: slot, publication and JetStream streams are kept, measured and dropped when asked", () => {
  let src: TestDb;
  const slots: string[] = [];
  beforeAll(async () => {
    src = await createDb("dsrc");
    await src.query("CREATE TABLE t (id int PRIMARY KEY, v text)");
  });
  afterAll(async () => {
    for (const sn of slots) {
      await adminQuery(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [sn]).catch(() => undefined);
    }
    await src.drop();
  });

  const pgStream = (id: string) => ({ id, source: { type: "postgres", url: src.url, tables: ["public.t"], snapshot: "never" } });
  // the default slot and publication name, derived from the cluster and stream id (docs/adr/0010)
  const slot = async (sn: string) => (await adminQuery(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [sn])).rows[0] as { active: boolean } | undefined;
  const publication = async (sn: string) => (await src.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [sn])).rowCount;
  const metric = async (n: RunningNode, id: string, sn: string) => {
    const text = (await n.admin.inject({ method: "GET", url: "/metrics" })).body;
    return new RegExp(`^tributary_source_retained_bytes\\{stream="${id}",resource="slot ${sn}",state="(\\w+)"\\} (\\d+)$`, "m").exec(text);
  };

  it("DELETE keeps and reports them, the slot's retained WAL is a metric, DELETE …/resources drops them", async () => {
    const cluster = newCluster();
    const id = `del${Date.now().toString(36)}`;
    const sn = defaultSlotName(cluster, id);
    slots.push(sn);
    const n = await node(cluster, []);
    expect((await inject(n, "POST", "/v1/streams", pgStream(id))).status).toBe(201);
    await eventually(async () => (await slot(sn))?.active === true, 30_000, "the reader's slot");
    await eventually(async () => (await metric(n, id, sn))?.[1] === "running", 30_000, "the metric of the running stream");
    // the reader's lag on its source, with the NATS CLI alone: nats kv get <cluster>_positions <id>.source
    const rec = await eventually(async () => (await n.cp.positions.get(`${id}.source`))?.json<{ position: { state: string; resources: Array<{ resource: string; retainedBytes: number; behindBytes: number; active: boolean }> }; updated: string }>(), 30_000, "the source record");
    expect(rec.position.state).toBe("running");
    expect(rec.position.resources).toEqual([{ resource: `slot ${sn}`, retainedBytes: expect.any(Number), behindBytes: expect.any(Number), active: true }]);

    const del = await inject<{ deleted: boolean; kept: { resources: Record<string, string>; jetstream: string[] }; warning: string }>(n, "DELETE", `/v1/streams/${id}`);
    expect(del.status).toBe(200);
    expect(del.body.kept.resources).toEqual({ slot: sn, publication: sn });
    expect(del.body.kept.jetstream).toEqual([`${cluster}_CDC_${id}`]);
    expect(del.body.warning).toMatch(new RegExp(`slot ${sn}.*kept.*keeps WAL.*DELETE /v1/streams/${id}/resources`));
    expect((await inject(n, "GET", `/v1/streams/${id}`)).status).toBe(404);
    await eventually(async () => (await slot(sn))?.active === false, 30_000, "the reader stopped");
    expect(await publication(sn)).toBe(1);
    await src.query("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g");
    const m = await eventually(async () => {
      const r = await metric(n, id, sn);
      return r?.[1] === "deleted" && Number(r[2]) > 0 ? r : null;
    }, 30_000, "the retained-WAL metric of the deleted stream");
    expect(Number(m[2])).toBeGreaterThan(0);

    const dropped = await inject<{ dropped: string[] }>(n, "DELETE", `/v1/streams/${id}/resources`);
    expect(dropped.status).toBe(200);
    expect(dropped.body.dropped).toEqual(expect.arrayContaining([`slot ${sn}`, `publication ${sn}`, `JetStream stream ${cluster}_CDC_${id}`, `position ${id}.source`]));
    expect(await slot(sn)).toBeUndefined();
    expect(await publication(sn)).toBe(0);
    expect(await listRetired(n.cp)).toEqual([]);
    await eventually(async () => (await metric(n, id, sn)) === null, 30_000, "the metric gone");
    expect((await inject(n, "DELETE", `/v1/streams/${id}/resources`)).status).toBe(404);
  });

  it("DELETE ?drop=true drops them at once", async () => {
    const cluster = newCluster();
    const id = `drp${Date.now().toString(36)}`;
    const sn = defaultSlotName(cluster, id);
    slots.push(sn);
    const n = await node(cluster, []);
    expect((await inject(n, "POST", "/v1/streams", pgStream(id))).status).toBe(201);
    await eventually(async () => (await slot(sn))?.active === true, 30_000, "the reader's slot");
    const del = await inject<{ dropped: string[]; warning: string | null }>(n, "DELETE", `/v1/streams/${id}?drop=true`);
    expect(del.status).toBe(200);
    expect(del.body.warning).toBeNull();
    expect(del.body.dropped).toEqual(expect.arrayContaining([`slot ${sn}`, `publication ${sn}`]));
    expect(await slot(sn)).toBeUndefined();
  });
});
