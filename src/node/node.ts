/**
 * The composition root of a node: the one place that connects to NATS, listens on the
 * admin port and creates the logger and the metrics registry. Everything else receives
 * its dependencies from here.
 */
import { pino, type Logger } from "pino";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import { buildAdmin } from "../admin/index.js";
import { TributaryError, loggerOptions } from "../base/index.js";
import { Membership, clusterView, place, startHeartbeat } from "../cluster/index.js";
import type { Config, StreamSpec } from "../config/index.js";
import { sinkWork, sourceWork, type KernelDeps, type KernelSettings, type Work } from "../core/index.js";
import { Metrics } from "../metrics/index.js";
import { LeaseStore, PositionStore, actorId, connectNats, ensureDlq, openControlPlane, type ActorRef, type ControlPlane, type Lease } from "../nats/index.js";
import { createSource, openSink } from "../registry/index.js";
import { TransformPool, TransformerSource } from "../transform/index.js";
import { ActorHost } from "./actor-host.js";
import { Supervisor, type PlacementPolicy } from "./supervisor.js";
import { applyStreams, listStreams, putStream, watchStreams } from "./streams-store.js";
import { requestSnapshot } from "./resnapshot.js";

/** The version the node reports in its heartbeat and the CLI in --version. */
export const VERSION = "0.1.0";

/** A started node and its parts (tests and the CLI use them). */
export interface RunningNode {
  id: string;
  nc: NatsConnection;
  cp: ControlPlane;
  admin: FastifyInstance;
  adminUrl: string;
  supervisor: Supervisor;
  membership: Membership;
  /** the node's transform threads (ADR 0006) */
  transformPool: TransformPool;
  log: Logger;
  /** graceful: stop intake everywhere, hand off every actor, close; resolves when done */
  shutdown(reason: string): Promise<void>;
}

/** How startNode runs. */
export interface StartNodeOptions {
  /** apply the config file's streams to the bucket at start @default true */
  applyConfigStreams?: boolean;
  logger?: Logger;
}

