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
    type: z.literal("postgres").describe("Source type"),
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
  .strict()
  .describe("PostgreSQL logical replication (pgoutput): an optional consistent snapshot, then every committed change of the listed tables");

const mysqlUrl = z
  .string()
  .regex(/^(mysql|mariadb):\/\//, "must be a mysql:// or mariadb:// URL")
  .describe("Connection URL, e.g. mysql://user:${MYSQL_PASSWORD}@host:3306/db");

/** MySQL/MariaDB source (the binlog, read with zongji). */
export const mysqlSourceSchema = z
  .object({
    type: z.literal("mysql").describe("Source type"),
    url: mysqlUrl,
    tables: z
      .array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, "table must be written database.table"))
      .min(1)
      .describe("Tables to capture, as database.table; each needs a primary key"),
    snapshot: z.enum(["initial", "never"]).default("initial").describe("initial: copy existing rows first (consistent with the binlog position the stream starts at); never: changes only"),
    serverId: z
      .number()
      .int()
      .min(1)
      .max(4_294_967_295)
      .optional()
      .describe("Replication server id of the binlog connection, unique among the server's replicas and stable per stream. Default: a hash of the cluster name and stream id, in 1073741824-2147483647"),
    snapshotBatchRows: z.number().int().min(1).max(100_000).default(5000).describe("Rows read per batch during the snapshot"),
    queueMaxRows: z.number().int().min(100).max(1_000_000).default(10_000).describe("Binlog rows read but not yet published before the binlog connection is paused (bounded memory when JetStream is slow)"),
  })
  .strict()
  .describe("MySQL/MariaDB binlog (ROW format, full row images): an optional consistent snapshot, then every committed change of the listed tables");

/** Synthetic rows at a fixed rate, for load tests and demos. */
export const generatorSourceSchema = z
  .object({
    type: z.literal("generator").describe("Source type"),
    rate: z.number().positive().max(1_000_000).default(10).describe("Events per second"),
    table: z.string().default("gen.rows").describe("schema.table the events claim to come from"),
    keys: z.number().int().min(1).default(1000).describe("Distinct keys the generated rows cycle through"),
  })
  .strict()
  .describe("Synthetic rows at a fixed rate, for load tests and demos");

export const sourceSchema = z.discriminatedUnion("type", [postgresSourceSchema, mysqlSourceSchema, generatorSourceSchema]);

export const transformerSchema = z
  .object({
    name: name("transformer name").describe("Transformer name, unique within the stream; sinks name it in `from`"),
    jsonata: jsonataExpr.describe("JSONata expression over the event; undefined/false drops the event"),
  })
  .strict()
  .describe("A pure JSONata function from a change event to the event a sink receives");

export const postgresSinkSchema = z
  .object({
    name: name("sink name").describe("Sink name, unique within the stream"),
    type: z.literal("postgres").describe("Sink type"),
    url: postgresUrl,
    from: name("from").optional().describe("Transformer whose output this sink consumes; default: the raw change events"),
    table: z.string().default("{schema}.{table}").describe("Target table template with {schema} and {table} placeholders"),
    autoCreate: z.boolean().default(false).describe("Create missing target tables and add missing columns from the source schema"),
    batchMaxRows: z.number().int().min(1).max(100_000).default(2000).describe("Largest batch applied in one transaction"),
    batchMaxWait: duration("100ms").describe("Longest a partial batch waits before it is applied"),
  })
  .strict()
  .describe("Applies events to PostgreSQL tables (upserts and deletes by key); each batch commits in one transaction with the sink's checkpoint, so a replayed batch has no effect twice");

export const mysqlSinkSchema = z
  .object({
    name: name("sink name").describe("Sink name, unique within the stream"),
    type: z.literal("mysql").describe("Sink type"),
    url: z
      .string()
      .regex(/^(mysql|mariadb):\/\/[^/]*\/[^/?]+/, "must be a mysql:// or mariadb:// URL that names the target database, e.g. mysql://user:pass@host:3306/db")
      .describe("Connection URL of the target database, e.g. mysql://user:${MYSQL_PASSWORD}@host:3306/db"),
    from: name("from").optional().describe("Transformer whose output this sink consumes; default: the raw change events"),
    table: z.string().default("{table}").describe("Target table template with {schema} and {table} placeholders; without a '.' the table is in the URL's database"),
    autoCreate: z.boolean().default(false).describe("Create missing target tables and add missing columns from the source schema"),
    batchMaxRows: z.number().int().min(1).max(100_000).default(2000).describe("Largest batch applied in one transaction"),
    batchMaxWait: duration("100ms").describe("Longest a partial batch waits before it is applied"),
  })
  .strict()
  .describe("Applies events to MySQL/MariaDB tables (INSERT … ON DUPLICATE KEY UPDATE and deletes by key); each batch commits in one transaction with the sink's checkpoint, so a replayed batch has no effect twice");

