/**
 * How a connector folder describes itself to the registry: per side (source, sink) its zod
 * schema and its factory, typed so that the factory receives exactly what its schema
 * parses. The registry (src/registry/) lists the definitions and composes the config
 * unions from their schemas; nothing registers itself on import.
 */
import type { z } from "zod";
import type { SinkConnector, SinkDeps } from "./sink.js";
import type { SourceConnector, SourceDeps } from "./source.js";

/** A connector's spec schema: a strict object whose `type` literal selects it in the config unions. */
export type SpecSchema = z.ZodDiscriminatedUnionOption<"type">;

/** Which stream a source's resources belong to, and what its reader last checkpointed. */
export interface RetentionContext {
  cluster: string;
  stream: string;
  /** the reader's position from the positions bucket (it may name the slot), null when none */
  position: unknown;
}

/** One server-side resource of a source and what it keeps on the source. */
export interface RetainedResource {
  /** e.g. "slot tributary_orders" */
  resource: string;
  /** bytes of the source's log it keeps (e.g. WAL a replication slot retains) */
  bytes: number;
  /** someone reads it right now */
  active: boolean;
  /** bytes of source log written since the reader's last confirmed position: the reader's lag (a slot's confirmed_flush_lsn) */
  behindBytes?: number;
}

/**
 * A source's server-side resources that outlive its stream (docs/adr/0012): a replication
 * slot keeps WAL until it is dropped. `describe` names them without connecting; the others
 * connect with a spec whose references the node has resolved.
 */
export interface SourceRetention<S> {
  describe(spec: S, ctx: RetentionContext): Record<string, string>;
  retained(spec: S, ctx: RetentionContext): Promise<RetainedResource[]>;
  /** Drops them (absent ones are fine); returns what was dropped, e.g. ["slot tributary_orders"]. */
  drop(spec: S, ctx: RetentionContext): Promise<string[]>;
}

/**
 * A server-side resource that must be one stream's own in its cluster (docs/adr/0010): a
 * replication slot, a publication, a MySQL replication server id. Two streams naming the
 * same `what` with the same `value` are refused by `validate`, `apply` and the admin API.
 */
export interface ExclusiveResource {
  /** the source field that names it (or would, when the name is derived), e.g. "slot" */
  field: string;
  /** what it is, in words, e.g. "replication slot" */
  what: string;
  value: string;
}

/** Names a spec's exclusive resources without connecting (defaults derived from the cluster and stream id). */
export type ExclusiveCheck<S> = (spec: S, ctx: { cluster: string; stream: string }) => ExclusiveResource[];

/**
 * A problem with a combination of a spec's fields, which a union member's object schema
 * cannot refine itself: the path below the spec (e.g. `["auth", "entra"]`) and the message.
 */
export interface SpecIssue {
  path: Array<string | number>;
  message: string;
}

/** Checks a parsed spec for bad combinations of fields; [] when fine. */
export type SpecCheck<Z extends SpecSchema> = (spec: z.output<Z>) => SpecIssue[];

/** A source: its schema, how to build its connector for one lease, and optionally its cross-field checks and retained resources. */
export interface SourceDefinition<Z extends SpecSchema = SpecSchema> {
  schema: Z;
  create(spec: z.output<Z>, deps: SourceDeps): SourceConnector<unknown>;
  /** cross-field checks, run by the config's validation after the schema parsed the spec */
  check?: SpecCheck<Z>;
  /** what the source keeps on its server for a stream (a slot), measured and dropped on request */
  retention?: SourceRetention<z.output<Z>>;
  /** the resources that must be this stream's own in its cluster */
  exclusive?: ExclusiveCheck<z.output<Z>>;
}

/** A sink: its schema and how to open its connector for one lease. */
export interface SinkDefinition<Z extends SpecSchema = SpecSchema> {
  schema: Z;
  open(spec: z.output<Z>, deps: SinkDeps): Promise<SinkConnector>;
  /** cross-field checks, run by the config's validation after the schema parsed the spec */
  check?: SpecCheck<Z>;
}

/** Types a source definition from its schema (the factory's `spec` is the schema's output). */
export function defineSource<Z extends SpecSchema>(
  schema: Z,
  create: (spec: z.output<Z>, deps: SourceDeps) => SourceConnector<unknown>,
  check?: SpecCheck<Z>,
  retention?: SourceRetention<z.output<Z>>,
  exclusive?: ExclusiveCheck<z.output<Z>>,
): SourceDefinition<Z> {
  return { schema, create, ...(check ? { check } : {}), ...(retention ? { retention } : {}), ...(exclusive ? { exclusive } : {}) };
}

/** Types a sink definition from its schema (the factory's `spec` is the schema's output). */
export function defineSink<Z extends SpecSchema>(schema: Z, open: (spec: z.output<Z>, deps: SinkDeps) => Promise<SinkConnector>, check?: SpecCheck<Z>): SinkDefinition<Z> {
  return check ? { schema, open, check } : { schema, open };
}
