/**
 * Secret references (docs/adr/0013): a string may hold `${NAME}`, `${NAME:-default}` (an
 * environment variable of the process that resolves it) and `${file:/path}` (the content of a
 * file, e.g. a mounted Kubernetes secret; one trailing newline dropped); `$${` is a literal
 * `${`. Stream specs keep their references in the streams bucket; each node resolves them
 * from its own environment right before it builds an actor's connector. This module parses,
 * resolves and checks references, and remembers resolved values so a node can scrub them
 * from every line it writes (`SecretScrubber`).
 */
import { readFileSync } from "node:fs";

/** One reference found in a string. */
export interface Reference {
  kind: "env" | "file";
  /** variable name or absolute file path */
  name: string;
  /** the `:-default` text of an env reference, if any */
  fallback?: string;
  /** the reference as written, e.g. `${PGPASSWORD}` */
  text: string;
}

/** Where references are resolved from (the node's own process by default). */
export interface ResolveContext {
  env: Readonly<Record<string, string | undefined>>;
  /** reads a `${file:…}` reference @default fs.readFileSync(path, "utf8") */
  readFile?: (path: string) => string;
  /** called with every value resolved from a reference (to scrub it from output later) */
  onResolved?: (value: string) => void;
}

// `$${` escapes; otherwise `${` opens a reference that must be one of the three forms.
const TOKEN = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const ENV_BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const FILE_BODY = /^file:(\/[^}]*)$/;

interface Scan {
  refs: Reference[];
  /** malformed `${…}` texts */
  bad: string[];
}

function scan(s: string): Scan {
  const out: Scan = { refs: [], bad: [] };
  if (!s.includes("${")) return out;
  for (const m of s.matchAll(TOKEN)) {
    if (m[0] === "$${") continue;
    const body = m[1];
    if (body === undefined) {
      out.bad.push(`${s.slice(m.index, m.index + 20)}… (no closing "}")`);
      continue;
    }
    const env = ENV_BODY.exec(body);
    if (env) {
      out.refs.push({ kind: "env", name: env[1]!, ...(env[2] !== undefined ? { fallback: env[2] } : {}), text: m[0] });
      continue;
    }
    const file = FILE_BODY.exec(body);
    if (file) out.refs.push({ kind: "file", name: file[1]!, text: m[0] });
    else out.bad.push(m[0]);
  }
  return out;
}

/** The references in `s`, in order (malformed ones are left out: see `referenceProblems`). */
export function referencesIn(s: string): Reference[] {
  return scan(s).refs;
}

/** True when `s` holds at least one reference. */
export function hasReference(s: string): boolean {
  return scan(s).refs.length > 0;
}

/** True when `s` is exactly one reference (its content is unknown until a node resolves it). */
export function isWholeReference(s: string): boolean {
  const r = scan(s).refs;
  return r.length === 1 && r[0]!.text === s;
}

/** What is wrong with the references in `s` (empty when nothing), e.g. `${1X}` or `${file:relative}`. */
export function referenceProblems(s: string): string[] {
  return scan(s).bad.map(
    (b) => `malformed reference ${b}: write \${NAME}, \${NAME:-default} or \${file:/absolute/path} (\$\${ for a literal "\${")`,
  );
}

/**
 * `s` with every reference replaced by `replace(ref)` and `$${` by `${`. Used to resolve,
 * and to build the placeholder view that validation checks.
 */
export function substitute(s: string, replace: (r: Reference) => string): string {
  if (!s.includes("${")) return s;
  return s.replace(TOKEN, (m: string, body: string | undefined) => {
    if (m === "$${") return "${";
    if (body === undefined) return m;
    const ref = scan(m).refs[0];
    return ref ? replace(ref) : m;
  });
}

const readText = (path: string): string => readFileSync(path, "utf8");

/**
 * Resolves the references of one string. Problems (a variable that is not set and has no
 * default, a file that cannot be read) are pushed to `errors` as "<path>: …" lines that name
 * the reference, never a value.
 */
export function resolveText(s: string, ctx: ResolveContext, path = "(value)", errors: string[] = []): string {
  for (const p of referenceProblems(s)) errors.push(`${path}: ${p}`);
  return substitute(s, (r) => {
    if (r.kind === "env") {
      const v = ctx.env[r.name];
      if (v !== undefined) {
        ctx.onResolved?.(v);
        return v;
      }
      if (r.fallback !== undefined) return r.fallback;
      errors.push(`${path}: environment variable ${r.name} is not set (referenced as ${r.text})`);
      return "";
    }
    try {
      const v = (ctx.readFile ?? readText)(r.name).replace(/\r?\n$/, "");
      ctx.onResolved?.(v);
      return v;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      errors.push(`${path}: cannot read ${r.text}${code ? ` (${code})` : ""}`);
      return "";
    }
  });
}