/** Starts a node: connect, ensure buckets, apply the file's streams, run actors, serve admin. */
export async function startNode(cfg: Config, opts: StartNodeOptions = {}): Promise<RunningNode> {
  const nodeId = cfg.node.id!;
  const log = opts.logger ?? pino(loggerOptions({ level: cfg.log.level, base: { node: nodeId } }));
  const metrics = new Metrics(undefined, { defaults: true });
  const nc = await connectNats(cfg.nats, `tributary:${nodeId}`);
  const cp = await openControlPlane(nc, { cluster: cfg.cluster, replicas: cfg.nats.replicas, leaseTtl: cfg.leases.ttl, nodeTtl: cfg.leases.nodeTtl });
  await ensureDlq(nc, cp.names, cfg.nats.replicas);
  if (opts.applyConfigStreams ?? true) {
    const r = await applyStreams(cp.streams, cfg.streams);
    log.info(r, "applied the config file's streams");
  }
  const leases = new LeaseStore(cp.leases, nodeId);
  const positions = new PositionStore(cp.positions, nodeId);
  const transformPool = new TransformPool(cfg.transform.threads, cfg.transform.minBatch);
  if (transformPool.scriptMissing) log.warn("transform.threads is set but the compiled transform thread (dist/src/transform/transform-thread.js) is missing: transformers evaluate on the main thread; run npm run build");

  const settings: KernelSettings = { cluster: cfg.cluster, replicas: cfg.nats.replicas, checkpoint: cfg.checkpoint };

  /** The one place that turns a spec into work: through the registry (sources, sinks) and the transform layer. */
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
    if (ref.kind === "stream") return sourceWork({ deps, role: { kind: "stream" }, connector: createSource(spec.source, deps) });
    if (ref.kind === "transformer") {
      const t = spec.transformers.find((x) => x.name === ref.name);
      if (!t) throw new TributaryError("CONFIG_INVALID", `stream ${spec.id} has no transformer ${ref.name}`);
      return sourceWork({ deps, role: { kind: "transformer", name: t.name }, connector: new TransformerSource(t, { ...deps, pool: transformPool }) });
    }
    const s = spec.sinks.find((x) => x.name === ref.name);
    if (!s) throw new TributaryError("CONFIG_INVALID", `stream ${spec.id} has no sink ${ref.name}`);
    return sinkWork({ deps, sink: s, open: () => openSink(s, { sinkId: `${spec.id}.${s.name}`, cluster: cfg.cluster, log: alog, metrics }) });
  };
  const makeHost = (ref: ActorRef, spec: StreamSpec) => {
    const alog = log.child({ stream: spec.id, actor: actorId(ref) });
    return new ActorHost({
      ref,
      spec,
      leases,
      leaseTtlMs: cfg.leases.ttl,
      log: alog,
      onError: () => metrics.errors.inc({ stream: spec.id, actor: actorId(ref) }),
      work: (lease) => workFor(ref, spec, lease, alog),
    });
  };
  let draining = false;
  let adminUrl = "";
  const startedAt = new Date().toISOString();
  let supervisor: Supervisor | undefined;
  const heartbeat = startHeartbeat(
    cp.nodes,
    cfg.leases.nodeTtl,
    () => ({ id: nodeId, admin: adminUrl, version: VERSION, capacity: cfg.node.capacity, draining, started: startedAt, pid: process.pid, actors: supervisor?.actors().length ?? 0 }),
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

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      log.info({ reason }, "draining: handing off every actor");
      draining = true;
      await heartbeat.beat();
      // let peers see the drain and start contending, so each release is taken at once
      await new Promise((r) => setTimeout(r, Math.min(2000, Math.floor(cfg.leases.nodeTtl / 3) + 300)));
      stopWatch();
      clearInterval(tick);
      await sup.stopAll();
      leaseWatch.stop();
      membership.stop();
      await heartbeat.stop();
      await transformPool.close();
      await admin.close().catch(() => undefined);
      await nc.drain().catch(() => undefined);
      log.info("drained; bye");
    })();
    return shuttingDown;
  };

  const admin = buildAdmin(
    {
      id: nodeId,
      registry: metrics.registry,
      readiness: () => {
        const reasons: string[] = [];
        if (nc.isClosed()) reasons.push("NATS connection closed");
        if (draining) reasons.push("draining");
        for (const a of sup.actors()) if (!a.ready && a.epoch !== null) reasons.push(`${a.id} not started (${a.lastError ?? JSON.stringify(a.state)})`);
        return { ready: reasons.length === 0, reasons };
      },
      actors: () => sup.actors(),
      listStreams: () => listStreams(cp.streams, log),
      putStream: (spec) => putStream(cp.streams, spec),
      deleteStream: async (id) => {
        const e = await cp.streams.get(id);
        if (!e || e.operation !== "PUT") return false;
        await cp.streams.delete(id);
        return true;
      },
      setPaused: async (id, paused) => {
        const s = (await listStreams(cp.streams, log)).find((x) => x.id === id);
        if (!s) throw new TributaryError("NOT_FOUND", `no stream "${id}"`);
        const next = { ...s, paused };
        await putStream(cp.streams, next);
        return next;
      },
      drain: () => void shutdown("POST /v1/drain").then(() => process.exit(0)),
      cluster: () => clusterView(cp, () => sup.desired(), sup.actors(), nodeId),
      snapshot: (id) => requestSnapshot(cp, id, { nodeId, log }),
    },
    { token: cfg.admin.token },
  );
  adminUrl = await admin.listen({ host: cfg.admin.host, port: cfg.admin.port });
  await heartbeat.beat();
  log.info({ admin: adminUrl, cluster: cfg.cluster, streams: sup.streams().length }, "node started");
  return { id: nodeId, nc, cp, admin, adminUrl, supervisor: sup, membership, transformPool, log, shutdown };
}
