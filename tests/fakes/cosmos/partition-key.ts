/**
 * Partition key values of the Cosmos DB fake: extracting them from a document by the
 * container's paths (nested paths like `/a/b` included), parsing the
 * `x-ms-documentdb-partitionkey` header, and the canonical key string documents are stored by.
 */
import type { PkComponent, PkDefinition } from "./hash.js";
import { errors } from "./wire.js";

/** The value the SDK sends for a missing partition key ("None"). */
const NONE: Record<string, never> = {};

/** Splits a partition key path (`/a/b`, `/"odd name"`) into property names. */
export function pathParts(path: string): string[] {
  return path
    .split("/")
    .filter((p) => p !== "")
    .map((p) => (p.startsWith('"') && p.endsWith('"') ? p.slice(1, -1) : p));
}

/** The partition key of `doc` under `def`, one component per path (`{}` when absent). */
export function extractPartitionKey(doc: Record<string, unknown>, def: PkDefinition): PkComponent[] {
  return def.paths.map((path) => {
    let cur: unknown = doc;
    for (const part of pathParts(path)) {
      if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return NONE;
      cur = (cur as Record<string, unknown>)[part];
    }
    return isComponent(cur) ? cur : NONE;
  });
}

function isComponent(v: unknown): v is PkComponent {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null;
}

/** Parses a partition key as sent on the wire (`["p1"]`, `[{}]`, `[1, true]`). */
export function parsePartitionKey(text: string): PkComponent[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw errors.badRequest(`Partition key '${text}' is invalid: not JSON.`);
  }
  if (!Array.isArray(value)) throw errors.badRequest(`Partition key '${text}' is invalid: not a JSON array.`);
  return value.map((v: unknown) => {
    if (isComponent(v)) return v;
    if (typeof v === "object" && v !== null && Object.keys(v).length === 0) return NONE;
    throw errors.badRequest(`Partition key '${text}' has a component that is not a string, number, boolean or null.`);
  });
}

/** The canonical string documents are keyed by (same value → same string). */
export function partitionKeyString(key: PkComponent[]): string {
  return JSON.stringify(key);
}

/**
 * The partition key object of a delete in the AllVersionsAndDeletes wire format:
 * `{pk: "p1"}` for `/pk`, `{a: {b: v}}` for `/a/b` (the nested form is this fake's guess).
 */
export function partitionKeyObject(key: PkComponent[], def: PkDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  def.paths.forEach((path, i) => {
    const parts = pathParts(path);
    let cur = out;
    parts.forEach((part, j) => {
      if (j === parts.length - 1) cur[part] = key[i];
      else cur = (cur[part] ??= {}) as Record<string, unknown>;
    });
  });
  return out;
}
