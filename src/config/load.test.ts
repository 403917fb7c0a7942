/**
 * Config loading: defaults, `${ENV}` interpolation, and every kind of bad input rejected
 * with a message that names the field path and the reason. Also keeps
 * docs/configuration.md equal to what the schema generates.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TributaryError } from "../base/index.js";
import { renderConfigDocs } from "./docs.js";
import { interpolateEnv, loadConfigFile, parseConfig, parseStreamSpec, resolveSink, resolveSource } from "./load.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tributary-load-test-"));
let n = 0;
/** Writes YAML text to a fresh temp file and returns its path. */
function file(text: string): string {
  const f = join(dir, `config-${n++}.yaml`);
  writeFileSync(f, text);
  return f;
}

/** The CONFIG_INVALID message thrown by `fn` (fails the test if it does not throw one). */
function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe("CONFIG_INVALID");
    expect((err as TributaryError).retryable).toBe(false);
    return (err as TributaryError).message;
  }
  throw new Error("expected a CONFIG_INVALID error, but the config was accepted");
}

const gen = { type: "generator" };
const pgUrl = "postgres://postgres@127.0.0.1:5432/db";
/** A one-stream config with the given stream fields overriding a minimal generator stream. */
const withStream = (s: Record<string, unknown>) => ({ streams: [{ id: "s1", source: gen, ...s }] });

describe("defaults", () => {
  it("resolves every default of a minimal config", () => {
    const cfg = loadConfigFile(file(["streams:", "  - id: orders", "    source:", "      type: postgres", `      url: ${pgUrl}`, "      tables: [public.orders]", "    sinks:", "      - name: copy", "        type: postgres", `        url: ${pgUrl}`].join("\n")), {});
    expect(cfg.cluster).toBe("tributary");
    expect(cfg.nats).toEqual({ servers: ["nats://127.0.0.1:4222"], replicas: 1 });
    expect(cfg.node.capacity).toBe(1000);
    expect(cfg.node.id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(cfg.admin).toEqual({ host: "127.0.0.1", port: 8080, insecure: false });
    expect(cfg.leases).toEqual({ ttl: 15_000, nodeTtl: 10_000, drainTimeout: 30_000 });
    expect(cfg.checkpoint).toEqual({ interval: 1000, maxEvents: 5000 });
    expect(cfg.log.level).toBe("info");
    const s = cfg.streams[0]!;
    expect(s.maxAge).toBe(7 * 86_400_000);
    expect(s.paused).toBe(false);
    expect(s.transformers).toEqual([]);
    expect(s.source).toEqual({ type: "postgres", url: pgUrl, tables: ["public.orders"], snapshot: "initial", snapshotBatchRows: 5000, keylessTables: "refuse" });
    expect(s.sinks[0]).toEqual({ name: "copy", type: "postgres", url: pgUrl, table: "{schema}.{table}", autoCreate: false, batchMaxRows: 2000, batchMaxWait: 100 });
  });

  it("resolves generator source defaults and durations in every unit", () => {
    const cfg = parseConfig({ leases: { ttl: "1.5s", nodeTtl: 250, drainTimeout: "2s" }, checkpoint: { interval: "2m" }, ...withStream({ maxAge: "1h" }) }, {});
    expect(cfg.streams[0]!.source).toEqual({ type: "generator", rate: 10, table: "gen.rows", keys: 1000 });
    expect(cfg.leases).toEqual({ ttl: 1500, nodeTtl: 250, drainTimeout: 2000 });
    expect(cfg.checkpoint.interval).toBe(120_000);
    expect(cfg.streams[0]!.maxAge).toBe(3_600_000);
  });

  it("resolves MySQL source and sink defaults", () => {
    const url = "mysql://app:pw@db:3306/shop";
    const s = parseConfig(withStream({ source: { type: "mysql", url, tables: ["shop.orders"] }, sinks: [{ name: "my", type: "mysql", url }] }), {}).streams[0]!;
    expect(s.source).toEqual({ type: "mysql", url, tables: ["shop.orders"], snapshot: "initial", snapshotBatchRows: 5000, queueMaxRows: 10_000, keylessTables: "refuse" });
    expect(s.sinks[0]).toEqual({ name: "my", type: "mysql", url, table: "{table}", autoCreate: false, batchMaxRows: 2000, batchMaxWait: 100 });
    const msg = rejection(() => parseConfig(withStream({ source: { type: "mysql", url: "postgres://x/y", tables: ["orders"], serverId: 0 }, sinks: [{ name: "my", type: "mysql", url: "mysql://h:3306" }] }), {}));
    expect(msg).toMatch(/streams\.0\.source\.url: must be a mysql:\/\/ or mariadb:\/\/ URL/);
    expect(msg).toMatch(/streams\.0\.source\.tables\.0: table must be written database\.table \(got "orders"\)/);
    expect(msg).toMatch(/streams\.0\.source\.serverId: Number must be greater than or equal to 1/);
    expect(msg).toMatch(/streams\.0\.sinks\.0\.url: must be a mysql:\/\/ or mariadb:\/\/ URL that names the target database/);
  });

  it("returns a deeply frozen config", () => {
    const cfg = parseConfig(withStream({}), {});
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.streams[0]!.source)).toBe(true);
  });

  it("accepts the shipped example examples/demo.yaml", () => {
    const cfg = loadConfigFile(join(ROOT, "examples/demo.yaml"), {});
    expect(cfg.cluster).toBe("demo");
    expect(cfg.admin.port).toBe(8088);
    expect(cfg.streams.map((s) => s.id)).toEqual(["shop"]);
  });
});

