/**
 * What deleting a stream does to what it leaves behind (docs/adr/0012). Deleting a spec
 * stops its actors and KEEPS its source resources (a PostgreSQL slot and publication), its
 * JetStream streams (CDC_/XF_) and its positions: a slot dropped by accident cannot be
 * brought back, and a re-created stream with the same id resumes where it was. What is kept
 * is recorded as `retired.<id>` in the streams bucket (the source spec with its references,
 * no secret), reported to the caller with a warning, and measured by the retention monitor
 * (`tributary_source_retained_bytes`). `dropRetired` removes all of it when asked.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { TributaryError } from "../base/index.js";
import { parseStreamSpec, type SourceSpec, type StreamSpec } from "../config/index.js";
import { actorId, deleteJetStream, getJson, positionKey, type ControlPlane, type PositionValue } from "../nats/index.js";
import { dropSourceResources, sourceResources } from "../registry/index.js";
import { actorsOf } from "../cluster/index.js";

/** The record a deleted stream leaves in the streams bucket, `retired.<id>`. */
export interface RetiredRecord {
  id: string;
  /** the source spec as stored (references unresolved) */
  source: SourceSpec;
  /** the source's resources by kind, e.g. `{ slot, publication }` (empty when its type keeps none) */
  resources: Record<string, string>;
  /** JetStream streams of the stream (CDC_, XF_) */
  jetstream: string[];
  /** its keys in the positions bucket */
  positions: string[];
  /** its actors (their lease keys) */
  actors: string[];
  deletedAt: string;
  /** who deleted it: `api`, `apply:<owner>` */
  by: string;
}

/** What a deletion answers: what is kept and what to do about it. */
export interface DeletionReport {
  id: string;
  deleted: true;
  kept: Pick<RetiredRecord, "resources" | "jetstream" | "positions">;
  warning: string | null;
}

const retiredKey = (id: string): string => `retired.${id}`;

/** The warning for what a deletion kept (null when nothing holds resources on the source). */
export function keptWarning(r: Pick<RetiredRecord, "id" | "resources" | "jetstream">): string | null {
  const res = Object.entries(r.resources).map(([k, v]) => `${k} ${v}`);
  if (!res.length && !r.jetstream.length) return null;
  const what = [...res, ...r.jetstream.map((j) => `JetStream stream ${j}`)].join(", ");
  return `stream ${r.id} is deleted but its ${what} are kept${res.length ? " (a replication slot keeps WAL on the source until it is dropped)" : ""}; drop them with DELETE /v1/streams/${r.id}/resources or \`tributary drop ${r.id}\``;
}

/** Records what a stream about to be deleted leaves behind (`retired.<id>`) and returns it. */
export async function retireStream(cp: ControlPlane, spec: StreamSpec, by: string): Promise<RetiredRecord> {
  const reader = await getJson<PositionValue>(cp.positions, spec.id);
  const rec: RetiredRecord = {
    id: spec.id,
    source: spec.source,
    resources: sourceResources(spec.source, { cluster: cp.names.cluster, stream: spec.id, position: reader?.value.position ?? null }),
    jetstream: [cp.names.cdcStream(spec.id), ...spec.transformers.map((t) => cp.names.xfStream(spec.id, t.name))],
    // with the retention monitor's record of what the source keeps
    positions: [...actorsOf(spec).map(positionKey), `${spec.id}.source`],
    actors: actorsOf(spec).map(actorId),
    deletedAt: new Date().toISOString(),
    by,
  };
  await cp.streams.put(retiredKey(spec.id), JSON.stringify(rec));
  return rec;
}

/**
 * Deletes a stream's spec, keeping (and recording) what it leaves behind; with `drop` the
 * caller then calls `dropRetired`. @throws NOT_FOUND
 */
export async function deleteStream(cp: ControlPlane, id: string, by: string): Promise<DeletionReport> {
  const e = await cp.streams.get(id);
  if (!e || e.operation !== "PUT") throw new TributaryError("NOT_FOUND", `no stream "${id}"`);
  const spec = parseStreamSpec(e.json(), `stream ${id} in the streams bucket`);
  const rec = await retireStream(cp, spec, by);
  await cp.streams.delete(id, { previousSeq: e.revision });
  return { id, deleted: true, kept: { resources: rec.resources, jetstream: rec.jetstream, positions: rec.positions }, warning: keptWarning(rec) };
}

/** Every retired record (what deleted streams keep). */
export async function listRetired(cp: ControlPlane): Promise<RetiredRecord[]> {
  const out: RetiredRecord[] = [];
  for await (const key of await cp.streams.keys("retired.>")) {
    const r = await getJson<RetiredRecord>(cp.streams, key);
    if (r) out.push(r.value);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** How dropRetired runs. */
export interface DropOptions {
  nc: NatsConnection;
  /** resolves the source spec's references from this node's environment */
  resolve: (source: SourceSpec) => SourceSpec;
  log: Logger;
  /** how long to wait for the stream's actors to release their leases @default 60000 */
  leaseWaitMs?: number;
}

/**
 * Drops what a deleted stream kept: waits until none of its actors holds a lease, drops the
 * source's resources (slot, publication), deletes its JetStream streams and positions, then
 * the record. @throws NOT_FOUND (nothing retired), CONFLICT (the id is in use again, or its
 * actors do not let go)
 */
export async function dropRetired(cp: ControlPlane, id: string, o: DropOptions): Promise<{ id: string; dropped: string[] }> {
  const r = await getJson<RetiredRecord>(cp.streams, retiredKey(id));
  if (!r) throw new TributaryError("NOT_FOUND", `stream ${id} has no kept resources (it was never deleted, or they were dropped already)`);
  const rec = r.value;
  const again = await cp.streams.get(id);
  if (again && again.operation === "PUT") throw new TributaryError("CONFLICT", `stream ${id} exists again and uses these resources; delete it first`);
  const deadline = Date.now() + (o.leaseWaitMs ?? 60_000);
  for (;;) {
    const held: string[] = [];
    for (const k of rec.actors) if (await getJson(cp.leases, k)) held.push(k);
    if (!held.length) break;
    if (Date.now() > deadline) throw new TributaryError("CONFLICT", `stream ${id}: actors ${held.join(", ")} still hold their leases; try again once they stopped`);
    await new Promise((res) => setTimeout(res, 200));
  }
  const position = (await getJson<PositionValue>(cp.positions, id))?.value.position ?? null;
  const dropped = await dropSourceResources(o.resolve(rec.source), { cluster: cp.names.cluster, stream: id, position });
  for (const j of rec.jetstream) {
    await deleteJetStream(o.nc, j);
    dropped.push(`JetStream stream ${j}`);
  }
  for (const k of rec.positions) {
    if (await getJson(cp.positions, k)) {
      await cp.positions.purge(k);
      dropped.push(`position ${k}`);
    }
  }
  await cp.streams.purge(retiredKey(id));
  o.log.info({ stream: id, dropped }, "dropped the resources a deleted stream kept");
  return { id, dropped };
}
