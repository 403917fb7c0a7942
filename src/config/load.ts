/**
 * Loads a YAML config file: parse, resolve `${ENV}` / `${ENV:-default}` / `${file:/path}` in
 * the node's own settings, validate against the schema, resolve defaults, freeze. Stream
 * specs keep their references (docs/adr/0013): they are stored as written and every node
 * resolves them from its own environment when it starts an actor (`resolveSource`,
 * `resolveSink`, `resolveTransformer`). Every problem is reported with its field path; a
 * value is shown only with its passwords replaced, and never for a secret field.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parse as parseYaml } from "yaml";
import type { ZodError, ZodTypeAny, z } from "zod";
import { configSchema, streamSchema, type Config, type SinkSpec, type SourceSpec, type StreamSpec, type TransformerSpec } from "./schema.js";
import { TributaryError, redactText, referencePaths, referenceProblems, resolveDeep, resolveText, type ResolveContext } from "../base/index.js";
import { sinkSchema, sourceSchema } from "../registry/index.js";
import { transformerSchema } from "../transform/index.js";

/** Fields whose values are never shown in a message, whatever they hold. */
const SECRET_FIELD = /^(pass|password|token|readToken|secret|clientSecret|key|accountKey|apiKey|creds|nkey)$/i;

/**
 * Resolves references in every string leaf (the node's own settings). A value that is exactly
 * one reference takes the type its text has in YAML (port: ${PORT} -> number). Problems go to
 * `errors` naming the path and the reference.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = [], errors: string[] = [], ctx: Omit<ResolveContext, "env"> = {}): unknown {
  if (typeof value === "string") {
    const whole = /^\$\{[^}]+\}$/.test(value);
    const text = resolveText(value, { ...ctx, env }, path.join(".") || "(root)", errors);
    if (whole && /^(-?\d+(\.\d+)?|true|false)$/.test(text)) return parseYaml(text) as unknown;
    return text;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)], errors, ctx));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k], errors, ctx);
    return out;
  }
  return value;
}

/** True when `v` is (or holds, at any depth) the value of a secret field. */
function holdsSecret(field: string | number | undefined, v: unknown): boolean {
  if (typeof field === "string" && SECRET_FIELD.test(field)) return true;
  if (v === null || typeof v !== "object") return false;
  return Object.entries(v).some(([k, x]) => holdsSecret(k, x));
}

/** How issues show the bad value. */
type Shown = "value" | "none";

/** Formats zod issues as "path: message (got value)" lines; values pass through redactText, and values holding a secret are not shown. */
function formatIssues(err: ZodError, input: unknown, shown: Shown = "value"): string[] {
  return err.issues.flatMap((i) => {
    // zod reports unknown keys at the parent object; name each key's own path instead of dumping the parent
    if (i.code === "unrecognized_keys") return i.keys.map((k) => `${[...i.path, k].join(".")}: unknown field (not in the schema; check the spelling)`);
    const path = i.path.join(".") || "(root)";
    let got: unknown = input;
    for (const p of i.path) got = (got as Record<string | number, unknown> | undefined)?.[p];
    const hide = shown === "none" || holdsSecret(i.path[i.path.length - 1], got);
    let text = got === undefined || hide ? "" : ` (got ${redactText(JSON.stringify(got) ?? "").slice(0, 120)})`;
    if (!hide && typeof got === "string" && got.includes("${") && i.code === "invalid_type") text += " (a ${…} reference stays text in a stream spec: references are resolved on each node, in text fields only)";
    return `${path}: ${i.message}${text}`;
  });
}

