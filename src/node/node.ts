/**
 * The composition root of a node: the one place that connects to NATS, listens on the
 * admin port and creates the logger and the metrics registry. Everything else receives
 * its dependencies from here. It is also where a stream's `${…}` references are resolved
 * (docs/adr/0013): from this node's environment, right before an actor's connector is built,
 * so connectors get real values and nothing else ever holds them; every value resolved is
 * remembered and scrubbed from the node's logs and admin responses.
 */
import { hostname } from "node:os";
import { pino, type Logger } from "pino";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import { buildAdmin, type FailingActor, type HealthReport } from "../admin/index.js";
import { SecretScrubber, TributaryError, loggerOptions, type ResolveContext } from "../base/index.js";
import { Membership, clusterView, place, startHeartbeat, type NodeRecord } from "../cluster/index.js";
import { resolveSink, resolveSource, resolveTransformer, type Config, type StreamSpec } from "../config/index.js";
import { sinkWork, sourceWork, type KernelDeps, type KernelSettings, type Work } from "../core/index.js";
import { Metrics } from "../metrics/index.js";
import { LeaseStore, PositionStore, actorId, connectNats, consumerName, ensureDlq, openControlPlane, type ActorRef, type ControlPlane, type Lease } from "../nats/index.js";
import { createSource, openSink } from "../registry/index.js";
import { TransformPool, TransformerSource } from "../transform/index.js";
import { ActorHost } from "./actor-host.js";
import { Supervisor, type PlacementPolicy } from "./supervisor.js";
import { createOwnStream, getStream, listStreams, putOwnStream, putStream, seedStreams, watchStreams } from "./streams-store.js";
import { requestSnapshot } from "./resnapshot.js";
import { deleteStream, dropRetired } from "./retired.js";
import { RetentionMonitor } from "./retention-monitor.js";

/** Longest a node's exit waits for NATS to answer the connection's drain. */
const NATS_CLOSE_MS = 5000;

/** The version the node reports in its heartbeat and the CLI in --version. */
export const VERSION = "0.1.0";

/** A started node and its parts (tests and the CLI use them). */
export interface RunningNode {
  id: string;
  nc: NatsConnection;
  cp: ControlPlane;
  admin: FastifyInstance;
  /** the admin URL this node advertises (admin.advertise, or derived from where it listens) */
  adminUrl: string;
  supervisor: Supervisor;
  membership: Membership;
  /** the node's transform threads (ADR 0006) */
  transformPool: TransformPool;
  /** the retained-WAL metric's measurements */
  retention: RetentionMonitor;
  log: Logger;
  /** graceful: stop intake everywhere, hand off every actor, close; resolves when done */
  shutdown(reason: string): Promise<void>;
}

/** How startNode runs. */
export interface StartNodeOptions {
  /**
   * create the config file's streams that the cluster has never had (never updates, deletes,
   * pauses or resumes one: docs/adr/0012) @default true
   */
  seedStreams?: boolean;
  logger?: Logger;
  /** where `${…}` references of streams are resolved from @default process.env */
  env?: NodeJS.ProcessEnv;
  /** how often the retained-WAL metric is measured @default 30000 */
  retentionIntervalMs?: number;
}

/** Where the admin API says it is: admin.advertise, else the listen address with the hostname for a wildcard bind. */
export function advertisedAdmin(admin: { host: string; advertise?: string }, listening: string): string {
  if (admin.advertise) return admin.advertise.replace(/\/+$/, "");
  const port = /:(\d+)$/.exec(listening)?.[1] ?? "";
  if (admin.host === "0.0.0.0" || admin.host === "::" || admin.host === "") return `http://${hostname()}:${port}`;
  return listening;
}

/** The secrets of the node's own settings, for the scrubber. */
function configSecrets(cfg: Config): Array<string | undefined> {
  const urlPasswords = cfg.nats.servers.map((s) => /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:([^/@]*)@/i.exec(s)?.[1]).map((p) => (p ? decodeURIComponent(p) : undefined));
  return [cfg.nats.pass, cfg.nats.token, cfg.admin.token, cfg.admin.readToken, ...urlPasswords];
}

