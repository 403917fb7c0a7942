/**
 * The names of a PostgreSQL stream's server-side resources (docs/adr/0010): its replication
 * slot and its publication. A default name is derived from the exact (cluster, stream), so
 * two valid stream ids never share one (`Orders`/`orders`, `my-x`/`my_x`), and two clusters
 * reading one database neither. A stream keeps the slot its checkpoint names: a stream
 * created before the derived names (legacy `tributary_<id>`) keeps its position.
 */
import { createHash } from "node:crypto";
import type { ExclusiveResource } from "../../core/index.js";
import type { PostgresSourceSpec } from "./schema.js";

/** Slot and publication names allow [a-z0-9_], 63 characters at most. */
const MAX = 63;

/**
 * The default slot (and publication) name of a stream: `tributary_<readable id>_<hash>`, the
 * hash being 10 hex digits of SHA-256 over the exact cluster and stream id. At most 62
 * characters; the readable part is only for people (it is lower-cased and cut).
 */
export function defaultSlotName(cluster: string, stream: string): string {
  const hash = createHash("sha256").update(`${cluster}\n${stream}`).digest("hex").slice(0, 10);
  const readable = stream.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, MAX - "tributary_".length - 1 - hash.length - 1);
  return `tributary_${readable}_${hash}`;
}

/** The default name before ADR 0010 (not injective: `Orders` and `orders` shared it); only documented, never chosen for a new stream. */
export function legacySlotName(stream: string): string {
  return `tributary_${stream.toLowerCase().replace(/-/g, "_")}`.slice(0, MAX);
}

/** A source spec's naming fields. */
export interface NamingSpec {
  slot?: string | undefined;
  publication?: string | undefined;
}

/**
 * The slot and publication a stream's reader uses: an explicit `slot`, else the slot its
 * checkpoint names (what the reader used so far: a legacy name survives an upgrade), else
 * the derived name. The publication is the explicit one, else named like the slot.
 */
export function readerNames(spec: NamingSpec, cluster: string, stream: string, checkpointSlot?: string | null): { slot: string; publication: string } {
  const slot = spec.slot ?? checkpointSlot ?? defaultSlotName(cluster, stream);
  return { slot, publication: spec.publication ?? slot };
}

/**
 * What must be a stream's own in its cluster (the exclusive-resources check of `validate`,
 * `apply` and the admin API): its slot and publication as a new reader would name them.
 */
export function postgresExclusive(spec: PostgresSourceSpec, ctx: { cluster: string; stream: string }): ExclusiveResource[] {
  const slot = spec.slot ?? defaultSlotName(ctx.cluster, ctx.stream);
  return [
    { field: "slot", what: "replication slot", value: slot },
    { field: "publication", what: "publication", value: spec.publication ?? slot },
  ];
}
