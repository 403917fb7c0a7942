/**
 * Loads a YAML config file: parse, interpolate `${ENV}` / `${ENV:-default}` in string
 * values, validate against the schema, resolve defaults, freeze. Every problem is reported
 * with its field path and the bad value before anything starts.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parse as parseYaml } from "yaml";
import type { ZodError } from "zod";
import { configSchema, streamSchema, type Config, type StreamSpec } from "./schema.js";
import { TributaryError } from "../base/index.js";

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` in every string leaf; a missing variable without default is an error naming it and the path. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = [], errors: string[] = []): unknown {
  if (typeof value === "string") {
    // a value that is one whole reference takes the type the text has in YAML (port: ${PORT} -> number)
    const whole = /^\$\{[^}]+\}$/.test(value);
    const text = value.replace(ENV_REF, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (v !== undefined) return v;
      if (def !== undefined) return def;
      errors.push(`${path.join(".") || "(root)"}: environment variable ${name} is not set (referenced as \${${name}})`);
      return "";
    });
    if (whole && /^(-?\d+(\.\d+)?|true|false)$/.test(text)) return parseYaml(text) as unknown;
    return text;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)], errors));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k], errors);
    return out;
  }
  return value;
}

/** Field names whose values are secrets: a validation message never shows them. */
const SECRET_FIELD = /^(key|password|pass|token|secret|clientSecret|accountKey|apiKey)$/i;

/** True when `v` is (or holds, at any depth) the value of a secret field. */
function holdsSecret(field: string | number | undefined, v: unknown): boolean {
  if (typeof field === "string" && SECRET_FIELD.test(field)) return true;
  if (v === null || typeof v !== "object") return false;
  return Object.entries(v).some(([k, x]) => holdsSecret(k, x));
}

/** Formats zod issues as "path: message (got value)" lines; values holding a secret are not shown. */
function formatIssues(err: ZodError, input: unknown): string[] {
  return err.issues.flatMap((i) => {
    // zod reports unknown keys at the parent object; name each key's own path instead of dumping the parent
    if (i.code === "unrecognized_keys") return i.keys.map((k) => `${[...i.path, k].join(".")}: unknown field (not in the schema; check the spelling)`);
    const path = i.path.join(".") || "(root)";
    let got: unknown = input;
    for (const p of i.path) got = (got as Record<string | number, unknown> | undefined)?.[p];
    const shown = got === undefined || holdsSecret(i.path[i.path.length - 1], got) ? "" : ` (got ${JSON.stringify(got)?.slice(0, 120)})`;
    return `${path}: ${i.message}${shown}`;
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Validates an already-parsed document. Throws CONFIG_INVALID listing every problem. */
export function parseConfig(doc: unknown, env: NodeJS.ProcessEnv = process.env, source = "config"): Config {
  const envErrors: string[] = [];
  const interpolated = interpolateEnv(doc ?? {}, env, [], envErrors);
  if (envErrors.length) throw new TributaryError("CONFIG_INVALID", `invalid ${source}:\n  ${envErrors.join("\n  ")}`);
  const r = configSchema.safeParse(interpolated);
  if (!r.success) throw new TributaryError("CONFIG_INVALID", `invalid ${source}:\n  ${formatIssues(r.error, interpolated).join("\n  ")}`);
  const cfg = r.data;
  cfg.node.id ??= hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
  return deepFreeze(cfg);
}

/** Validates one stream spec (admin API, KV watch). Throws CONFIG_INVALID. */
export function parseStreamSpec(doc: unknown, source = "stream spec"): StreamSpec {
  const r = streamSchema.safeParse(doc);
  if (!r.success) throw new TributaryError("CONFIG_INVALID", `invalid ${source}:\n  ${formatIssues(r.error, doc).join("\n  ")}`);
  return deepFreeze(r.data);
}

/** Reads and validates a YAML config file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new TributaryError("CONFIG_INVALID", `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new TributaryError("CONFIG_INVALID", `config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(doc, env, `config file ${file}`);
}
