#!/usr/bin/env node
/**
 * The `tributary` command line: run a node, apply stream specs, inspect the cluster.
 * Exit codes: 0 ok, 1 runtime failure, 2 invalid input (config, arguments).
 */
import { Command } from "commander";
import { TributaryError } from "../base/index.js";
import { clusterView, desiredPlacement } from "../cluster/index.js";
import { loadConfigFile, parseConfig, type Config } from "../config/index.js";
import { connectNats, openControlPlane, type ControlPlane } from "../nats/index.js";
import { applyStreams, listStreams, putStream, startNode, VERSION } from "../node/index.js";
import { printTable } from "./table.js";

function fail(err: unknown): never {
  const e = err as Error;
  process.stderr.write(`tributary: ${e.message ?? String(err)}\n`);
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

async function withControlPlane<T>(o: ConnOpts, fn: (cp: ControlPlane, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = connConfig(o);
  const nc = await connectNats(cfg.nats, "tributary-cli");
  try {
    const cp = await openControlPlane(nc, { cluster: cfg.cluster, replicas: cfg.nats.replicas, leaseTtl: cfg.leases.ttl, nodeTtl: cfg.leases.nodeTtl });
    return await fn(cp, cfg);
  } finally {
    await nc.close();
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
  .description("run a node: apply the config file's streams and run actors")
  .requiredOption("-c, --config <file>", "config file")
  .option("--no-apply", "do not apply the config file's streams to the cluster")
  .action(async (o: { config: string; apply: boolean }) => {
    const cfg = loadConfigFile(o.config);
    const node = await startNode(cfg, { applyConfigStreams: o.apply });
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
  .description("check a config file and print the resolved streams")
  .requiredOption("-f, --file <file>", "config file")
  .action((o: { file: string }) => {
    const cfg = loadConfigFile(o.file);
    process.stdout.write(`ok: ${cfg.streams.length} stream(s): ${cfg.streams.map((s) => s.id).join(", ")}\n`);
  });

conn(program.command("apply").description("make the cluster's streams equal the file's (removed streams stop)").requiredOption("-f, --file <file>", "config file with streams")).action(
  async (o: ConnOpts & { file: string }) => {
    const file = loadConfigFile(o.file);
    const r = await withControlPlane({ ...o, config: o.config ?? o.file }, (cp) => applyStreams(cp.streams, file.streams));
    process.stdout.write(JSON.stringify(r) + "\n");
  },
);

for (const [cmd, paused] of [["pause", true], ["resume", false]] as const) {
  conn(program.command(`${cmd} <stream>`).description(`${cmd} a stream's actors`)).action(async (id: string, o: ConnOpts) => {
    await withControlPlane(o, async (cp) => {
      const s = (await listStreams(cp.streams)).find((x) => x.id === id);
      if (!s) throw new TributaryError("NOT_FOUND", `no stream "${id}"`);
      await putStream(cp.streams, { ...s, paused });
      process.stdout.write(`${id}: ${paused ? "paused" : "resumed"}\n`);
    });
  });
}

conn(program.command("positions").description("print every position in the positions bucket").option("--json", "JSON output")).action(async (o: ConnOpts & { json?: boolean }) => {
  await withControlPlane(o, async (cp) => {
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
    await withControlPlane(o, async (cp, cfg) => {
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
