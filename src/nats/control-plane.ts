/**
 * The control plane: the four JetStream KV buckets (streams, nodes, leases, positions),
 * created idempotently with the TTLs and history the ownership protocol needs.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { Names } from "./names.js";
import { TributaryError } from "../base/index.js";
import { errorText, isStreamNameInUse } from "./nats-errors.js";

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

/** Creates (or opens) every bucket of a cluster. */
export async function openControlPlane(nc: NatsConnection, o: ControlPlaneOptions): Promise<ControlPlane> {
  const names = new Names(o.cluster);
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
