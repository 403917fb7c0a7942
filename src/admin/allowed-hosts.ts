/**
 * `admin.allowedHosts`: the hosts a stream spec sent to the admin API may make a node
 * connect to. Without it, whoever holds the admin token can point a source at any host and
 * port (a port scanner reading the answers in `lastError`) or copy any reachable database
 * into a sink of their choice. Every URL in the spec is checked — every string with `://`,
 * each host of a multi-host URL, and a PostgreSQL `?host=` — and a host written as a `${…}`
 * reference is refused, since the API cannot know where it points.
 */
import { TributaryError, hasReference } from "../base/index.js";

/** A host as a URL names it: lower-case name (IPv6 in brackets) and port, if written. */
interface Endpoint {
  host: string;
  port: string | undefined;
}

/** The endpoints a URL text connects to (null: one is written as a reference). */
function endpointsOf(url: string): Endpoint[] | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (!m) return [];
  const authority = m[1]!.slice(m[1]!.lastIndexOf("@") + 1);
  const out: Endpoint[] = [];
  const add = (hp: string) => {
    if (!hp) return;
    const v6 = /^(\[[^\]]+\])(?::(.*))?$/.exec(hp);
    const [host, port] = v6 ? [v6[1]!, v6[2]] : [hp.split(":")[0]!, hp.includes(":") ? hp.slice(hp.indexOf(":") + 1) : undefined];
    out.push({ host: decodeURIComponent(host).toLowerCase(), port: port || undefined });
  };
  if (hasReference(authority)) return null;
  for (const hp of authority.split(",")) add(hp);
  // libpq's host/hostaddr parameters override the authority
  for (const p of new URLSearchParams(m[2]!.split("?")[1] ?? "").entries()) {
    if (p[0] !== "host" && p[0] !== "hostaddr") continue;
    if (hasReference(p[1])) return null;
    for (const h of p[1].split(",")) if (!h.startsWith("/")) add(h);
  }
  return out;
}

function allowed(e: Endpoint, list: readonly string[]): boolean {
  return list.some((entry) => {
    const v6 = /^(\[[^\]]+\])(?::(\d+))?$/.exec(entry);
    const [host, port] = v6 ? [v6[1]!, v6[2]] : [entry.split(":")[0]!, entry.split(":")[1]];
    const h = host.toLowerCase();
    const hostOk = h.startsWith("*.") ? e.host.endsWith(h.slice(1)) : e.host === h;
    return hostOk && (port === undefined || port === e.port);
  });
}

/** Every string leaf of `value` with its dotted path. */
function strings(value: unknown, path: string[] = [], out: Array<[string, string]> = []): Array<[string, string]> {
  if (typeof value === "string") out.push([path.join("."), value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, [...path, String(i)], out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) strings(v, [...path, k], out);
  return out;
}

/**
 * Refuses a spec that would connect anywhere outside `list` (FORBIDDEN, naming the field and
 * the host, never the URL's password). A field that is one whole reference hides its host
 * too, so a URL field must be written out.
 */
export function checkAllowedHosts(spec: unknown, list: readonly string[]): void {
  const problems: string[] = [];
  for (const [path, text] of strings(spec)) {
    const isUrlField = /(^|\.)(url|uri|endpoint|servers?\.\d+)$/i.test(path);
    if (!text.includes("://")) {
      if (isUrlField && hasReference(text)) problems.push(`${path}: its host is a \${…} reference; with admin.allowedHosts set, write the host out`);
      continue;
    }
    const eps = endpointsOf(text);
    if (eps === null) {
      problems.push(`${path}: its host is a \${…} reference; with admin.allowedHosts set, write the host out`);
      continue;
    }
    for (const e of eps) if (!allowed(e, list)) problems.push(`${path}: host ${e.host}${e.port ? `:${e.port}` : ""} is not in admin.allowedHosts`);
  }
  if (problems.length) throw new TributaryError("FORBIDDEN", `the stream spec reaches hosts this node may not connect to for the admin API:\n  ${problems.join("\n  ")}`);
}
