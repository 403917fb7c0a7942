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

/** A source: its schema and how to build its connector for one lease. */
export interface SourceDefinition<Z extends SpecSchema = SpecSchema> {
  schema: Z;
  create(spec: z.output<Z>, deps: SourceDeps): SourceConnector<unknown>;
  /** cross-field checks, run by the config's validation after the schema parsed the spec */
  check?: SpecCheck<Z>;
}

/** A sink: its schema and how to open its connector for one lease. */
export interface SinkDefinition<Z extends SpecSchema = SpecSchema> {
  schema: Z;
  open(spec: z.output<Z>, deps: SinkDeps): Promise<SinkConnector>;
  /** cross-field checks, run by the config's validation after the schema parsed the spec */
  check?: SpecCheck<Z>;
}

/** Types a source definition from its schema (the factory's `spec` is the schema's output). */
export function defineSource<Z extends SpecSchema>(schema: Z, create: (spec: z.output<Z>, deps: SourceDeps) => SourceConnector<unknown>, check?: SpecCheck<Z>): SourceDefinition<Z> {
  return check ? { schema, create, check } : { schema, create };
}

/** Types a sink definition from its schema (the factory's `spec` is the schema's output). */
export function defineSink<Z extends SpecSchema>(schema: Z, open: (spec: z.output<Z>, deps: SinkDeps) => Promise<SinkConnector>, check?: SpecCheck<Z>): SinkDefinition<Z> {
  return check ? { schema, open, check } : { schema, open };
}
