#!/usr/bin/env node
/**
 * The `tributary` command line: run a node, apply stream specs, inspect the cluster.
 * Exit codes: 0 ok, 1 runtime failure, 2 invalid input (config, arguments).
 * Read-only commands (status, positions) create nothing on NATS, and every command ends
 * quietly when its reader goes away (`tributary status | head`).
 */
import { Command } from "commander";
import { TributaryError, literalSecrets, redactText } from "../base/index.js";
import { clusterView, desiredPlacement, type NodeRecord } from "../cluster/index.js";
import { loadConfigFile, parseConfig, readYaml, type Config } from "../config/index.js";
import { connectNats, getJson, openControlPlane, type ControlPlane } from "../nats/index.js";
import { executePlan, formatPlan, getStream, keptWarning, listRetired, listStreams, planApply, putStream, retireStream, startNode, VERSION } from "../node/index.js";
import { printTable } from "./table.js";

// a closed pipe (`| head`) is the reader's way of saying "enough": not an error
for (const s of [process.stdout, process.stderr]) {
  s.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

function fail(err: unknown): never {
  const e = err as Error;
  process.stderr.write(`tributary: ${redactText(e.message ?? String(err))}\n`);
  process.exit(err instanceof TributaryError && err.code === "CONFIG_INVALID" ? 2 : 1);
}

interface ConnOpts {
  config?: string;
  server?: string;
  cluster?: string;
}

/** Config for commands that only talk to NATS: from --config, or --server/--cluster. */
function connConfig(o: ConnOpts): Config {
  if (o.config) {
    const c = loadConfigFile(o.config);
    return o.cluster ? { ...c, cluster: o.cluster } : c;
  }
  return parseConfig({ cluster: o.cluster ?? "tributary", nats: { servers: [o.server ?? process.env.NATS_URL ?? "nats://127.0.0.1:4222"] } }, process.env, "command-line options");
}

/**
 * Runs `fn` with the cluster's buckets. `create: false` (read-only commands, pause/resume)
 * opens only the buckets of an existing cluster: a typo in --cluster creates nothing.
 */
async function withControlPlane<T>(o: ConnOpts, create: boolean, fn: (cp: ControlPlane, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = connConfig(o);
  const nc = await connectNats(cfg.nats, "tributary-cli");
  try {
    const cp = await openControlPlane(nc, { cluster: cfg.cluster, replicas: cfg.nats.replicas, leaseTtl: cfg.leases.ttl, nodeTtl: cfg.leases.nodeTtl }, { create });
    return await fn(cp, cfg);
  } finally {
    await nc.close();
  }
}

/** Warns (stderr) about secrets a file's streams write out instead of referencing: they would be stored as written. */
function warnLiteralSecrets(cfg: Config): void {
  for (const s of cfg.streams) {
    for (const p of literalSecrets(s)) process.stderr.write(`warning: stream ${s.id}: ${p} holds a secret written out; it would be stored in the streams bucket as written: reference it (\${VAR} or \${file:/path}, resolved by each node)\n`);
  }
}

const conn = (c: Command) =>
  c
    .option("-c, --config <file>", "config file (for nats servers and cluster name)")
    .option("-s, --server <url>", "NATS server URL (default $NATS_URL or nats://127.0.0.1:4222)")
    .option("--cluster <name>", "cluster name (bucket prefix)");

const program = new Command().name("tributary").version(VERSION).description("Change-data-capture cluster on NATS JetStream");

program
  .command("node")
  .description("run a node: create the config file's streams the cluster has never had (nothing else: `tributary apply` changes streams), and run actors")
  .requiredOption("-c, --config <file>", "config file")
  .option("--no-apply", "do not create the config file's new streams")
  .action(async (o: { config: string; apply: boolean }) => {
    const cfg = loadConfigFile(o.config);
    const node = await startNode(cfg, { seedStreams: o.apply });
    const onSignal = (sig: string) => {
      node.shutdown(sig).then(
        () => process.exit(0),
        (err) => {
          node.log.error({ err }, "drain failed");
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
  });

program
  .command("validate")
  .description("check a config file and print the streams; ${…} references in streams are listed (each node resolves them)")
  .requiredOption("-f, --file <file>", "config file")
  .action((o: { file: string }) => {
    const cfg = loadConfigFile(o.file);
    warnLiteralSecrets(cfg);
    process.stdout.write(`ok: ${cfg.streams.length} stream(s): ${cfg.streams.map((s) => s.id).join(", ")}\n`);
    const refs = new Set<string>();
    for (const m of JSON.stringify(cfg.streams).matchAll(/\$\{(file:[^}]+|[A-Za-z_][A-Za-z0-9_]*)/g)) refs.add(m[1]!);
    if (refs.size) process.stdout.write(`references each node resolves from its own environment: ${[...refs].sort().join(", ")}\n`);
  });

conn(
  program
    .command("apply")
    .description("the declarative sync: create and update the file's streams; with --prune delete this owner's streams the file no longer lists")
    .requiredOption("-f, --file <file>", "config file with streams")
    .option("--dry-run", "print what would change, change nothing")
    .option("--prune", "delete the streams this owner manages that the file does not list (their source resources and JetStream streams are kept)")
    .option("--owner <name>", "who declares these streams (a stream's managedBy); --prune only deletes streams of this owner", "apply"),
).action(async (o: ConnOpts & { file: string; dryRun?: boolean; prune?: boolean; owner: string }) => {
  const file = loadConfigFile(o.file);
  warnLiteralSecrets(file);
  const raw = readYaml(o.file) as { streams?: Array<Record<string, unknown>> } | null;
  const pausedStated = new Set((raw?.streams ?? []).filter((s) => s && typeof s === "object" && "paused" in s).map((s) => String(s.id)));
  const dryRunOnNewCluster = (err: unknown) => {
    // a dry run creates nothing, not even the buckets of a cluster that does not exist yet
    if (!(o.dryRun && err instanceof TributaryError && err.code === "NOT_FOUND")) throw err;
    for (const s of file.streams) process.stdout.write(`+ ${s.id} (create)\n`);
    process.stdout.write(`(dry run: nothing changed; ${err.message.split(";")[0]})\n`);
  };
  await withControlPlane({ ...o, config: o.config ?? o.file }, !o.dryRun, async (cp) => {
    const plan = await planApply(cp.streams, file.streams, { owner: o.owner, prune: !!o.prune, pausedStated, cluster: cp.names.cluster });
    for (const line of formatPlan(plan)) process.stdout.write(line + "\n");
    if (o.dryRun) return void process.stdout.write("(dry run: nothing changed)\n");
    const specs = new Map((await listStreams(cp.streams)).map((s) => [s.id, s]));
    const warnings: string[] = [];
    const r = await executePlan(cp.streams, plan, async (id) => {
      const spec = specs.get(id);
      if (!spec) return;
      const w = keptWarning(await retireStream(cp, spec, `apply:${o.owner}`));
      if (w) warnings.push(w);
    });
    process.stdout.write(JSON.stringify(r) + "\n");
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    if (r.conflicts.length) throw new TributaryError("CONFLICT", `streams changed by someone else while applying: ${r.conflicts.join(", ")}; run apply again`);
  }).catch(dryRunOnNewCluster);
});

for (const [cmd, paused] of [["pause", true], ["resume", false]] as const) {
  conn(program.command(`${cmd} <stream>`).description(`${cmd} a stream's actors`)).action(async (id: string, o: ConnOpts) => {
    await withControlPlane(o, false, async (cp) => {
      const s = await getStream(cp.streams, id);
      if (!s) throw new TributaryError("NOT_FOUND", `no stream "${id}"`);
      await putStream(cp.streams, { ...s, paused });
      process.stdout.write(`${id}: ${paused ? "paused" : "resumed"}\n`);
    });
  });
}

conn(program.command("delete <stream>").description("delete a stream; its source resources (slot, publication), JetStream streams and positions are kept until `tributary drop`")).action(
  async (id: string, o: ConnOpts) => {
    await withControlPlane(o, false, async (cp) => {
      const s = await getStream(cp.streams, id);
      if (!s) throw new TributaryError("NOT_FOUND", `no stream "${id}"`);
      const rec = await retireStream(cp, s, "cli");
      await cp.streams.delete(id);
      process.stdout.write(`${id}: deleted\n`);
      const w = keptWarning(rec);
      if (w) process.stderr.write(`warning: ${w}\n`);
    });
  },
);

conn(
  program
    .command("drop <stream>")
    .description("drop what a deleted stream kept (slot, publication, JetStream streams, positions), through a live node's admin API (a node resolves the source's secrets)")
    .option("--token <token>", "the node's admin.token (default $TRIBUTARY_ADMIN_TOKEN)"),
).action(async (id: string, o: ConnOpts & { token?: string }) => {
  await withControlPlane(o, false, async (cp) => {
    if (!(await listRetired(cp)).some((r) => r.id === id)) throw new TributaryError("NOT_FOUND", `stream ${id} has no kept resources`);
    const nodes: NodeRecord[] = [];
    for await (const key of await cp.nodes.keys()) {
      const n = await getJson<NodeRecord>(cp.nodes, key);
      if (n && !n.value.draining && n.value.admin) nodes.push(n.value);
    }
    if (!nodes.length) throw new TributaryError("NOT_FOUND", `no live node of cluster ${cp.names.cluster} to drop the resources with`);
    const token = o.token ?? process.env.TRIBUTARY_ADMIN_TOKEN;
    const r = await fetch(`${nodes[0]!.admin}/v1/streams/${encodeURIComponent(id)}/resources`, { method: "DELETE", headers: token ? { authorization: `Bearer ${token}` } : {} });
    const body = await r.text();
    if (!r.ok) throw new TributaryError(r.status === 404 ? "NOT_FOUND" : "CONFLICT", `node ${nodes[0]!.id} (${nodes[0]!.admin}) answered ${r.status}: ${body}`);
    process.stdout.write(body + "\n");
  });
});

conn(program.command("positions").description("print every position in the positions bucket").option("--json", "JSON output")).action(async (o: ConnOpts & { json?: boolean }) => {
  await withControlPlane(o, false, async (cp) => {
    const rows: Array<Record<string, unknown>> = [];
    for await (const key of await cp.positions.keys()) {
      const e = await cp.positions.get(key);
      if (!e || e.operation !== "PUT") continue;
      const v = e.json<{ position: unknown; epoch: number; node: string; updated: string }>();
      rows.push({ key, position: JSON.stringify(v.position), epoch: v.epoch, node: v.node, updated: v.updated });
    }
    rows.sort((a, b) => String(a.key).localeCompare(String(b.key)));
    if (o.json) process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    else printTable(rows, ["key", "position", "epoch", "node", "updated"]);
  });
});

conn(program.command("status").description("the cluster: nodes, and every actor with its owner, epoch and desired node").option("--json", "JSON output")).action(
  async (o: ConnOpts & { json?: boolean }) => {
    await withControlPlane(o, false, async (cp, cfg) => {
      const streams = await listStreams(cp.streams);
      const view = await clusterView(cp, (nodes) => desiredPlacement(streams, nodes, cfg.placement.epsilon));
      if (o.json) return void process.stdout.write(JSON.stringify(view, null, 2) + "\n");
      printTable(view.nodes as unknown as Array<Record<string, unknown>>, ["id", "admin", "draining", "actors", "started"]);
      process.stdout.write("\n");
      printTable(view.actors as unknown as Array<Record<string, unknown>>, ["id", "kind", "stream", "owner", "epoch", "desired", "state"]);
    });
  },
);

program.parseAsync(process.argv).catch(fail);
