/**
 * The control plane: the four JetStream KV buckets (streams, nodes, leases, positions),
 * created idempotently with the TTLs and history the ownership protocol needs.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { jetstreamManager } from "@nats-io/jetstream";
import { Names } from "./names.js";
import { TributaryError } from "../base/index.js";
import { errorText, isStreamNameInUse, isStreamNotFound } from "./nats-errors.js";

/** Open handles to the cluster's buckets. */
export interface ControlPlane {
  names: Names;
  streams: KV;
  nodes: KV;
  leases: KV;
  positions: KV;
}

/** Settings of the cluster's buckets. */
export interface ControlPlaneOptions {
  cluster: string;
  replicas: number;
  /** lease bucket TTL (ms) */
  leaseTtl: number;
  /** node heartbeat bucket TTL (ms) */
  nodeTtl: number;
}

async function ensureBucket(kvm: Kvm, name: string, opts: { history: number; ttl?: number; replicas: number }): Promise<KV> {
  try {
    return await kvm.create(name, { history: opts.history, ttl: opts.ttl ?? 0, replicas: opts.replicas });
  } catch (err) {
    // a peer created it between our look-up and our create (its settings are ours too)
    if (isStreamNameInUse(err)) return kvm.open(name);
    throw new TributaryError("NATS_UNAVAILABLE", `cannot create KV bucket ${name}: ${errorText(err)}`, { cause: err });
  }
}

/** The cluster names that have a streams bucket on this NATS account (for a "did you mean" hint). */
export async function listClusters(nc: NatsConnection): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const out: string[] = [];
  for await (const name of jsm.streams.names()) {
    const m = /^KV_(.+)_streams$/.exec(name);
    if (m) out.push(m[1]!);
  }
  return out.sort();
}

/**
 * Opens the buckets of a cluster that exists, creating nothing (read-only commands: a
 * mistyped `--cluster` must not leave four empty buckets behind).
 * @throws TributaryError NOT_FOUND naming the clusters that do exist
 */
async function openExisting(nc: NatsConnection, names: Names): Promise<ControlPlane> {
  const jsm = await jetstreamManager(nc);
  const kvm = new Kvm(nc);
  const buckets = [names.streamsBucket, names.nodesBucket, names.leasesBucket, names.positionsBucket];
  for (const b of buckets) {
    try {
      await jsm.streams.info(`KV_${b}`);
    } catch (err) {
      if (!isStreamNotFound(err)) throw new TributaryError("NATS_UNAVAILABLE", `cannot look up KV bucket ${b}: ${errorText(err)}`, { cause: err });
      const known = await listClusters(nc).catch(() => []);
      throw new TributaryError(
        "NOT_FOUND",
        `cluster "${names.cluster}" does not exist on this NATS server (no bucket ${b}); nothing was created. Clusters found: ${known.length ? known.join(", ") : "none"} (--cluster, or cluster: in the config)`,
      );
    }
  }
  const [streams, nodes, leases, positions] = await Promise.all(buckets.map((b) => kvm.open(b)));
  return { names, streams: streams!, nodes: nodes!, leases: leases!, positions: positions! };
}

/**
 * Creates (or opens) every bucket of a cluster; with `create: false` only opens the buckets
 * of an existing cluster (NOT_FOUND otherwise), for read-only commands.
 */
export async function openControlPlane(nc: NatsConnection, o: ControlPlaneOptions, opts: { create?: boolean } = {}): Promise<ControlPlane> {
  const names = new Names(o.cluster);
  if (opts.create === false) return openExisting(nc, names);
  const kvm = new Kvm(nc);
  const [streams, nodes, leases, positions] = await Promise.all([
    ensureBucket(kvm, names.streamsBucket, { history: 5, replicas: o.replicas }),
    ensureBucket(kvm, names.nodesBucket, { history: 1, ttl: o.nodeTtl, replicas: o.replicas }),
    ensureBucket(kvm, names.leasesBucket, { history: 1, ttl: o.leaseTtl, replicas: o.replicas }),
    ensureBucket(kvm, names.positionsBucket, { history: 5, replicas: o.replicas }),
  ]);
  return { names, streams, nodes, leases, positions };
}

/** Reads a KV entry's JSON value, or undefined when absent/deleted. */
export async function getJson<T>(kv: KV, key: string): Promise<{ value: T; revision: number } | undefined> {
  const e = await kv.get(key);
  if (!e || e.operation !== "PUT") return undefined;
  return { value: e.json<T>(), revision: e.revision };
}

/** Encodes a value as KV JSON payload. */
export function toJson(v: unknown): string {
  return JSON.stringify(v);
}