describe("${ENV} interpolation", () => {
  it("substitutes ${VAR} and ${VAR:-default} inside strings", () => {
    const cfg = loadConfigFile(
      file(["cluster: ${CLUSTER}", "nats:", '  servers: ["nats://${NATS_HOST:-127.0.0.1}:4222"]', "  user: u-${USER_SUFFIX:-none}"].join("\n")),
      { CLUSTER: "prod", USER_SUFFIX: "x" },
    );
    expect(cfg.cluster).toBe("prod");
    expect(cfg.nats.servers).toEqual(["nats://127.0.0.1:4222"]);
    expect(cfg.nats.user).toBe("u-x");
  });

  it("gives a value that is one whole reference the YAML type of its text (port: ${PORT} -> number)", () => {
    const cfg = loadConfigFile(file(["admin:", "  port: ${PORT}", "nats:", "  replicas: ${REPLICAS:-3}"].join("\n")), { PORT: "9001" });
    expect(cfg.admin.port).toBe(9001);
    expect(cfg.nats.replicas).toBe(3);
  });

  it("leaves references in a stream spec as written, and says so when one stands in a non-text field", () => {
    const msg = rejection(() => loadConfigFile(file(yamlStream(["    paused: ${PAUSED}"]).join("\n")), { PAUSED: "true" }));
    expect(msg).toMatch(/streams\.0\.paused: Expected boolean, received string \(got "\$\{PAUSED\}"\) \(a \$\{…\} reference stays text in a stream spec: references are resolved on each node, in text fields only\)/);
  });

  it("keeps a number-like value inside a longer string a string", () => {
    expect(interpolateEnv({ a: "v${N}", b: "${N}" }, { N: "7" })).toEqual({ a: "v7", b: 7 });
  });

  it("names a missing variable and the field path that references it (the node's own settings)", () => {
    const msg = rejection(() => loadConfigFile(file(["admin:", "  port: ${ADMIN_PORT_MISSING}", ...yamlStream(["    source:", "      type: postgres", "      url: postgres://u:${PGPASS_MISSING}@h/db", "      tables: [a.b]"], false)].join("\n")), {}));
    expect(msg).toMatch(/admin\.port: environment variable ADMIN_PORT_MISSING is not set/);
    // a stream's references are resolved by each node when it starts an actor, not here
    expect(msg).not.toMatch(/PGPASS_MISSING/);
  });

  it("reads ${file:/path} (one trailing newline dropped) for the node's own settings", () => {
    const secretFile = join(dir, "admin-token");
    writeFileSync(secretFile, "a-token-of-sixteen-chars-or-more\n");
    const cfg = loadConfigFile(file(["admin:", `  token: \${file:${secretFile}}`].join("\n")), {});
    expect(cfg.admin.token).toBe("a-token-of-sixteen-chars-or-more");
    const msg = rejection(() => loadConfigFile(file(["admin:", `  token: \${file:${join(dir, "missing")}}`].join("\n")), {}));
    expect(msg).toMatch(/admin\.token: cannot read \$\{file:.*missing\} \(ENOENT\)/);
  });

  it("uses an empty default ${VAR:-} without complaint", () => {
    expect(parseConfig({ nats: { user: "${U:-}" } }, {}).nats.user).toBe("");
  });
});

