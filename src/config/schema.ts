/**
 * The configuration schema: one YAML file holds node settings and a list of streams.
 * This schema is the documentation (docs/configuration.md is generated from it by
 * scripts/gen-config-docs.ts): every field has a description and a default. Each
 * connector's fields are defined in its own folder; the registry composes them into the
 * `source` and `sinks[]` unions used here, and the transformer's come from src/transform/.
 */
import { z } from "zod";
import { connectionUrl, duration, tokenName as name } from "../base/index.js";
import { resourceClashes, sinkIssues, sinkSchema, sourceIssues, sourceSchema, type SinkSpec, type SourceSpec } from "../registry/index.js";
import { transformerSchema, type TransformerSpec } from "../transform/index.js";

/** A NATS server URL: nats://, tls:// (or ws://, wss://), or host:port. */
const natsUrlCheck = connectionUrl({ schemes: ["nats", "tls", "ws", "wss"], message: "must be a nats://, tls://, ws:// or wss:// URL, or host:port" });
const natsUrl = z.string().superRefine((v, ctx) => {
  if (/^[A-Za-z0-9_.-]+:\d{1,5}$/.test(v)) return;
  const r = natsUrlCheck.safeParse(v);
  if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: z.ZodIssueCode.custom, message: i.message });
});

/** One stream: its source, transformers and sinks. */
export const streamSchema = z
  .object({
    id: name("stream id").describe("Stream id, unique in the cluster; part of subjects, stream names and KV keys"),
    source: sourceSchema.describe("Where the changes come from; the `type` field selects the source type"),
    transformers: z.array(transformerSchema).default([]).describe("JSONata transformers; each reads the raw change events and publishes its own output"),
    sinks: z.array(sinkSchema).default([]).describe("Where the events are written; the `type` field selects the sink type"),
    maxAge: duration("7d").describe("How long JetStream keeps this stream's events (CDC_/XF_ streams)"),
    paused: z.boolean().default(false).describe("A paused stream's actors stay stopped. `tributary apply` keeps the cluster's value unless the file sets it; a node start never changes it"),
    managedBy: z
      .string()
      .regex(/^[A-Za-z0-9_.:/@-]{1,128}$/, "managedBy must be 1-128 characters of letters, digits and _ . : / @ -")
      .optional()
      .describe("Who declares this stream (set by the writer, not by hand): `api` for the admin API, the `--owner` of `tributary apply` (default `apply`), `node` for a node's seeding. `tributary apply --prune` removes only streams of its own owner"),
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
        servers: z
          .array(natsUrl)
          .min(1)
          .default(["nats://127.0.0.1:4222"])
          .describe("NATS server URLs (nats://host:port, tls://host:port for TLS, or host:port); credentials in a URL (nats://user:pass@host) are used to log in. The node dials them once at start and fails if none answers"),
        user: z.string().optional().describe("NATS user name"),
        pass: z.string().optional().describe("NATS password, e.g. ${NATS_PASSWORD} or ${file:/run/secrets/nats-password}"),
        token: z.string().optional().describe("NATS authentication token"),
        creds: z.string().min(1).optional().describe("Path of a NATS credentials file (.creds: a user JWT and its nkey seed), as made by `nsc` or a managed NATS service"),
        nkey: z.string().min(1).optional().describe("Path of a file holding an nkey seed (SU…) for nkey authentication"),
        tls: z
          .object({
            ca: z.string().min(1).optional().describe("Path of the PEM file of the certificate authorities that signed the servers' certificates (default: the system's)"),
            cert: z.string().min(1).optional().describe("Path of this client's PEM certificate (servers that verify clients)"),
            key: z.string().min(1).optional().describe("Path of the PEM private key of `cert`"),
            handshakeFirst: z.boolean().default(false).describe("Start TLS before the NATS INFO (servers configured with `handshake_first`)"),
          })
          .strict()
          .optional()
          .describe("TLS towards NATS (a tls:// URL turns it on too); certificates are read from files"),
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
        token: z.string().min(16, "admin.token must be at least 16 characters").optional().describe("Admin bearer token: every mutating endpoint (POST/PUT/DELETE) needs it; read-only endpoints accept it too"),
        readToken: z.string().min(16, "admin.readToken must be at least 16 characters").optional().describe("Read-only bearer token: accepted by GET /v1/*. When `token` or `readToken` is set, GET /v1/* needs one of them"),
        insecure: z
          .boolean()
          .default(false)
          .describe("Serve the mutating endpoints without a token (only when `token` is not set); logged as a warning at start-up. Without it and without `token`, the node serves only read-only endpoints"),
        advertise: z
          .string()
          .regex(/^https?:\/\/[^\s/]+/, "admin.advertise must be an http:// or https:// URL")
          .optional()
          .describe("URL of this node's admin API as other nodes and the CLI show it. Default: http://<host>:<port>, with the machine's hostname when `host` is a wildcard (0.0.0.0, ::)"),
        allowedHosts: z
          .array(z.string().regex(/^(\*\.)?[A-Za-z0-9_.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, "an allowed host is host, host:port or *.domain"))
          .optional()
          .describe("Hosts a stream spec POSTed or PUT through the admin API may connect to (host, host:port, *.domain); a spec naming any other host, or a host that is a ${…} reference, is refused. Unset: any host"),
      })
      .strict()
      .default({})
      .describe("Admin HTTP API: /healthz, /readyz, /metrics and /v1/*. Safe by default: without `token` the mutating endpoints are off"),
    leases: z
      .object({
        ttl: duration("15s").describe("Lease TTL (bucket max age); renewed every ttl/3"),
        nodeTtl: duration("10s").describe("Node heartbeat TTL; heartbeat every nodeTtl/3"),
        drainTimeout: duration("30s").describe(
          "How long an actor's graceful stop (pause, delete, handoff, drain, SIGTERM) may take: past it the work is aborted and the lease released anyway (the release itself gets at most 5s more, else the lease ages out)",
        ),
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
        minBatch: z.number().int().min(1).default(16).describe(
          "Smallest batch of events handed to a transform thread; smaller batches are cheaper to evaluate in place. 1: every evaluation runs in a thread, under its watchdog (ADR 0011), for expressions that are not trusted",
        ),
      })
      .strict()
      .default({})
      .describe("Where transformers run"),
    log: z
      .object({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info").describe("Lowest level written (JSON lines on stdout)") })
      .strict()
      .default({})
      .describe("Logging"),
    streams: z
      .array(streamSchema)
      .default([])
      .describe("Stream specs for `tributary apply -f` (the declarative sync: creates, updates, and with --prune removes). A node started with this file only creates those the cluster has never had (never updates, deletes, pauses or resumes one; --no-apply: not even that). `${…}` references stay as written and each node resolves them"),
  })
  .strict()
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    for (const [i, s] of c.streams.entries()) {
      if (ids.has(s.id)) ctx.addIssue({ code: "custom", path: ["streams", i, "id"], message: `duplicate stream id "${s.id}"` });
      ids.add(s.id);
      // a slot, publication or server id of an earlier stream of the file (docs/adr/0010)
      for (const k of resourceClashes(s, c.streams.slice(0, i), c.cluster)) ctx.addIssue({ code: "custom", path: ["streams", i, ...k.path], message: k.message });
    }
  });

/** The parsed, defaulted configuration. */
export type Config = z.output<typeof configSchema>;
/** One parsed stream spec. */
export type StreamSpec = z.output<typeof streamSchema>;
export type { SinkSpec, SourceSpec, TransformerSpec };
