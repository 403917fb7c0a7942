/**
 * The one explicit registry of connectors (STYLE §2): every connector folder exports its
 * definition, and it is listed here, once. The config's source and sink unions are
 * composed from the listed schemas, and the composition root builds connectors through
 * `createSource` / `openSink`. Nothing registers itself on import; adding a connector is
 * its folder plus one line in `connectors`.
 */
import { z } from "zod";
import { TributaryError } from "../base/index.js";
import type { RetainedResource, RetentionContext, SinkConnector, SinkDefinition, SinkDeps, SourceConnector, SourceDefinition, SourceDeps, SpecIssue } from "../core/index.js";
import { cosmosdb } from "../connectors/cosmosdb/index.js";
import { generator } from "../connectors/generator/index.js";
import { mongodb } from "../connectors/mongodb/index.js";
import { mysql } from "../connectors/mysql/index.js";
import { postgres } from "../connectors/postgres/index.js";

/** Every connector, in the order the configuration reference lists them. */
const connectors = [postgres, mysql, generator, cosmosdb, mongodb] as const;

type Connector = (typeof connectors)[number];
type SourceSchemas = Extract<Connector, { source: unknown }>["source"]["schema"];
type SinkSchemas = Extract<Connector, { sink: unknown }>["sink"]["schema"];

const sourceDefs: ReadonlyMap<string, SourceDefinition> = new Map(connectors.flatMap((c) => ("source" in c ? [[c.type, c.source as unknown as SourceDefinition] as const] : [])));
const sinkDefs: ReadonlyMap<string, SinkDefinition> = new Map(connectors.flatMap((c) => ("sink" in c ? [[c.type, c.sink as unknown as SinkDefinition] as const] : [])));

/** A stream's `source`: one of the registered source types, selected by `type`. */
export const sourceSchema = z.discriminatedUnion("type", [...sourceDefs.values()].map((d) => d.schema) as unknown as [SourceSchemas, ...SourceSchemas[]]);
/** One of a stream's `sinks`: one of the registered sink types, selected by `type`. */
export const sinkSchema = z.discriminatedUnion("type", [...sinkDefs.values()].map((d) => d.schema) as unknown as [SinkSchemas, ...SinkSchemas[]]);

export type SourceSpec = z.output<typeof sourceSchema>;
export type SinkSpec = z.output<typeof sinkSchema>;

/** Builds the source connector of a (parsed) source spec for one lease. */
export function createSource(spec: SourceSpec, deps: SourceDeps): SourceConnector<unknown> {
  const def = sourceDefs.get(spec.type);
  if (!def) throw new TributaryError("CONFIG_INVALID", `unknown source type "${spec.type}"`);
  return def.create(spec, deps);
}

/** Problems with combinations of a parsed source spec's fields (its connector's `check`); [] when fine. */
export function sourceIssues(spec: SourceSpec): SpecIssue[] {
  return sourceDefs.get(spec.type)?.check?.(spec) ?? [];
}

/** Problems with combinations of a parsed sink spec's fields (its connector's `check`); [] when fine. */
export function sinkIssues(spec: SinkSpec): SpecIssue[] {
  return sinkDefs.get(spec.type)?.check?.(spec) ?? [];
}

/** Opens the sink connector of a (parsed) sink spec for one lease (connects to the target). */
export function openSink(spec: SinkSpec, deps: SinkDeps): Promise<SinkConnector> {
  const def = sinkDefs.get(spec.type);
  if (!def) return Promise.reject(new TributaryError("CONFIG_INVALID", `unknown sink type "${spec.type}"`));
  return def.open(spec, deps);
}

/** The names of the server-side resources a source spec uses (e.g. its slot); empty when its type keeps none. */
export function sourceResources(spec: SourceSpec, ctx: RetentionContext): Record<string, string> {
  return sourceDefs.get(spec.type)?.retention?.describe(spec, ctx) ?? {};
}

/** What the source's resources keep on the source (the retained-WAL metric); spec resolved. Empty when its type keeps none. */
export async function sourceRetained(spec: SourceSpec, ctx: RetentionContext): Promise<RetainedResource[]> {
  return (await sourceDefs.get(spec.type)?.retention?.retained(spec, ctx)) ?? [];
}

/** Drops the source's resources (spec resolved); returns what was dropped. */
export async function dropSourceResources(spec: SourceSpec, ctx: RetentionContext): Promise<string[]> {
  return (await sourceDefs.get(spec.type)?.retention?.drop(spec, ctx)) ?? [];
}