/** Problems with the `${…}` syntax anywhere in a stream spec, as "path: …" lines. */
function referenceIssues(doc: unknown, prefix: string[] = []): string[] {
  return referencePaths(doc).flatMap(({ path, text }) => referenceProblems(text).map((p) => `${[...prefix, ...path].join(".")}: ${p}`));
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** How parseConfig resolves the node's own settings. */
export interface ParseConfigOptions {
  /** reads `${file:…}` references (tests) */
  readFile?: (path: string) => string;
  /** told every value resolved from a reference (the node scrubs them from its output) */
  onResolved?: (value: string) => void;
}

/**
 * Validates an already-parsed document. The node's settings are resolved from `env`; the
 * `streams` keep their references. Throws CONFIG_INVALID listing every problem.
 */
export function parseConfig(doc: unknown, env: NodeJS.ProcessEnv = process.env, source = "config", o: ParseConfigOptions = {}): Config {
  const errors: string[] = [];
  const raw = (doc ?? {}) as Record<string, unknown>;
  const isMap = raw && typeof raw === "object" && !Array.isArray(raw);
  const { streams, ...settings } = isMap ? raw : { streams: undefined };
  const interpolated = isMap ? { ...(interpolateEnv(settings, env, [], errors, o) as Record<string, unknown>), ...(streams === undefined ? {} : { streams }) } : raw;
  errors.push(...referenceIssues(streams, ["streams"]));
  if (errors.length) throw new TributaryError("CONFIG_INVALID", `invalid ${source}:\n  ${errors.join("\n  ")}`);
  const r = configSchema.safeParse(interpolated);
  if (!r.success) throw new TributaryError("CONFIG_INVALID", `invalid ${source}:\n  ${formatIssues(r.error, interpolated).join("\n  ")}`);
  const cfg = r.data;
  cfg.node.id ??= hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
  return deepFreeze(cfg);
}

/** Validates one stream spec (admin API, KV watch); its references stay as written. Throws CONFIG_INVALID. */
export function parseStreamSpec(doc: unknown, source = "stream spec"): StreamSpec {
  const refs = referenceIssues(doc);
  if (refs.length) throw new TributaryError("CONFIG_INVALID", `invalid ${source}:\n  ${refs.join("\n  ")}`);
  const r = streamSchema.safeParse(doc);
  if (!r.success) throw new TributaryError("CONFIG_INVALID", `invalid ${source}:\n  ${formatIssues(r.error, doc).join("\n  ")}`);
  return deepFreeze(r.data);
}

/**
 * Resolves the references of one part of a stream (what one actor runs) from this node's
 * environment and validates the result again, now with the real values (a URL that is one
 * whole reference is checked only here). Messages name the field and the reference, never
 * a value. @throws TributaryError CONFIG_INVALID (not retryable: the node's environment or
 * its mounted files must change)
 */
function resolvePart<S extends ZodTypeAny>(schema: S, part: unknown, where: string, ctx: ResolveContext): z.output<S> {
  const errors: string[] = [];
  const resolved = resolveDeep(part, ctx, [], errors);
  if (errors.length) throw new TributaryError("CONFIG_INVALID", `${where}: cannot resolve its references on this node:\n  ${errors.join("\n  ")}`);
  const r = schema.safeParse(resolved);
  if (!r.success) throw new TributaryError("CONFIG_INVALID", `${where} is invalid once its references are resolved on this node:\n  ${formatIssues(r.error, resolved, "none").join("\n  ")}`);
  return r.data as z.output<S>;
}

/** A stream's source with its references resolved from `ctx` (the node's environment). @throws CONFIG_INVALID */
export function resolveSource(stream: string, source: SourceSpec, ctx: ResolveContext): SourceSpec {
  return resolvePart(sourceSchema, source, `stream ${stream}: source`, ctx) as SourceSpec;
}

/** One sink with its references resolved from `ctx`. @throws CONFIG_INVALID */
export function resolveSink(stream: string, sink: SinkSpec, ctx: ResolveContext): SinkSpec {
  return resolvePart(sinkSchema, sink, `stream ${stream}: sink ${sink.name}`, ctx) as SinkSpec;
}

/** One transformer with its references resolved from `ctx`. @throws CONFIG_INVALID */
export function resolveTransformer(stream: string, t: TransformerSpec, ctx: ResolveContext): TransformerSpec {
  return resolvePart(transformerSchema, t, `stream ${stream}: transformer ${t.name}`, ctx);
}

/** Reads and validates a YAML config file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, o: ParseConfigOptions = {}): Config {
  return parseConfig(readYaml(file), env, `config file ${file}`, o);
}

/** Reads a YAML file into a document (CONFIG_INVALID when unreadable or not YAML). */
export function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new TributaryError("CONFIG_INVALID", `cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new TributaryError("CONFIG_INVALID", `config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
}
