/**
 * NATS security (issue 11, item 5): a node reaches NATS over TLS with client certificates
 * (nats/tls.conf, certificates made now with openssl by scripts/nats-tls-certs.sh), logs in
 * with an nkey seed (nats/nkey.conf), with a .creds file in operator mode (nats/operator.conf,
 * JWTs signed by the test), and with credentials written in the server URL — each against a
 * private nats-server, each running a stream end to end. A failed login names the way it
 * tried, never the password.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TributaryError } from "../src/base/index.js";
import { parseConfig } from "../src/config/index.js";
import { startNode, type RunningNode } from "../src/node/index.js";
import { eventually, freePort, makeOperator, makeUserNkey, startNatsServer, type NatsServerProc } from "./support/index.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-nats-sec-"));
const certs = join(dir, "certs");
let server: NatsServerProc | undefined;
let node: RunningNode | undefined;

beforeAll(() => {
  execFileSync("bash", [resolve("scripts/nats-tls-certs.sh"), certs], { stdio: "ignore" });
});
afterEach(async () => {
  await node?.shutdown("test done").catch(() => undefined);
  node = undefined;
  await server?.stop();
  server = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A node of the default cluster (the shipped permissions name its buckets) with one generator stream. */
async function nodeWith(nats: Record<string, unknown>): Promise<RunningNode> {
  const cfg = parseConfig({
    nats,
    node: { id: "sec-1" },
    admin: { port: await freePort() },
    leases: { ttl: "4s", nodeTtl: "3s" },
    checkpoint: { interval: "200ms" },
    streams: [{ id: "g", source: { type: "generator", rate: 50, keys: 5 } }],
  });
  return startNode(cfg, { logger: pino({ level: "silent" }) });
}

/** Events of the stream reach JetStream, and the reader checkpoints: the node works end to end. */
async function flows(n: RunningNode): Promise<void> {
  const jsm = await jetstreamManager(n.nc);
  await eventually(async () => (await jsm.streams.info("CDC_g")).state.messages >= 20, 30_000, "events in CDC_g");
  await eventually(async () => (await n.cp.positions.get("g"))?.operation === "PUT", 30_000, "a reader checkpoint");
}

async function refusal(p: Promise<unknown>): Promise<TributaryError> {
  const err = await p.then(
    () => new Error("expected the node not to start"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TributaryError);
  expect((err as TributaryError).code).toBe("NATS_UNAVAILABLE");
  return err as TributaryError;
}

describe("TLS with client certificates (nats/tls.conf)", () => {
  const env = () => ({ NATS_TLS_CA: join(certs, "ca.pem"), NATS_TLS_CERT: join(certs, "server-cert.pem"), NATS_TLS_KEY: join(certs, "server-key.pem") });

  it("connects over tls:// with nats.tls {ca, cert, key} and runs a stream", async () => {
    server = await startNatsServer({ configFile: resolve("nats/tls.conf"), env: env() });
    node = await nodeWith({ servers: [server.url("tls")], tls: { ca: join(certs, "ca.pem"), cert: join(certs, "client-cert.pem"), key: join(certs, "client-key.pem") } });
    await flows(node);
  });

  it("is refused without a client certificate, with a message that says TLS", async () => {
    server = await startNatsServer({ configFile: resolve("nats/tls.conf"), env: env() });
    const e = await refusal(nodeWith({ servers: [server.url("tls")], tls: { ca: join(certs, "ca.pem") } }));
    expect(e.message).toMatch(new RegExp(`cannot connect to NATS at tls://127\\.0\\.0\\.1:${server.port} \\(TLS\\)`));
  });
});

describe("nkey (nats/nkey.conf)", () => {
  it("logs in with nats.nkey, a seed file, and runs a stream; another seed is refused", async () => {
    const k = makeUserNkey();
    server = await startNatsServer({ configFile: resolve("nats/nkey.conf"), env: { TRIBUTARY_NKEY: k.publicKey } });
    const seed = join(dir, "node.seed");
    writeFileSync(seed, k.seed + "\n", { mode: 0o600 });
    node = await nodeWith({ servers: [server.url()], nkey: seed });
    await flows(node);
    const other = join(dir, "other.seed");
    writeFileSync(other, makeUserNkey().seed);
    const e = await refusal(nodeWith({ servers: [server.url()], nkey: other }));
    expect(e.message).toMatch(/\(nkey\): .*Authorization Violation/i);
    expect(e.message).not.toContain(k.seed);
  });
});

describe(".creds in operator mode (nats/operator.conf)", () => {
  it("logs in with nats.creds and runs a stream", async () => {
    const op = makeOperator();
    server = await startNatsServer({ configFile: resolve("nats/operator.conf"), files: { "operator-resolver.conf": op.resolverConf } });
    const creds = join(dir, "tributary.creds");
    writeFileSync(creds, op.creds, { mode: 0o600 });
    node = await nodeWith({ servers: [server.url()], creds });
    await flows(node);
  });
});

describe("credentials in the server URL", () => {
  const pw = `url-pw-${Math.random().toString(36).slice(2)}`;

  it("logs in with nats://user:pass@host (the client alone ignores them) and runs a stream", async () => {
    server = await startNatsServer({ args: ["-js", "--user", "tributary", "--pass", pw] });
    node = await nodeWith({ servers: [`nats://tributary:${pw}@127.0.0.1:${server.port}`] });
    await flows(node);
  });

  it("a wrong password is refused with a message that never shows it", async () => {
    server = await startNatsServer({ args: ["-js", "--user", "tributary", "--pass", pw] });
    const e = await refusal(nodeWith({ servers: [`nats://tributary:wrong-${pw}@127.0.0.1:${server.port}`] }));
    expect(e.message).toContain(`nats://tributary:***@127.0.0.1:${server.port}`);
    expect(e.message).not.toContain(pw);
  });
});