/** YAML lines of a `streams:` list with one stream s1 (a generator source unless `withSource` is false) plus extra lines. */
function yamlStream(extra: string[], withSource = true): string[] {
  return ["streams:", "  - id: s1", ...(withSource ? ["    source:", "      type: generator"] : []), ...extra];
}

describe("bad input names the field path and the reason", () => {
  it("wrong type: admin.port is not a number", () => {
    const msg = rejection(() => loadConfigFile(file("admin:\n  port: abc\n"), {}));
    expect(msg).toMatch(/admin\.port: Expected number, received string \(got "abc"\)/);
    expect(msg).toContain("config-"); // names the file
  });

  it("wrong type: a generator's rate is not a number", () => {
    const msg = rejection(() => parseConfig(withStream({ source: { type: "generator", rate: "fast" } }), {}));
    expect(msg).toMatch(/streams\.0\.source\.rate: Expected number, received string \(got "fast"\)/);
  });

  it("out-of-range number", () => {
    expect(rejection(() => parseConfig({ admin: { port: 70000 } }, {}))).toMatch(/admin\.port: Number must be less than or equal to 65535 \(got 70000\)/);
  });

  it("unknown source type lists the allowed types", () => {
    const msg = rejection(() => parseConfig(withStream({ source: { type: "oracle" } }), {}));
    expect(msg).toMatch(/streams\.0\.source\.type: .*Expected 'postgres' \| 'mysql' \| 'generator' \| 'cosmosdb' \| 'mongodb' \(got "oracle"\)/);
  });

  it("unknown sink type lists the allowed types", () => {
    const msg = rejection(() => parseConfig(withStream({ sinks: [{ name: "k", type: "kafka" }] }), {}));
    expect(msg).toMatch(/streams\.0\.sinks\.0\.type: .*Expected 'postgres' \| 'mysql' \| 'cosmosdb' \| 'mongodb' \(got "kafka"\)/);
  });

  it("JSONata syntax error gives the position", () => {
    const msg = rejection(() => loadConfigFile(file(yamlStream(["    transformers:", "      - name: t", "        jsonata: '$merge([$, {\"a\": 1}'"]).join("\n")), {}));
    expect(msg).toMatch(/streams\.0\.transformers\.0\.jsonata: JSONata syntax error at position \d+: /);
  });

  it("a sink reading from an unknown transformer", () => {
    const msg = rejection(() =>
      parseConfig(withStream({ transformers: [{ name: "t1", jsonata: "$" }], sinks: [{ name: "k", type: "postgres", url: pgUrl, from: "t2" }] }), {}),
    );
    expect(msg).toMatch(/streams\.0\.sinks\.0\.from: unknown transformer "t2" \(this stream has: t1\)/);
  });

  it("duplicate stream ids", () => {
    const msg = rejection(() => parseConfig({ streams: [{ id: "a", source: gen }, { id: "a", source: gen }] }, {}));
    expect(msg).toMatch(/streams\.1\.id: duplicate stream id "a"/);
  });

  it("duplicate transformer and sink names within a stream", () => {
    const t = { name: "t", jsonata: "$" };
    const k = { name: "k", type: "postgres", url: pgUrl };
    const msg = rejection(() => parseConfig(withStream({ transformers: [t, t], sinks: [k, k] }), {}));
    expect(msg).toMatch(/streams\.0\.transformers\.1\.name: duplicate transformer name "t"/);
    expect(msg).toMatch(/streams\.0\.sinks\.1\.name: duplicate sink name "k"/);
  });

  it("a stream id with a dot (it would split a NATS subject token)", () => {
    const msg = rejection(() => parseConfig({ streams: [{ id: "shop.orders", source: gen }] }, {}));
    expect(msg).toMatch(/streams\.0\.id: stream id must be 1-64 characters .*NATS subject token.* \(got "shop\.orders"\)/);
  });

  it("a table not written schema.table", () => {
    const msg = rejection(() => parseConfig(withStream({ source: { type: "postgres", url: pgUrl, tables: ["orders"] } }), {}));
    expect(msg).toMatch(/streams\.0\.source\.tables\.0: table must be written schema\.table \(got "orders"\)/);
  });

  it("an invalid duration", () => {
    const msg = rejection(() => parseConfig({ leases: { ttl: "15 sec" } }, {}));
    expect(msg).toMatch(/leases\.ttl: invalid duration "15 sec" \(use e\.g\. "500ms"/);
  });

  it("an unknown key is named by its own path (strict objects)", () => {
    const msg = rejection(() => parseConfig({ admin: { prot: 8080 }, ...withStream({ source: { type: "generator", ratee: 5 } }) }, {}));
    expect(msg).toMatch(/admin\.prot: unknown field/);
    expect(msg).toMatch(/streams\.0\.source\.ratee: unknown field/);
  });

  it("an unknown top-level key", () => {
    expect(rejection(() => parseConfig({ stream: [] }, {}))).toMatch(/\n {2}stream: unknown field/);
  });

  it("reports every problem at once, not just the first", () => {
    const msg = rejection(() => parseConfig({ admin: { port: "abc" }, leases: { ttl: "x" }, log: { level: "loud" } }, {}));
    expect(msg).toMatch(/admin\.port/);
    expect(msg).toMatch(/leases\.ttl/);
    expect(msg).toMatch(/log\.level: Invalid enum value\. Expected 'trace' \| 'debug'/);
  });

  it("a file that is not YAML", () => {
    const f = file("streams:\n  - id: [unclosed\n\tsource: {\n");
    const msg = rejection(() => loadConfigFile(f, {}));
    expect(msg).toMatch(new RegExp(`config file ${escape(f)} is not valid YAML: .*line \\d+, column \\d+`));
  });

  it("a YAML document that is not a mapping", () => {
    expect(rejection(() => loadConfigFile(file("- just\n- a list\n"), {}))).toMatch(/\(root\): Expected object, received array/);
  });

  it("a missing file", () => {
    const f = join(dir, "does-not-exist.yaml");
    expect(rejection(() => loadConfigFile(f, {}))).toMatch(new RegExp(`cannot read config file ${escape(f)}: ENOENT`));
  });
});

describe("secret references in stream specs (docs/adr/0013)", () => {
  const env = { PGPASSWORD: "pw-from-the-env", DATABASE_URL: "postgres://app:pw-from-the-env@db:5432/shop" };
  const pgStream = (url: string) => withStream({ source: { type: "postgres", url, tables: ["public.t"] } });

  it("keeps ${VAR} and ${file:…} references of a stream as written, whatever the environment holds", () => {
    const cfg = parseConfig({ ...pgStream("postgres://app:${PGPASSWORD}@db:5432/shop") }, env);
    expect(cfg.streams[0]!.source).toMatchObject({ url: "postgres://app:${PGPASSWORD}@db:5432/shop" });
    const spec = parseStreamSpec({ id: "x", source: { type: "postgres", url: "postgres://app:${file:/run/secrets/pg}@db/shop", tables: ["a.b"] } });
    expect(spec.source).toMatchObject({ url: "postgres://app:${file:/run/secrets/pg}@db/shop" });
  });

  it("accepts a URL that is one whole reference (checked on the node once resolved)", () => {
    expect(parseConfig(pgStream("${DATABASE_URL}"), {}).streams[0]!.source).toMatchObject({ url: "${DATABASE_URL}" });
  });

  it("refuses a malformed reference, naming the path", () => {
    const msg = rejection(() => parseConfig(pgStream("postgres://app:${1PW}@db/shop"), {}));
    expect(msg).toMatch(/streams\.0\.source\.url: malformed reference \$\{1PW\}/);
    expect(rejection(() => parseStreamSpec({ id: "x", source: { type: "postgres", url: "postgres://a:${file:relative}@h/d", tables: ["a.b"] } }))).toMatch(/source\.url: malformed reference/);
  });

  it("resolves a stream's part from the node's environment and checks the result, never showing a value", () => {
    const spec = parseStreamSpec({ id: "x", source: { type: "postgres", url: "${DATABASE_URL}", tables: ["a.b"] }, sinks: [{ name: "k", type: "postgres", url: "postgres://app:${PGPASSWORD}@db/w" }] });
    const seen: string[] = [];
    expect(resolveSource("x", spec.source, { env, onResolved: (v) => seen.push(v) })).toMatchObject({ url: env.DATABASE_URL });
    expect(resolveSink("x", spec.sinks[0]!, { env })).toMatchObject({ url: "postgres://app:pw-from-the-env@db/w" });
    expect(seen).toEqual([env.DATABASE_URL]);
    const missing = rejection(() => resolveSink("x", spec.sinks[0]!, { env: {} }));
    expect(missing).toMatch(/stream x: sink k: cannot resolve its references on this node:\n {2}url: environment variable PGPASSWORD is not set \(referenced as \$\{PGPASSWORD\}\)/);
    const bad = rejection(() => resolveSource("x", spec.source, { env: { DATABASE_URL: "mysql://u:leaked-secret@h/d" } }));
    expect(bad).toMatch(/stream x: source is invalid once its references are resolved on this node:\n {2}url: must be a postgres:\/\/ or postgresql:\/\/ URL$/);
    expect(bad).not.toContain("leaked-secret");
    const file = join(dir, "pg-password");
    writeFileSync(file, "from-a-file\n");
    const fromFile = parseStreamSpec({ id: "x", source: { type: "generator" }, sinks: [{ name: "k", type: "postgres", url: `postgres://app:\${file:${file}}@db/w` }] });
    expect(resolveSink("x", fromFile.sinks[0]!, { env: {} })).toMatchObject({ url: "postgres://app:from-a-file@db/w" });
  });
});

describe("URLs and templates are checked when the spec is read, with the field path", () => {
  it("a URL whose port is not a number (the password is never shown)", () => {
    const msg = rejection(() => parseConfig(withStream({ source: { type: "postgres", url: "postgres://app:secret@db:notaport/shop", tables: ["a.b"] } }), {}));
    expect(msg).toMatch(/streams\.0\.source\.url: its port "notaport" is not a number \(got "postgres:\/\/app:\*\*\*@db:notaport\/shop"\)/);
    expect(msg).not.toContain("secret");
    expect(rejection(() => parseConfig(withStream({ sinks: [{ name: "k", type: "mysql", url: "mysql://root@h:99999/db" }] }), {}))).toMatch(/streams\.0\.sinks\.0\.url: its port 99999 is above 65535/);
    expect(rejection(() => parseConfig(withStream({ sinks: [{ name: "k", type: "postgres", url: "postgres://app:${PW}@db host/shop" }] }), {}))).toMatch(/streams\.0\.sinks\.0\.url: it is not a valid URL/);
  });

  it("NATS server URLs", () => {
    expect(parseConfig({ nats: { servers: ["nats://a:4222", "tls://b:4443", "127.0.0.1:4222", "nats://u:p@c:4222"] } }, {}).nats.servers).toHaveLength(4);
    expect(rejection(() => parseConfig({ nats: { servers: ["nats://h:port"] } }, {}))).toMatch(/nats\.servers\.0: its port "port" is not a number/);
    expect(rejection(() => parseConfig({ nats: { servers: ["http://h:4222"] } }, {}))).toMatch(/nats\.servers\.0: must be a nats:\/\/, tls:\/\/, ws:\/\/ or wss:\/\/ URL, or host:port/);
  });

  it("a table template with an unknown placeholder, too many dots or a stray brace", () => {
    const sink = (table: string) => withStream({ sinks: [{ name: "k", type: "postgres", url: pgUrl, table }] });
    expect(rejection(() => parseConfig(sink("{schema}.{tabel}"), {}))).toMatch(/streams\.0\.sinks\.0\.table: table template "\{schema\}\.\{tabel\}" has an unknown placeholder \{tabel\}/);
    expect(rejection(() => parseConfig(sink("a.b.{table}"), {}))).toMatch(/streams\.0\.sinks\.0\.table: table template "a\.b\.\{table\}" must be "table" or "schema\.table"/);
    expect(rejection(() => parseConfig(sink("raw.{table"), {}))).toMatch(/streams\.0\.sinks\.0\.table: table template "raw\.\{table" has a stray "\{"/);
    expect(parseConfig(sink("raw_${ENVNAME}.{table}"), {}).streams[0]!.sinks[0]).toMatchObject({ table: "raw_${ENVNAME}.{table}" });
  });

  it("never shows the value of a secret field", () => {
    const msg = rejection(() => parseConfig({ admin: { token: "short-secret" } }, {}));
    expect(msg).toMatch(/admin\.token: admin\.token must be at least 16 characters$/m);
    expect(msg).not.toContain("short-secret");
  });
});

describe("parseStreamSpec", () => {
  it("validates one stream with paths relative to the stream", () => {
    expect(parseStreamSpec({ id: "x", source: gen }).source).toMatchObject({ type: "generator", rate: 10 });
    expect(rejection(() => parseStreamSpec({ id: "x", source: { type: "oracle" } }, "body"))).toMatch(/invalid body:\n {2}source\.type: .*'postgres' \| 'mysql' \| 'generator'/);
  });
});

describe("docs/configuration.md", () => {
  it("is what the schema generates (run `npm run docs:config` after changing the schema)", () => {
    expect(readFileSync(join(ROOT, "docs/configuration.md"), "utf8")).toBe(renderConfigDocs());
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
