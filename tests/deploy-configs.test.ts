/**
 * The shipped deployments follow the desired-state model (docs/adr/0012): nodes run with
 * `--no-apply` and carry no streams, a one-shot `tributary apply` (compose service,
 * Kubernetes Job, Helm hook) declares them under its own owner, and every config file they
 * ship loads with the schema (stream references kept for the nodes to resolve).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse } from "yaml";
import { loadConfigFile, parseConfig } from "../src/config/index.js";

const yamlDocs = (file: string) => parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS() as Record<string, unknown>);
type Service = { command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown> };

describe("docker-compose.yml", () => {
  const compose = parse(readFileSync("docker-compose.yml", "utf8"), { merge: true }) as { services: Record<string, Service> };

  it("runs the nodes with --no-apply after a one-shot tributary apply of examples/compose.yaml", () => {
    for (const n of ["tributary-1", "tributary-2", "tributary-3"]) {
      const s = compose.services[n]!;
      expect(s.command, n).toEqual(["node", "--config", "/etc/tributary/config.yaml", "--no-apply"]);
      expect(s.depends_on?.["tributary-apply"], n).toEqual({ condition: "service_completed_successfully" });
    }
    expect(compose.services["tributary-apply"]!.command).toEqual(["apply", "-f", "/etc/tributary/config.yaml", "--owner", "compose"]);
  });

  it("runs MongoDB as a replica set the carts stream can watch: --replSet rs0, initiated and seeded before the nodes start", () => {
    const mongo = compose.services.mongo as Service & { image: string };
    expect(mongo.image).toBe("mongo:7");
    expect(mongo.command).toEqual(["mongod", "--replSet", "rs0", "--bind_ip_all"]);
    const init = (compose.services["mongo-init"]!.command ?? []).join("\n");
    expect(init).toMatch(/rs\.initiate\(\{ _id: "rs0"/);
    expect(init).toMatch(/changeStreamPreAndPostImages: \{ enabled: true \}/);
    expect(compose.services["tributary-1"]!.depends_on?.["mongo-init"]).toEqual({ condition: "service_completed_successfully" });
  });

  it("examples/compose.yaml loads for a node and keeps the streams' ${PGPASSWORD} for the nodes", () => {
    const cfg = loadConfigFile("examples/compose.yaml", { NODE_ID: "tributary-1" });
    expect(cfg.admin.advertise).toBe("http://tributary-1:8080");
    expect(cfg.streams.map((s) => s.id)).toEqual(["orders", "demo", "carts"]);
    expect(cfg.streams[2]!.source).toMatchObject({ type: "mongodb", url: "mongodb://mongo:27017/?replicaSet=rs0", collections: ["shop.carts"] });
    expect(JSON.stringify(cfg.streams)).toContain("postgres://postgres:${PGPASSWORD}@postgres:5432/shop");
  });
});

describe("deploy/kubernetes", () => {
  const byName = (file: string) => Object.fromEntries(yamlDocs(file).map((d) => [(d.metadata as { name: string }).name, d]));

  it("the node config lists no streams, advertises the pod IP and loads", () => {
    const cm = byName("deploy/kubernetes/configmap.yaml")["tributary-config"] as { data: Record<string, string> };
    const cfg = parseConfig(parse(cm.data["config.yaml"]!), { POD_NAME: "tributary-abc", POD_IP: "10.1.2.3" });
    expect(cfg.streams).toEqual([]);
    expect(cfg.admin.advertise).toBe("http://10.1.2.3:8080");
  });

  it("the streams are applied by a Job as owner kubernetes, and the Deployment runs with --no-apply", () => {
    const streams = byName("deploy/kubernetes/streams.yaml")["tributary-streams"] as { data: Record<string, string> };
    const cfg = parseConfig(parse(streams.data["apply.yaml"]!), {});
    expect(cfg.streams.map((s) => s.id)).toEqual(["orders"]);
    const job = byName("deploy/kubernetes/job.yaml")["tributary-apply"] as { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } };
    expect(job.spec.template.spec.containers[0]!.args).toEqual(["apply", "-f", "/etc/tributary-apply/apply.yaml", "--owner", "kubernetes"]);
    const dep = byName("deploy/kubernetes/deployment.yaml")["tributary"] as { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } };
    expect(dep.spec.template.spec.containers[0]!.args).toContain("--no-apply");
    expect(readFileSync("deploy/kubernetes/kustomization.yaml", "utf8")).toMatch(/- streams\.yaml[\s\S]*- job\.yaml/);
  });
});

describe("deploy/helm", () => {
  it("keeps streams out of the node config: a hook Job applies them as owner helm/<release>", () => {
    const values = parse(readFileSync("deploy/helm/tributary/values.yaml", "utf8")) as { config: Record<string, unknown>; streams: unknown[]; streamsPrune: boolean };
    expect(values.config.streams).toBeUndefined();
    expect(values.streams).toEqual([]);
    expect(values.streamsPrune).toBe(false);
    const job = readFileSync("deploy/helm/tributary/templates/apply-job.yaml", "utf8");
    expect(job).toContain("helm.sh/hook: post-install,post-upgrade");
    expect(readFileSync("deploy/helm/tributary/templates/_helpers.tpl", "utf8")).toContain('printf "helm/%s" .Release.Name');
    expect(readFileSync("deploy/helm/tributary/templates/deployment.yaml", "utf8")).toContain('"--no-apply"');
  });
});
