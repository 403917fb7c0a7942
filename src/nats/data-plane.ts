/**
 * The data plane's JetStream streams: CDC_<stream> (reader output), XF_<stream>_<t>
 * (one per transformer), DLQ (poison messages). Created idempotently; a changed max age
 * is applied by updating the stream.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy, type StreamConfig } from "@nats-io/jetstream";
import { TributaryError } from "../base/index.js";
import { errorText, isStreamNameInUse, isStreamNotFound } from "./nats-errors.js";

const NS_PER_MS = 1_000_000;

/** A data-plane JetStream stream: its name, subjects, retention and replicas. */
export interface JetStreamSpec {
  name: string;
  subjects: string[];
  maxAgeMs: number;
  replicas: number;
}

/** Creates or updates a limits-retention, file-backed stream with de-duplication. */
export async function ensureJetStream(nc: NatsConnection, s: JetStreamSpec): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const cfg: Partial<StreamConfig> & { name: string } = {
    name: s.name,
    subjects: s.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: s.maxAgeMs * NS_PER_MS,
    duplicate_window: Math.min(120_000, s.maxAgeMs || 120_000) * NS_PER_MS,
    num_replicas: s.replicas,
    allow_direct: true,
  };
  try {
    const info = await jsm.streams.info(s.name).catch((err: unknown) => (isStreamNotFound(err) ? null : Promise.reject(err)));
    if (!info) {
      await jsm.streams.add(cfg);
      return;
    }
    const cur = info.config;
    if (cur.max_age !== cfg.max_age || cur.subjects.join() !== s.subjects.join()) {
      await jsm.streams.update(s.name, { ...cur, max_age: cfg.max_age!, subjects: s.subjects, duplicate_window: cfg.duplicate_window! });
    }
  } catch (err) {
    if (isStreamNameInUse(err)) return; // a peer created it concurrently
    throw new TributaryError("NATS_UNAVAILABLE", `cannot create JetStream stream ${s.name} (${s.subjects.join(", ")}): ${errorText(err)}`, { cause: err });
  }
}

/** Deletes a JetStream stream if it exists (tests, stream removal with purge). */
export async function deleteJetStream(nc: NatsConnection, name: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(name).catch((err: unknown) => (isStreamNotFound(err) ? undefined : Promise.reject(err)));
}

/**
 * Deletes every JetStream stream of a non-default cluster: its data-plane streams
 * (`<cluster>_…`) and its KV buckets (`KV_<cluster>_…`). For tests and benchmarks that run
 * throw-away clusters; the default cluster's data-plane streams carry no prefix and stay.
 */
export async function deleteClusterStreams(nc: NatsConnection, cluster: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for await (const s of jsm.streams.list()) {
    const n = s.config.name;
    if (n.startsWith(`${cluster}_`) || n.startsWith(`KV_${cluster}_`)) {
      await jsm.streams.delete(n).catch((err: unknown) => (isStreamNotFound(err) ? undefined : Promise.reject(err)));
    }
  }
}
