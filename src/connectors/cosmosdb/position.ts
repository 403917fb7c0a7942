/**
 * Positions of the Cosmos DB source (ADR 0008). The checkpoint holds ONE continuation per
 * container: the SDK's own token, which carries one entry per feed range (so a split
 * container resumes on its child ranges) and the container's `_rid` (so a recreated
 * container is noticed). Event positions (`pos`, the Nats-Msg-Id and the tail check) are a
 * run generation and a counter: the change feed cannot be replayed identically (the
 * latest-version feed reduces history, partitions have their own LSNs), so after a restart
 * every change read again is published again with a later position instead of being
 * matched against what the stream already holds. Sinks apply such replays idempotently.
 */

/** The source's checkpoint as stored in the positions bucket. */
export interface CosmosPosition {
  /** format version */
  v: 1;
  /** the run generation of the last events published before this checkpoint */
  gen: number;
  /** per container name: the SDK's continuation token (JSON text, opaque to us) */
  containers: Record<string, string>;
}

const GEN_WIDTH = 10;
const SEQ_WIDTH = 12;

/** Event position `gen:seq`, fixed width so string order is publication order. */
export function eventPos(gen: number, seq: number): string {
  return `${String(gen).padStart(GEN_WIDTH, "0")}:${String(seq).padStart(SEQ_WIDTH, "0")}`;
}

/** The generation of an event position written by {@link eventPos}; 0 for anything else. */
export function genOf(pos: string | null): number {
  const m = pos === null ? null : /^(\d{10}):\d{12}$/.exec(pos);
  return m ? Number(m[1]) : 0;
}

/**
 * The generation of a new run: after both the checkpoint's and the stream's tail, so every
 * event this run publishes sorts after everything the stream holds (nothing is skipped as
 * "already published": a replay is published again, see the module comment).
 */
export function nextGeneration(checkpoint: CosmosPosition | null, tail: string | null): number {
  return Math.max(checkpoint?.gen ?? 0, genOf(tail)) + 1;
}

/** Reads a stored checkpoint; null for none. Throws on a shape this version does not know. */
export function decodePosition(raw: unknown): CosmosPosition | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<CosmosPosition>;
  if (p.v !== 1 || typeof p.gen !== "number" || typeof p.containers !== "object" || p.containers === null) {
    throw new Error(`not a Cosmos DB source position: ${JSON.stringify(raw).slice(0, 200)}`);
  }
  for (const [k, t] of Object.entries(p.containers)) {
    if (typeof t !== "string") throw new Error(`the continuation of container "${k}" is not a string`);
  }
  return { v: 1, gen: p.gen, containers: { ...p.containers } };
}

/** What the SDK's continuation token of a whole container tells: its container and its feed ranges. */
export interface TokenInfo {
  /** the container's `_rid` when the token was made */
  rid: string;
  /** one entry per feed range: [minInclusive, maxExclusive) and the range's etag */
  ranges: Array<{ min: string; max: string; etag: string }>;
}

/** Parses the SDK's continuation token of a container (`{"rid", "Continuation": [...]}`); null when it has another shape. */
export function tokenInfo(token: string): TokenInfo | null {
  let t: unknown;
  try {
    t = JSON.parse(token);
  } catch {
    return null;
  }
  const o = t as { rid?: unknown; Continuation?: unknown };
  if (typeof o?.rid !== "string" || !Array.isArray(o.Continuation)) return null;
  const ranges: TokenInfo["ranges"] = [];
  for (const c of o.Continuation as Array<Record<string, unknown>>) {
    if (typeof c?.minInclusive !== "string" || typeof c.maxExclusive !== "string") return null;
    ranges.push({ min: c.minInclusive, max: c.maxExclusive, etag: String(c.continuationToken ?? "") });
  }
  return { rid: o.rid, ranges };
}
