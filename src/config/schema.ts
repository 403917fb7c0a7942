/**
 * The configuration schema: one YAML file holds node settings and a list of streams.
 * This schema is the documentation (docs/configuration.md is generated from it by
 * scripts/gen-config-docs.ts): every field has a description and a default.
 */
import { z } from "zod";
import jsonata from "jsonata";
import { duration } from "./duration.js";

/** Stream, transformer and sink names become NATS subject tokens and KV keys. */
const name = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, `${what} must be 1-64 characters of letters, digits, '_' or '-' (it becomes a NATS subject token and KV key)`);

const jsonataExpr = z.string().min(1).superRefine((expr, ctx) => {
  try {
    jsonata(expr);
  } catch (err) {
    const e = err as { message?: string; position?: number; token?: string };
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `JSONata syntax error at position ${e.position ?? "?"}: ${e.message ?? String(err)}` });
  }
});

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
  .describe("Connection URL, e.g. postgres://user:${PGPASSWORD}@host:5432/db");

/** PostgreSQL source (logical replication with pgoutput). */
export const postgresSourceSchema = z
  .object({
    type: z.literal("postgres"),
    url: postgresUrl,
    tables: z
      .array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, "table must be written schema.table"))
      .min(1)
      .describe("Tables to capture, as schema.table"),
    snapshot: z.enum(["initial", "never"]).default("initial").describe("initial: copy existing rows first (consistent with the stream); never: changes only"),
    slot: z.string().regex(/^[a-z0-9_]{1,63}$/).optional().describe("Replication slot name. Default: tributary_<stream id, lower-cased, '-' as '_'>"),
    publication: z.string().regex(/^[a-z0-9_]{1,63}$/).optional().describe("Publication name. Default: same as the slot"),
    snapshotBatchRows: z.number().int().min(1).max(100_000).default(5000).describe("Rows fetched per cursor round-trip during the snapshot"),
  })
  .strict();

/** Synthetic rows at a fixed rate, for load tests and demos. */
export const generatorSourceSchema = z
  .object({
    type: z.literal("generator"),
    rate: z.number().positive().max(1_000_000).default(10).describe("Events per second"),
    table: z.string().default("gen.rows").describe("schema.table the events claim to come from"),
    keys: z.number().int().min(1).default(1000).describe("Distinct keys the generated rows cycle through"),
  })
  .strict();

export const sourceSchema = z.discriminatedUnion("type", [postgresSourceSchema, generatorSourceSchema]);

export const transformerSchema = z
  .object({
    name: name("transformer name"),
    jsonata: jsonataExpr.describe("JSONata expression over the event; undefined/false drops the event"),
  })
  .strict();

export const postgresSinkSchema = z
  .object({
    name: name("sink name"),
    type: z.literal("postgres"),
    url: postgresUrl,
    from: name("from").optional().describe("Transformer whose output this sink consumes; default: the raw change events"),
    table: z.string().default("{schema}.{table}").describe("Target table template with {schema} and {table} placeholders"),
    autoCreate: z.boolean().default(false).describe("Create missing target tables and add missing columns from the source schema"),
    batchMaxRows: z.number().int().min(1).max(100_000).default(2000).describe("Largest batch applied in one transaction"),
    batchMaxWait: duration("100ms").describe("Longest a partial batch waits before it is applied"),
  })
  .strict();

export const sinkSchema = z.discriminatedUnion("type", [postgresSinkSchema]);

export const streamSchema = z
  .object({
    id: name("stream id"),
    source: sourceSchema,
    transformers: z.array(transformerSchema).default([]),
    sinks: z.array(sinkSchema).default([]),
    maxAge: duration("7d").describe("How long JetStream keeps this stream's events (CDC_/XF_ streams)"),
    paused: z.boolean().default(false).describe("A paused stream's actors stay stopped"),
  })
  .strict()
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    for (const [i, t] of s.transformers.entries()) {
      if (names.has(t.name)) ctx.addIssue({ code: "custom", path: ["transformers", i, "name"], message: `duplicate transformer name "${t.name}"` });
      names.add(t.name);
    }
    const sinkNames = new Set<string>();
    for (const [i, k] of s.sinks.entries()) {
      if (sinkNames.has(k.name)) ctx.addIssue({ code: "custom", path: ["sinks", i, "name"], message: `duplicate sink name "${k.name}"` });
      sinkNames.add(k.name);
      if (k.from !== undefined && !names.has(k.from))
        ctx.addIssue({ code: "custom", path: ["sinks", i, "from"], message: `unknown transformer "${k.from}" (this stream has: ${[...names].join(", ") || "none"})` });
    }
  });

export const configSchema = z
  .object({
    cluster: name("cluster").default("tributary").describe("Prefix of every KV bucket and JetStream stream; clusters sharing a NATS account stay apart"),
    nats: z
      .object({
        servers: z.array(z.string().min(1)).min(1).default(["nats://127.0.0.1:4222"]),
        user: z.string().optional(),
        pass: z.string().optional(),
        token: z.string().optional(),
        replicas: z.number().int().min(1).max(5).default(1).describe("Replicas of buckets and JetStream streams (3 on a 3-node NATS cluster)"),
      })
      .strict()
      .default({}),
    node: z
      .object({
        id: name("node id").optional().describe("Stable node id; default: hostname"),
        capacity: z.number().int().min(1).default(1000).describe("Most actors this node runs"),
      })
      .strict()
      .default({}),
    admin: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8080),
        token: z.string().optional().describe("Bearer token required by /v1/* when set"),
      })
      .strict()
      .default({}),
    leases: z
      .object({
        ttl: duration("15s").describe("Lease TTL (bucket max age); renewed every ttl/3"),
        nodeTtl: duration("10s").describe("Node heartbeat TTL; heartbeat every nodeTtl/3"),
      })
      .strict()
      .default({}),
    checkpoint: z
      .object({
        interval: duration("1s").describe("Longest time between position checkpoints while events flow"),
        maxEvents: z.number().int().min(1).default(5000).describe("Checkpoint at least every N acknowledged events"),
      })
      .strict()
      .default({}),
    log: z.object({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info") }).strict().default({}),
    streams: z.array(streamSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    for (const [i, s] of c.streams.entries()) {
      if (ids.has(s.id)) ctx.addIssue({ code: "custom", path: ["streams", i, "id"], message: `duplicate stream id "${s.id}"` });
      ids.add(s.id);
    }
  });

/** The parsed, defaulted configuration. */
export type Config = z.output<typeof configSchema>;
export type StreamSpec = z.output<typeof streamSchema>;
export type SourceSpec = z.output<typeof sourceSchema>;
export type PostgresSourceSpec = z.output<typeof postgresSourceSchema>;
export type GeneratorSourceSpec = z.output<typeof generatorSourceSchema>;
export type TransformerSpec = z.output<typeof transformerSchema>;
export type SinkSpec = z.output<typeof sinkSchema>;
export type PostgresSinkSpec = z.output<typeof postgresSinkSchema>;