/**
 * The text a content check (URL syntax, a template, a JSONata expression) can see in a value
 * that may hold references: null when the value is one whole reference (its content is known
 * only on a node, which checks it after resolving), else the value with each reference
 * replaced by its default or by "0" — a neutral text that a user name, password, host, port,
 * database or table name may all be.
 */
export function checkableText(v: string): string | null {
  if (!v.includes("${")) return v;
  if (isWholeReference(v)) return null;
  return substitute(v, (r) => r.fallback ?? "0");
}

/** Resolves every string leaf of `value` (objects and arrays are copied); problems go to `errors`. */
export function resolveDeep(value: unknown, ctx: ResolveContext, path: string[] = [], errors: string[] = []): unknown {
  if (typeof value === "string") return resolveText(value, ctx, path.join(".") || "(root)", errors);
  if (Array.isArray(value)) return value.map((v, i) => resolveDeep(v, ctx, [...path, String(i)], errors));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveDeep(v, ctx, [...path, k], errors);
    return out;
  }
  return value;
}

/** Every string leaf of `value` that holds a reference, by path. */
export function referencePaths(value: unknown, path: Array<string | number> = [], out: Array<{ path: Array<string | number>; text: string }> = []): Array<{ path: Array<string | number>; text: string }> {
  if (typeof value === "string") {
    if (value.includes("${")) out.push({ path, text: value });
  } else if (Array.isArray(value)) value.forEach((v, i) => referencePaths(v, [...path, i], out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) referencePaths(v, [...path, k], out);
  return out;
}

/**
 * Remembers secret values (resolved references, tokens, passwords of the node's own config)
 * and replaces them with `***` in any text: the node's last line of defence for log lines,
 * admin API responses and metrics. Values shorter than `minLength` are not scrubbed: they
 * would match ordinary words (and are no real secrets).
 */
export class SecretScrubber {
  private values: string[] = [];
  constructor(readonly minLength = 6) {}

  /** Remembers `value` (ignored when short or already known). */
  add(value: string | undefined): void {
    if (!value || value.length < this.minLength || this.values.includes(value)) return;
    // the URL-encoded and JSON-escaped forms appear in URLs and JSON output
    const forms = new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
    // longest first, so a secret containing another is replaced whole
    this.values = [...new Set([...this.values, ...forms])].sort((a, b) => b.length - a.length);
  }

  /** How many values are remembered. */
  get size(): number {
    return this.values.length;
  }

  /** `text` with every remembered value replaced by `***`. */
  scrub(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join("***");
    return out;
  }
}

/** Field names whose values are secrets wherever they appear in a spec. */
const SECRET_FIELD = /^(pass|password|token|secret|clientSecret|key|accountKey|apiKey)$/i;
const WHOLE_REF = /^\$\{[^}]+\}$/;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"']*):([^\s/?#@"']*)@/gi;

/**
 * Where a spec holds a secret written out instead of referenced (a URL's password, a secret
 * field's value), as dotted paths: such a spec is stored and shown as written, so the writer
 * is warned (docs/adr/0013).
 */
export function literalSecrets(value: unknown, path: string[] = [], out: string[] = []): string[] {
  if (typeof value === "string") {
    const field = path[path.length - 1] ?? "";
    if (SECRET_FIELD.test(field) && value !== "" && !WHOLE_REF.test(value)) out.push(path.join("."));
    else for (const m of value.matchAll(URL_PASSWORD)) if (m[2] && !WHOLE_REF.test(m[2])) out.push(path.join("."));
  } else if (Array.isArray(value)) value.forEach((v, i) => literalSecrets(v, [...path, String(i)], out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) literalSecrets(v, [...path, k], out);
  return [...new Set(out)];
}

/**
 * A copy of a spec fit to show (admin API answers): literal secrets replaced by `***` — a
 * URL's password and a secret field's value — while `${…}` references stay as written.
 */
export function redactSpec<T>(value: T, field = ""): T {
  if (typeof value === "string") {
    if (SECRET_FIELD.test(field)) return (value === "" || WHOLE_REF.test(value) ? value : "***") as T;
    return value.replace(URL_PASSWORD, (m, head: string, pw: string) => (WHOLE_REF.test(pw) ? m : `${head}:***@`)) as T;
  }
  if (Array.isArray(value)) return value.map((v) => redactSpec(v, field)) as T;
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSpec(v, k)])) as T;
  return value;
}
