/**
 * Dotted-path writes on exact BSON documents for the update operators, plus the change record
 * mongod's update system logs (its "v2 oplog diff"): a path that existed is logged as updated,
 * a path whose parents had to be created is logged once at the first created field with its
 * whole new subtree, an unset path is logged as removed, and (pipeline updates only) a shortened
 * array is logged as truncated. From that record the fake builds
 * the `updateDescription` of change events.
 */
import { bsonEqual, getPath, isPlainDoc, type Doc } from "./bson-values.js";
import { fail } from "./errors.js";

/** What an update changed, in mongod's logging terms. */
export class UpdateLog {
  /** Paths whose (final) value goes into `updatedFields`. */
  readonly updated = new Set<string>();
  readonly removed: string[] = [];
  /** Arrays that got shorter (only pipeline-style updates produce these, as in mongod). */
  readonly truncated: Array<{ field: string; newSize: number }> = [];

  /** True if anything changed (false = the update was a no-op). */
  get changed(): boolean {
    return this.updated.size > 0 || this.removed.length > 0 || this.truncated.length > 0;
  }

  /** `{updatedFields, removedFields, truncatedArrays}` taken from the final document. */
  describe(finalDoc: Doc): Doc {
    const updatedFields: Doc = {};
    const paths = [...this.updated];
    for (const p of paths) {
      // A created parent already carries its whole subtree.
      if (paths.some((q) => q !== p && p.startsWith(`${q}.`))) continue;
      updatedFields[p] = getPath(finalDoc, p);
    }
    const removedFields = this.removed.filter((p) => !this.updated.has(p));
    return { updatedFields, removedFields, truncatedArrays: this.truncated.map((t) => ({ ...t })) };
  }
}

/** Where a path ends: its parent container and the last key. */
export interface PathTarget {
  parent: Doc | unknown[];
  key: string;
  exists: boolean;
  value: unknown;
  /** The first path prefix this resolution had to create, if any. */
  createdAt?: string;
}

function describeValue(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function childOf(container: Doc | unknown[], key: string): unknown {
  if (Array.isArray(container)) return /^\d+$/.test(key) ? container[Number(key)] : undefined;
  return Object.prototype.hasOwnProperty.call(container, key) ? container[key] : undefined;
}

/**
 * Resolves `path` in `doc`. With `create`, missing intermediate documents are created (and
 * arrays padded with null); without it, undefined is returned when a parent is missing.
 */
export function resolvePath(doc: Doc, path: string, create: boolean): PathTarget | undefined {
  const parts = path.split(".");
  if (parts.some((p) => p === "")) throw fail("BadValue", `An empty update path is not valid: '${path}'`);
  if (parts.some((p) => p.startsWith("$"))) throw fail("NotImplemented", `positional update paths are not supported by the fake MongoDB: '${path}'`);
  let cur: Doc | unknown[] = doc;
  let createdAt: string | undefined;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    let next = childOf(cur, part);
    if (next === undefined) {
      if (!create) return undefined;
      next = {};
      createdAt ??= parts.slice(0, i + 1).join(".");
      setChild(cur, part, next, path);
    } else if (!isPlainDoc(next) && !Array.isArray(next)) {
      if (!create) return undefined;
      throw fail("PathNotViable", `Cannot create field '${parts[i + 1]}' in element {${part}: ${describeValue(next)}}`);
    }
    cur = next as Doc | unknown[];
  }
  const key = parts[parts.length - 1] as string;
  if (Array.isArray(cur) && !/^\d+$/.test(key)) {
    if (!create) return undefined;
    throw fail("PathNotViable", `Cannot create field '${key}' in element {${parts.at(-2) ?? ""}: ${describeValue(cur)}}`);
  }
  const value = childOf(cur, key);
  const target: PathTarget = { parent: cur, key, exists: value !== undefined, value };
  if (createdAt !== undefined) target.createdAt = createdAt;
  return target;
}

function setChild(container: Doc | unknown[], key: string, value: unknown, path: string): void {
  if (!Array.isArray(container)) {
    container[key] = value;
    return;
  }
  if (!/^\d+$/.test(key)) throw fail("PathNotViable", `Cannot create field '${key}' in an array (path '${path}')`);
  const idx = Number(key);
  while (container.length < idx) container.push(null);
  container[idx] = value;
}

/** Sets `path` to `value`, logging it; a value equal in type and bytes is a no-op. */
export function setPath(doc: Doc, path: string, value: unknown, log: UpdateLog): void {
  const t = resolvePath(doc, path, true) as PathTarget;
  if (t.exists && bsonEqual(t.value, value)) return;
  const padded = Array.isArray(t.parent) && Number(t.key) > t.parent.length;
  setChild(t.parent, t.key, value, path);
  log.updated.add(t.createdAt ?? (padded ? path.split(".").slice(0, -1).join(".") : path));
}

/** Removes `path` (an array element becomes null, as in mongod), logging it. */
export function unsetPath(doc: Doc, path: string, log: UpdateLog): void {
  const t = resolvePath(doc, path, false);
  if (!t || !t.exists) return;
  if (Array.isArray(t.parent)) {
    if (t.value === null) return;
    t.parent[Number(t.key)] = null;
    log.updated.add(path);
    return;
  }
  delete t.parent[t.key];
  log.removed.push(path);
}
