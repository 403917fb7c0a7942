/**
 * The one explicit registry of connectors (STYLE §2): every connector folder exports its
 * definition, and it is listed here, once. The config's source and sink unions are
 * composed from the listed schemas, and the composition root builds connectors through
 * `createSource` / `openSink`. Nothing registers itself on import; adding a connector is
 * its folder plus one line in `connectors`.
 */
import { z } from "zod";
import { TributaryError } from "../base/index.js";
import type { ExclusiveResource, RetainedResource, RetentionContext, SinkConnector, SinkDefinition, SinkDeps, SourceConnector, SourceDefinition, SourceDeps, SpecIssue } from "../core/index.js";
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

/** A source that names an exclusive resource another stream of the cluster names too. */
export interface ResourceClash {
  /** the path below the stream spec, e.g. ["source", "slot"] */
  path: string[];
  /** names the resource and the other stream, and the way out */
  message: string;
}

/** A stream as the exclusive-resources check sees it. */
export interface StreamSource {
  id: string;
  source: SourceSpec;
  /** how a clash names it, e.g. "deleted stream a (…)"; default `stream <id>` */
  label?: string;
}

/** The exclusive resources of a stream's source (its connector's `exclusive` hook; none without one). */
export function sourceExclusive(s: StreamSource, cluster: string): ExclusiveResource[] {
  return sourceDefs.get(s.source.type)?.exclusive?.(s.source, { cluster, stream: s.id }) ?? [];
}

/**
 * THE comparison of exclusive resources (docs/adr/0010), used by `validate` (a file's
 * streams), `apply` and the admin API (a spec against the cluster's other streams): the
 * resources of `stream` that one of `others` (another id) names too. Resources of different
 * source types never clash; a slot name is compared whatever server the streams read, since
 * a URL may be a reference resolved only on a node.
 */
export function resourceClashes(stream: StreamSource, others: readonly StreamSource[], cluster: string): ResourceClash[] {
  const taken = new Map<string, string>();
  for (const o of others) {
    if (o.id === stream.id) continue;
    for (const r of sourceExclusive(o, cluster)) {
      const k = `${o.source.type}\0${r.what}\0${r.value}`;
      if (!taken.has(k)) taken.set(k, o.label ?? `stream ${o.id}`);
    }
  }
  const out: ResourceClash[] = [];
  for (const r of sourceExclusive(stream, cluster)) {
    const other = taken.get(`${stream.source.type}\0${r.what}\0${r.value}`);
    if (other === undefined) continue;
    out.push({
      path: ["source", r.field],
      message: `${r.what} ${r.value} is already used by ${other} of cluster ${cluster}: two streams on one ${r.what} lose changes; give each stream its own (set source.${r.field}, or leave it out for one derived from the cluster and stream id)`,
    });
  }
  return out;
}
