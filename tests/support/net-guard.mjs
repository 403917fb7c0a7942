// @ts-check
/**
 * Preloaded into node processes under test (`NODE_OPTIONS=--import <this file's URL>`):
 * refuses every TCP or TLS connection to an address other than loopback before anything
 * leaves the machine, and appends each refusal to the file named by TRIBUTARY_NET_GUARD_LOG
 * (one JSON line), so a test can assert that nothing was dialled outside — no managed
 * identity probe of 169.254.169.254, no Entra ID instance discovery at
 * login.microsoftonline.com. Host names other than `localhost` are refused too: resolving
 * them would itself be traffic. Unix sockets are allowed.
 */
import { appendFileSync } from "node:fs";
import net from "node:net";

const logFile = process.env.TRIBUTARY_NET_GUARD_LOG;

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`; node's default host (none given) is localhost. */
function isLoopback(/** @type {unknown} */ host) {
  if (host === undefined || host === null || host === "") return true;
  const h = String(host).replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return true;
  if (net.isIPv4(h)) return h.startsWith("127.");
  if (net.isIPv6(h)) return h === "::1" || h.startsWith("::ffff:127.");
  return false;
}

/** The target of a Socket#connect call, whatever form its arguments take. */
function targetOf(/** @type {unknown[]} */ args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0]; // net.connect passes normalized [options, cb]
  if (first !== null && typeof first === "object") {
    const o = /** @type {{ host?: unknown; port?: unknown; path?: unknown }} */ (first);
    return { host: o.host, port: o.port, path: o.path };
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) return { host: undefined, port: undefined, path: first };
  return { host: args[1], port: first, path: undefined };
}

const connect = net.Socket.prototype.connect;
/** @this {net.Socket} */
function guardedConnect(/** @type {any[]} */ ...args) {
  const t = targetOf(args);
  if (t.path === undefined && !isLoopback(t.host)) {
    const entry = { pid: process.pid, host: String(t.host), port: Number(t.port), at: new Date().toISOString() };
    if (logFile) appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
    const err = Object.assign(new Error(`test network guard: refused a connection to ${entry.host}:${entry.port} (only loopback is allowed in tests)`), { code: "ECONNREFUSED" });
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, /** @type {any} */ (args));
}
net.Socket.prototype.connect = /** @type {any} */ (guardedConnect);
// a test can tell that the process it started really runs under the guard
if (logFile) appendFileSync(logFile, `${JSON.stringify({ pid: process.pid, loaded: true })}\n`);
