/**
 * The admin API of a running node (issue 11, items 3 and 6): `/readyz` means "this node can
 * serve" — 200 while one of its streams fails, 503 while its NATS server is gone, 200 again
 * once it is back — and the failing stream is reported by `/v1/health`, `/v1/streams/:id` and
 * the node's heartbeat; a node without admin.token refuses changes and says so at start-up,
 * `admin.insecure` warns; the node advertises a reachable admin URL (admin.advertise, or the
 * machine's hostname when bound to 0.0.0.0), which `tributary status` shows.
 */
import { hostname } from "node:os";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeRecord } from "../src/cluster/index.js";
import { parseConfig } from "../src/config/index.js";
import { startNode, type RunningNode } from "../src/node/index.js";
import { NATS_URL, cleanupCluster, eventually, freePort, runCli, startNatsServer, uniqueCluster, type NatsServerProc } from "./support/index.js";

let node: RunningNode | undefined;
let server: NatsServerProc | undefined;
const clusters: string[] = [];

afterEach(async () => {
  await node?.shutdown("test done").catch(() => undefined);
  node = undefined;
  await server?.stop();
  server = undefined;
  for (const c of clusters.splice(0)) await cleanupCluster(c).catch(() => undefined);
});

/** A logger whose lines the test can read. */
function capture(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: "info" }, dest), lines: () => out.flatMap((l) => l.split("\n").filter(Boolean)).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function start(doc: Record<string, unknown>, logger = pino({ level: "silent" })): Promise<RunningNode> {
  const cluster = (doc.cluster as string | undefined) ?? uniqueCluster("adm");
  if (!doc.cluster) clusters.push(cluster);
  const cfg = parseConfig({ cluster, node: { id: `n-${cluster}` }, leases: { ttl: "4s", nodeTtl: "3s" }, checkpoint: { interval: "200ms" }, ...doc, admin: { port: await freePort(), ...(doc.admin as object) } });
  node = await startNode(cfg, { logger });
  return node;
}

const inject = async (n: RunningNode, url: string, method: "GET" | "POST" = "GET") => {
  const r = await n.admin.inject({ method, url });
  return { status: r.statusCode, body: r.json<Record<string, unknown>>() };
};

describe("/readyz: this node can serve", () => {
  it("stays 200 while a stream fails (that is in /v1/health, /v1/streams/:id and the heartbeat), 503 while NATS is gone, 200 once it is back", async () => {
    server = await startNatsServer();
    const n = await start({
      cluster: "readyz",
      nats: { servers: [server.url()] },
      streams: [
        { id: "fine", source: { type: "generator", rate: 5, keys: 2 } },
        { id: "broken", source: { type: "generator", rate: 5, keys: 2 }, sinks: [{ name: "down", type: "postgres", url: "postgres://postgres@127.0.0.1:1/nowhere" }] },
      ],
    });
    await eventually(async () => n.supervisor.actors().find((a) => a.id === "sink.broken.down")?.lastError, 30_000, "the broken sink's error");
    const ready = await inject(n, "/readyz");
    expect(ready).toEqual({ status: 200, body: { ready: true, reasons: [], node: "n-readyz" } });

    const health = await eventually(async () => {
      const h = await inject(n, "/v1/health");
      return h.status === 503 ? h : null;
    }, 30_000, "/v1/health reporting the failure");
    const failing = health.body.failing as Array<{ actor: string; stream: string; node: string; error: string }>;
    expect(failing.map((f) => [f.actor, f.stream, f.node])).toEqual([["sink.broken.down", "broken", "n-readyz"]]);
    expect(failing[0]!.error).toMatch(/ECONNREFUSED|connect/);
    expect((await inject(n, "/v1/streams/broken")).body.health).toMatchObject({ healthy: false, failing: [{ actor: "sink.broken.down" }] });
    expect((await inject(n, "/v1/streams/fine")).body.health).toEqual({ healthy: true, failing: [] });
    // the same answer with the NATS CLI alone: nats kv get readyz_nodes n-readyz
    const beat = await eventually(async () => {
      const r = (await n.cp.nodes.get("n-readyz"))?.json<NodeRecord>();
      return r?.failing?.length ? r : null;
    }, 15_000, "the failure in the heartbeat");
    expect(beat.failing!.map((f) => f.actor)).toEqual(["sink.broken.down"]);

    await server.kill9();
    const gone = await eventually(async () => {
      const r = await inject(n, "/readyz");
      return r.status === 503 ? r : null;
    }, 30_000, "503 while NATS is gone");
    expect(gone.body.reasons).toContain("NATS connection lost (reconnecting)");
    await server.start();
    await eventually(async () => (await inject(n, "/readyz")).status === 200, 60_000, "200 once NATS is back");
    // (a reader that published into the outage may not finish its drain: issue 10's "every
    // actor stops when told"; this test is about readiness, so its node is closed, not drained)
    await Promise.race([n.shutdown("test done"), new Promise((r) => setTimeout(r, 20_000))]);
    await n.nc.close().catch(() => undefined);
    node = undefined;
  });
});

describe("admin safety at start-up", () => {
  it("without admin.token the node serves reads, refuses changes (403) and says so", async () => {
    const log = capture();
    const n = await start({ nats: { servers: [NATS_URL] } }, log.logger);
    expect((await inject(n, "/v1/streams")).status).toBe(200);
    const post = await n.admin.inject({ method: "POST", url: "/v1/streams", payload: { id: "x", source: { type: "generator" } } });
    expect(post.statusCode).toBe(403);
    expect((await inject(n, "/v1/drain", "POST")).status).toBe(403);
    expect(log.lines().some((l) => /read-only endpoints only/.test(String(l.msg)))).toBe(true);
  });

  it("admin.insecure: true warns at start-up, naming what anyone may do", async () => {
    const log = capture();
    const n = await start({ nats: { servers: [NATS_URL] }, admin: { host: "0.0.0.0", insecure: true } }, log.logger);
    expect((await inject(n, "/v1/streams/nope/pause", "POST")).status).toBe(404);
    const warn = log.lines().find((l) => l.level === 40 && /admin\.insecure/.test(String(l.msg)));
    expect(warn?.msg).toMatch(/anyone who reaches .* \(every interface\) may create, change, delete, pause, re-snapshot and drain/);
  });
});

describe("the advertised admin URL", () => {
  const cli = async (args: string[]) => (await runCli(args)).stdout;

  it("bound to 0.0.0.0, the node advertises its hostname, not 127.0.0.1", async () => {
    const n = await start({ nats: { servers: [NATS_URL] }, admin: { host: "0.0.0.0" } });
    const port = (n.admin.server.address() as { port: number }).port;
    expect(n.adminUrl).toBe(`http://${hostname()}:${port}`);
    expect((await n.cp.nodes.get(n.id))!.json<NodeRecord>().admin).toBe(`http://${hostname()}:${port}`);
  });

  it("admin.advertise is what the heartbeat and tributary status show", async () => {
    const cluster = uniqueCluster("adv");
    clusters.push(cluster);
    const n = await start({ cluster, nats: { servers: [NATS_URL] }, admin: { host: "0.0.0.0", advertise: "https://tributary-1.example.internal:8443" } });
    expect((await n.cp.nodes.get(n.id))!.json<NodeRecord>().admin).toBe("https://tributary-1.example.internal:8443");
    const out = await cli(["status", "-s", NATS_URL, "--cluster", cluster]);
    expect(out).toMatch(new RegExp(`^n-${cluster} +https://tributary-1\\.example\\.internal:8443 `, "m"));
  });
});
