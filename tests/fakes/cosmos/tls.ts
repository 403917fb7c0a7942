/**
 * Test-only TLS material for the Cosmos DB and Entra ID fakes: a throw-away CA and a server
 * certificate for 127.0.0.1/localhost, made with the machine's openssl at test time so no key
 * is ever committed. The Azure SDKs insist on https for Entra ID, so the fakes need this.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PEM material of a test CA and of a server certificate it signed. */
export interface TestTls {
  /** The CA certificate (PEM): what a client must trust. */
  caPem: string;
  /** The server certificate (PEM), valid for IP 127.0.0.1 and DNS localhost. */
  certPem: string;
  /** The server's private key (PEM). */
  keyPem: string;
  /** Path of the CA certificate file, for `NODE_EXTRA_CA_CERTS` of a child node process. */
  caFile: string;
}

/**
 * Creates a CA and a server certificate under `dir` (created if missing) with openssl.
 * The certificates are valid for 2 days; each call makes new keys.
 */
export async function makeTestCa(dir: string): Promise<TestTls> {
  await mkdir(dir, { recursive: true });
  const p = (name: string): string => join(dir, name);
  const ssl = (args: string[]): Promise<unknown> => run("openssl", args, { cwd: dir });
  await ssl([
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
    "-subj", "/CN=Tributary test CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout", p("ca.key"), "-out", p("ca.pem"),
  ]);
  await ssl([
    "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
    "-keyout", p("server.key"), "-out", p("server.csr"),
  ]);
  // Extensions of the leaf go through a file: `openssl x509 -req` ignores -addext.
  const ext = p("server.ext");
  await writeFile(ext, [
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "basicConstraints=CA:FALSE",
    "keyUsage=digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    "",
  ].join("\n"));
  await ssl([
    "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", p("server.pem"),
  ]);
  const [caPem, certPem, keyPem] = await Promise.all([
    readFile(p("ca.pem"), "utf8"),
    readFile(p("server.pem"), "utf8"),
    readFile(p("server.key"), "utf8"),
  ]);
  return { caPem, certPem, keyPem, caFile: p("ca.pem") };
}
