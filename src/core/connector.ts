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

/** A source: its schema and how to build its connector for one lease. */
export interface SourceDefinition<Z extends SpecSchema = SpecSchema> {
  schema: Z;
  create(spec: z.output<Z>, deps: SourceDeps): SourceConnector<unknown>;
}

/** A sink: its schema and how to open its connector for one lease. */
export interface SinkDefinition<Z extends SpecSchema = SpecSchema> {
  schema: Z;
  open(spec: z.output<Z>, deps: SinkDeps): Promise<SinkConnector>;
}

/** Types a source definition from its schema (the factory's `spec` is the schema's output). */
export function defineSource<Z extends SpecSchema>(schema: Z, create: (spec: z.output<Z>, deps: SourceDeps) => SourceConnector<unknown>): SourceDefinition<Z> {
  return { schema, create };
}

/** Types a sink definition from its schema (the factory's `spec` is the schema's output). */
export function defineSink<Z extends SpecSchema>(schema: Z, open: (spec: z.output<Z>, deps: SinkDeps) => Promise<SinkConnector>): SinkDefinition<Z> {
  return { schema, open };
}