export const sinkSchema = z.discriminatedUnion("type", [postgresSinkSchema, mysqlSinkSchema]);

export const streamSchema = z
  .object({
    id: name("stream id").describe("Stream id, unique in the cluster; part of subjects, stream names and KV keys"),
    source: sourceSchema.describe("Where the changes come from; the `type` field selects the source type"),
    transformers: z.array(transformerSchema).default([]).describe("JSONata transformers; each reads the raw change events and publishes its own output"),
    sinks: z.array(sinkSchema).default([]).describe("Where the events are written; the `type` field selects the sink type"),
    maxAge: duration("7d").describe("How long JetStream keeps this stream's events (CDC_/XF_ streams)"),
    paused: z.boolean().default(false).describe("A paused stream's actors stay stopped"),
  })
  .strict()
  .describe("One stream: a source, the transformers of its events and the sinks that apply them")
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
        servers: z.array(z.string().min(1)).min(1).default(["nats://127.0.0.1:4222"]).describe("NATS server URLs; the node dials them once at start and fails if none answers"),
        user: z.string().optional().describe("NATS user name"),
        pass: z.string().optional().describe("NATS password, e.g. ${NATS_PASSWORD}"),
        token: z.string().optional().describe("NATS authentication token"),
        replicas: z.number().int().min(1).max(5).default(1).describe("Replicas of buckets and JetStream streams (3 on a 3-node NATS cluster)"),
      })
      .strict()
      .default({})
      .describe("Connection to the NATS JetStream cluster that carries the events and the control plane"),
    node: z
      .object({
        id: name("node id").optional().describe("Stable node id; default: hostname"),
        capacity: z.number().int().min(1).default(1000).describe("Most actors this node runs"),
      })
      .strict()
      .default({})
      .describe("This node"),
    admin: z
      .object({
        host: z.string().default("127.0.0.1").describe("Address the admin HTTP API listens on"),
        port: z.number().int().min(0).max(65535).default(8080).describe("Port of the admin HTTP API (0: any free port)"),
        token: z.string().optional().describe("Bearer token required by /v1/* when set"),
      })
      .strict()
      .default({})
      .describe("Admin HTTP API: /healthz, /readyz, /metrics and /v1/*"),
    leases: z
      .object({
        ttl: duration("15s").describe("Lease TTL (bucket max age); renewed every ttl/3"),
        nodeTtl: duration("10s").describe("Node heartbeat TTL; heartbeat every nodeTtl/3"),
      })
      .strict()
      .default({})
      .describe("Leases that make every actor a single, fenced owner"),
    placement: z
      .object({
        epsilon: z.number().min(0).max(4).default(0.25).describe("Allowed overload over the average: no node holds more than ceil((1+epsilon) x actors/nodes)"),
        settle: duration("3s").describe("Membership must be unchanged this long before actors move voluntarily"),
        movesPerStep: z.number().int().min(1).default(10).describe("Most voluntary handoffs a node starts per rebalance step (one step per second)"),
      })
      .strict()
      .default({})
      .describe("How actors are spread over nodes (rendezvous hashing with a bounded load)"),
    checkpoint: z
      .object({
        interval: duration("1s").describe("Longest time between position checkpoints while events flow"),
        maxEvents: z.number().int().min(1).default(5000).describe("Checkpoint at least every N acknowledged events"),
      })
      .strict()
      .default({})
      .describe("How often readers and sinks persist their positions"),
    transform: z
      .object({
        threads: z
          .number()
          .int()
          .min(0)
          .max(64)
          .default(1)
          .describe("Threads that evaluate transformers (JSON parsing and JSONata) beside the node's main thread; 0: evaluate on the main thread. Started on first use"),
        minBatch: z.number().int().min(1).default(16).describe("Smallest batch of events handed to a transform thread; smaller batches are cheaper to evaluate in place"),
      })
      .strict()
      .default({})
      .describe("Where transformers run"),
    log: z
      .object({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info").describe("Lowest level written (JSON lines on stdout)") })
      .strict()
      .default({})
      .describe("Logging"),
    streams: z.array(streamSchema).default([]).describe("The cluster's streams: a node started with this file makes the cluster hold exactly these (others are removed) unless run with --no-apply"),
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
export type MysqlSourceSpec = z.output<typeof mysqlSourceSchema>;
export type GeneratorSourceSpec = z.output<typeof generatorSourceSchema>;
export type TransformerSpec = z.output<typeof transformerSchema>;
export type SinkSpec = z.output<typeof sinkSchema>;
export type PostgresSinkSpec = z.output<typeof postgresSinkSchema>;
export type MysqlSinkSpec = z.output<typeof mysqlSinkSchema>;
