/**
 * The configuration schema: one YAML file holds node settings and a list of streams.
 * This schema is the documentation (docs/configuration.md is generated from it by
 * scripts/gen-config-docs.ts): every field has a description and a default. Each
 * connector's fields are defined in its own folder; the registry composes them into the
 * `source` and `sinks[]` unions used here, and the transformer's come from src/transform/.
 */
import { z } from "zod";
import { duration, tokenName as name } from "../base/index.js";
import { sinkIssues, sinkSchema, sourceIssues, sourceSchema, type SinkSpec, type SourceSpec } from "../registry/index.js";
import { transformerSchema, type TransformerSpec } from "../transform/index.js";

/** One stream: its source, transformers and sinks. */
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
    // combinations of fields a connector's own object schema cannot refine (ADR 0008)
    for (const i of sourceIssues(s.source)) ctx.addIssue({ code: "custom", path: ["source", ...i.path], message: i.message });
    for (const [n, k] of s.sinks.entries()) for (const i of sinkIssues(k)) ctx.addIssue({ code: "custom", path: ["sinks", n, ...i.path], message: i.message });
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

/** The whole config file. */
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
/** One parsed stream spec. */
export type StreamSpec = z.output<typeof streamSchema>;
export type { SinkSpec, SourceSpec, TransformerSpec };