/** Starts a node: connect, ensure buckets, seed the file's new streams, run actors, serve admin. */
export async function startNode(cfg: Config, opts: StartNodeOptions = {}): Promise<RunningNode> {
  const nodeId = cfg.node.id!;
  const scrubber = new SecretScrubber();
  for (const s of configSecrets(cfg)) scrubber.add(s);
  const log = opts.logger ?? pino(loggerOptions({ level: cfg.log.level, base: { node: nodeId }, scrub: (line) => scrubber.scrub(line) }));
  const resolveCtx: ResolveContext = { env: opts.env ?? process.env, onResolved: (v) => scrubber.add(v) };
  const metrics = new Metrics(undefined, { defaults: true });
  const nc = await connectNats(cfg.nats, `tributary:${nodeId}`);
  const cp = await openControlPlane(nc, { cluster: cfg.cluster, replicas: cfg.nats.replicas, leaseTtl: cfg.leases.ttl, nodeTtl: cfg.leases.nodeTtl });
  await ensureDlq(nc, cp.names, cfg.nats.replicas);
  if ((opts.seedStreams ?? true) && cfg.streams.length) {
    const r = await seedStreams(cp.streams, cfg.streams, log, cfg.cluster);
    log.info(r, "config file streams: created those the cluster never had; kept the others as the cluster has them");
  }
  const leases = new LeaseStore(cp.leases, nodeId);
  const positions = new PositionStore(cp.positions, nodeId);
  const transformPool = new TransformPool(cfg.transform.threads, cfg.transform.minBatch);
  if (transformPool.scriptMissing) log.warn("transform.threads is set but the compiled transform thread (dist/src/transform/transform-thread.js) is missing: transformers evaluate on the main thread; run npm run build");

  // NATS connection state for /readyz: "gone" from a disconnect until the next reconnect
  let natsUp = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        natsUp = false;
        log.warn("NATS connection lost; reconnecting");
      } else if (s.type === "reconnect") {
        natsUp = true;
        log.info("NATS connection back");
      }
    }
  })().catch(() => undefined);

  const settings: KernelSettings = { cluster: cfg.cluster, replicas: cfg.nats.replicas, checkpoint: cfg.checkpoint };

  /** The one place that turns a spec into work: through the registry (sources, sinks) and the transform layer, with references resolved here. */
  const workFor = (ref: ActorRef, spec: StreamSpec, lease: Lease, alog: Logger): Work => {
    const deps: KernelDeps = {
      nc,
      names: cp.names,
      positions,
      settings,
      stream: { id: spec.id, maxAge: spec.maxAge },
      epoch: lease.epoch,
      log: alog,
      metrics,
      probe: (event, position, at) => {
        if (nc.isClosed()) return;
        nc.publish(cp.names.probeSubject(spec.id), JSON.stringify({ node: nodeId, actor: actorId(ref), epoch: lease.epoch, event, position, t: at ?? Date.now() }));
      },
    };
    if (ref.kind === "stream") return sourceWork({ deps, role: { kind: "stream" }, connector: createSource(resolveSource(spec.id, spec.source, resolveCtx), deps) });
    if (ref.kind === "transformer") {
      const t = spec.transformers.find((x) => x.name === ref.name);
      if (!t) throw new TributaryError("CONFIG_INVALID", `stream ${spec.id} has no transformer ${ref.name}`);
      const resolved = resolveTransformer(spec.id, t, resolveCtx);
      return sourceWork({ deps, role: { kind: "transformer", name: t.name }, connector: new TransformerSource(resolved, { ...deps, pool: transformPool, consumerName: consumerName(ref, lease.epoch) }) });
    }
    const s = spec.sinks.find((x) => x.name === ref.name);
    if (!s) throw new TributaryError("CONFIG_INVALID", `stream ${spec.id} has no sink ${ref.name}`);
    const resolved = resolveSink(spec.id, s, resolveCtx);
    return sinkWork({ deps, sink: resolved, open: () => openSink(resolved, { sinkId: `${spec.id}.${s.name}`, cluster: cfg.cluster, log: alog, metrics }) });
  };
  const makeHost = (ref: ActorRef, spec: StreamSpec) => {
    const alog = log.child({ stream: spec.id, actor: actorId(ref) });
    return new ActorHost({
      ref,
      spec,
      leases,
      leaseTtlMs: cfg.leases.ttl,
      drainTimeoutMs: cfg.leases.drainTimeout,
      log: alog,
      onError: () => metrics.errors.inc({ stream: spec.id, actor: actorId(ref) }),
      work: (lease) => workFor(ref, spec, lease, alog),
    });
  };
  let draining = false;
  let adminUrl = "";
  const startedAt = new Date().toISOString();
  let supervisor: Supervisor | undefined;
  /** This node's actors that do not run as they should (heartbeat, /v1/health). */
  const failingHere = (): NonNullable<NodeRecord["failing"]> =>
    (supervisor?.actors() ?? [])
      .filter((a) => a.state === "running.backoff" || a.state === "running.failed" || (a.epoch !== null && !a.ready && a.lastError !== null))
      .map((a) => ({ actor: a.id, state: a.state, error: a.lastError === null ? null : scrubber.scrub(a.lastError), since: a.lastErrorAt }));
  const heartbeat = startHeartbeat(
    cp.nodes,
    cfg.leases.nodeTtl,
    () => ({ id: nodeId, admin: adminUrl, version: VERSION, capacity: cfg.node.capacity, draining, started: startedAt, pid: process.pid, actors: supervisor?.actors().length ?? 0, failing: failingHere() }),
    log,
  );
  await heartbeat.beat();
  const membership = new Membership(cp.nodes, Math.max(250, Math.floor(cfg.leases.nodeTtl / 3)), log);
  await membership.start();
  const policy: PlacementPolicy = {
    self: nodeId,
    place: (ids) => place(ids, membership.live().map((n) => ({ id: n.id, capacity: n.capacity })), cfg.placement.epsilon),
    settled: () => membership.stableFor() >= cfg.placement.settle,
    movesPerStep: cfg.placement.movesPerStep,
  };
  const sup = new Supervisor(makeHost, log, policy);
  supervisor = sup;
  membership.onChange(() => void sup.rebalance());
  const tick = setInterval(() => void sup.rebalance(), 1000);
  tick.unref();
  // a holder that releases deletes its lease key: contenders here may take it at once
  const leaseWatch = await cp.leases.watch({ include: "updates" as never });
  (async () => {
    for await (const e of leaseWatch) if (e.operation !== "PUT") sup.poke(e.key);
  })().catch(() => undefined);
  await sup.setAll(await listStreams(cp.streams, log));
  const stopWatch = await watchStreams(cp.streams, log, (id, spec) => void sup.setStream(id, spec), (all) => void sup.setAll(all));

  const retention = new RetentionMonitor({
    cp,
    self: nodeId,
    live: () => membership.live().map((n) => n.id),
    streams: () => sup.streams(),
    resolve: (id, source) => resolveSource(id, source, resolveCtx),
    gauge: metrics.retainedBytes,
    log,
    ...(opts.retentionIntervalMs ? { intervalMs: opts.retentionIntervalMs } : {}),
  });
  retention.start();

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      log.info({ reason }, "draining: handing off every actor");
      draining = true;
      await heartbeat.beat();
      // let peers see the drain and start contending, so each release is taken at once
      await new Promise((r) => setTimeout(r, Math.min(2000, Math.floor(cfg.leases.nodeTtl / 3) + 300)));
      stopWatch();
      retention.stop();
      clearInterval(tick);
      await sup.stopAll();
      leaseWatch.stop();
      membership.stop();
      await heartbeat.stop();
      await transformPool.close();
      await admin.close().catch(() => undefined);
      // a NATS server that does not answer must not hold the exit: the drain's flush waits for
      // its PONG until the connection is found stale (tens of seconds); close after NATS_CLOSE_MS
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([nc.drain().then(() => false, () => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), NATS_CLOSE_MS)))]);
      clearTimeout(timer);
      if (gaveUp) {
        log.warn({ waitedMs: NATS_CLOSE_MS }, "NATS did not answer the connection's drain; closing it");
        await nc.close().catch(() => undefined);
      }
      log.info("drained; bye");
    })();
    return shuttingDown;
  };

  /** The cluster's failing actors: every node's heartbeat, plus actors of running streams that nobody holds. */
  const health = async (): Promise<HealthReport> => {
    const view = await clusterView(cp, () => sup.desired(), sup.actors(), nodeId);
    const failing: FailingActor[] = [];
    for (const n of view.nodes) {
      const list = n.id === nodeId ? failingHere() : (n.failing ?? []);
      for (const f of list) failing.push({ actor: f.actor, stream: f.actor.split(".")[1] ?? "", node: n.id, state: f.state, error: f.error, since: f.since });
    }
    for (const a of view.actors) if (a.owner === null && a.desired !== null) failing.push({ actor: a.id, stream: a.stream, node: null, state: "unowned", error: "no node holds its lease", since: null });
    failing.sort((a, b) => (a.actor < b.actor ? -1 : 1));
    return { healthy: failing.length === 0, failing };
  };

  const admin = buildAdmin(
    {
      id: nodeId,
      registry: metrics.registry,
      readiness: () => {
        // "this node can serve": NATS connected, in the registry, not draining. A failing
        // stream is not a reason (it is in /v1/health and /v1/streams/:id).
        const reasons: string[] = [];
        if (nc.isClosed()) reasons.push("NATS connection closed");
        else if (!natsUp) reasons.push("NATS connection lost (reconnecting)");
        if (!heartbeat.joined()) reasons.push("not in the cluster's node registry (heartbeat not written within leases.nodeTtl)");
        if (draining) reasons.push("draining");
        return { ready: reasons.length === 0, reasons };
      },
      actors: () => sup.actors(),
      listStreams: () => listStreams(cp.streams, log),
      putStream: (spec) => putOwnStream(cp.streams, spec, cfg.cluster),
      createStream: (spec) => createOwnStream(cp.streams, spec, cfg.cluster),
      deleteStream: async (id, o) => {
        const report = await deleteStream(cp, id, "api");
        if (report.warning && !o.drop) log.warn({ stream: id, kept: report.kept }, report.warning);
        if (!o.drop) return report;
        const d = await dropRetired(cp, id, { nc, resolve: (source) => resolveSource(id, source, resolveCtx), log, leaseWaitMs: cfg.leases.ttl * 2 + 30_000 });
        return { ...report, kept: { resources: {}, jetstream: [], positions: [] }, warning: null, dropped: d.dropped };
      },
      dropResources: (id) => dropRetired(cp, id, { nc, resolve: (source) => resolveSource(id, source, resolveCtx), log, leaseWaitMs: cfg.leases.ttl * 2 + 30_000 }),
      setPaused: async (id, paused) => {
        const s = await getStream(cp.streams, id);
        if (!s) throw new TributaryError("NOT_FOUND", `no stream "${id}"`);
        const next = { ...s, paused };
        await putStream(cp.streams, next);
        return next;
      },
      drain: () => void shutdown("POST /v1/drain").then(() => process.exit(0)),
      cluster: () => clusterView(cp, () => sup.desired(), sup.actors(), nodeId),
      snapshot: (id) => requestSnapshot(cp, id, { nodeId, log }),
      health,
    },
    { token: cfg.admin.token, readToken: cfg.admin.readToken, insecure: cfg.admin.insecure, ...(cfg.admin.allowedHosts ? { allowedHosts: cfg.admin.allowedHosts } : {}), scrub: (t) => scrubber.scrub(t) },
  );
  const listening = await admin.listen({ host: cfg.admin.host, port: cfg.admin.port });
  adminUrl = advertisedAdmin(cfg.admin, listening);
  if (cfg.admin.token === undefined) {
    const wildcard = cfg.admin.host === "0.0.0.0" || cfg.admin.host === "::";
    if (cfg.admin.insecure) log.warn({ admin: listening }, `admin.insecure is set and admin.token is not: anyone who reaches ${listening}${wildcard ? " (every interface)" : ""} may create, change, delete, pause, re-snapshot and drain streams`);
    else log.info({ admin: listening }, "admin API without admin.token: read-only endpoints only (POST/PUT/DELETE answer 403); set admin.token to enable them");
  }
  await heartbeat.beat();
  log.info({ admin: adminUrl, listening, cluster: cfg.cluster, streams: sup.streams().length }, "node started");
  return { id: nodeId, nc, cp, admin, adminUrl, supervisor: sup, membership, transformPool, retention, log, shutdown };
}
