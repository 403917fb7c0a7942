/**
 * The `snapshot` action (POST /v1/streams/:id/snapshot): makes a stream's reader start
 * over with a fresh initial snapshot, cluster-wide, through the desired state and the
 * fenced position — no node is addressed directly, so it works whichever node owns the
 * reader, and the reader's own code decides what "no position" means (take a snapshot):
 *
 * 1. pause the stream: every node stops the stream's actors; the reader's owner drains,
 *    writes its final checkpoint and releases its lease;
 * 2. wait until the reader's lease is gone (released, or aged out after a crash);
 * 3. clear the reader's position by compare-and-set, keeping its epoch, so the next owner
 *    fences it as usual (and a stale owner's checkpoint would fail);
 * 4. resume the stream (unless it was paused before): the next owner finds no position
 *    and snapshots (PostgreSQL: a new slot; MySQL: a new consistent binlog position).
 *
 * Sinks keep their positions: snapshot rows are upserts, so they apply over what the
 * targets hold. Rows deleted at the source while the position was unusable stay in the
 * targets (empty them first if that matters).
 */
import type { Logger } from "pino";
import { TributaryError } from "../base/index.js";
import type { StreamSpec } from "../config/index.js";
import { actorId, getJson, positionKey, toJson, type ControlPlane, type PositionValue } from "../nats/index.js";
import { listStreams, putStream } from "./streams-store.js";

/** How requestSnapshot runs. */
export interface SnapshotRequestOptions {
  /** this node's id, recorded as the writer of the cleared position */
  nodeId: string;
  /** how long to wait for the reader to hand off @default 90000 */
  timeoutMs?: number;
  log: Logger;
}

/** What the admin API answers. */
export interface SnapshotRequestResult {
  id: string;
  snapshot: "requested";
  /** the reader position that was cleared (null when there was none) */
  previousPosition: unknown;
  /** the stream stays paused (it was paused before the request) */
  paused: boolean;
}

/**
 * Runs the `snapshot` action for stream `id` (see the module comment). Resolves once the
 * position is cleared and the stream resumed; the snapshot itself then runs on the owner.
 * @throws TributaryError NOT_FOUND for an unknown stream; SOURCE_UNAVAILABLE when the
 * reader does not hand off in time (the stream is resumed, its position untouched).
 */
export async function requestSnapshot(cp: ControlPlane, id: string, o: SnapshotRequestOptions): Promise<SnapshotRequestResult> {
  const spec = (await listStreams(cp.streams, o.log)).find((s) => s.id === id);
  if (!spec) throw new TributaryError("NOT_FOUND", `no stream "${id}"`);
  const wasPaused = spec.paused;
  if (!wasPaused) await putStream(cp.streams, { ...spec, paused: true } as StreamSpec);
  try {
    const leaseKey = actorId({ kind: "stream", stream: id });
    const deadline = Date.now() + (o.timeoutMs ?? 90_000);
    while (await getJson(cp.leases, leaseKey)) {
      if (Date.now() > deadline) {
        throw new TributaryError("SOURCE_UNAVAILABLE", `stream ${id}: its reader did not hand off its lease within ${o.timeoutMs ?? 90_000} ms; the snapshot was not requested (try again)`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const key = positionKey({ kind: "stream", stream: id });
    const cur = await getJson<PositionValue>(cp.positions, key);
    if (cur) {
      const cleared: PositionValue & { reason: string } = { position: null, epoch: cur.value.epoch, node: o.nodeId, updated: new Date().toISOString(), reason: "snapshot requested" };
      try {
        await cp.positions.update(key, toJson(cleared), cur.revision);
      } catch (err) {
        throw new TributaryError("CONFLICT", `stream ${id}: its position changed while the snapshot was being requested; try again (${(err as Error).message})`, { cause: err });
      }
    }
    o.log.info({ stream: id, previous: cur?.value.position ?? null }, "reader position cleared: the next owner takes a new snapshot");
    return { id, snapshot: "requested", previousPosition: cur?.value.position ?? null, paused: wasPaused };
  } finally {
    if (!wasPaused) {
      const now = (await listStreams(cp.streams, o.log)).find((s) => s.id === id);
      if (now) await putStream(cp.streams, { ...now, paused: false } as StreamSpec);
    }
  }
}
