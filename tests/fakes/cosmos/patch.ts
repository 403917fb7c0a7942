/**
 * Cosmos DB partial document update (PATCH) for the fake: the add/set/replace/remove/incr/move
 * operations on JSON-pointer paths. Conditional patches (`condition`, a SQL filter) are not
 * supported and answer 400 so a test cannot silently rely on them.
 */
import { pathParts } from "./partition-key.js";
import type { Doc } from "./store.js";
import { errors } from "./wire.js";

/** One patch operation as the SDK sends it. */
export interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

/** A patch request body: an array of operations or `{operations, condition?}`. */
export type PatchBody = PatchOp[] | { operations: PatchOp[]; condition?: string };

type Container = Record<string, unknown> | unknown[];

/** Applies `body` to a copy of `doc`; throws 400 on a bad path or a change of id/partition key. */
export function applyPatch(doc: Doc, body: PatchBody, pkPaths: string[]): Doc {
  const ops = Array.isArray(body) ? body : body?.operations;
  if (!Array.isArray(ops) || ops.length === 0) throw errors.badRequest("Patch request has no operations.");
  if (!Array.isArray(body) && body.condition !== undefined) {
    throw errors.badRequest("fake cosmos: conditional patch (condition) is not implemented.");
  }
  if (ops.length > 10) throw errors.badRequest("Patch request has more than 10 operations.");
  const out = structuredClone(doc);
  for (const op of ops) {
    const target = op.path;
    if (target === "/id" || pkPaths.some((p) => target === p || p.startsWith(`${target}/`))) {
      throw errors.badRequest(`Patch cannot change '${target}': the id and the partition key are immutable.`);
    }
    apply(out, op);
  }
  return out;
}

function apply(doc: Doc, op: PatchOp): void {
  switch (op.op) {
    case "set":
    case "add":
      return put(doc, op.path, op.value, op.op === "add");
    case "replace":
      get(doc, op.path);
      return put(doc, op.path, op.value, false);
    case "remove":
      return remove(doc, op.path);
    case "incr": {
      const { parent, key } = locate(doc, op.path);
      const cur = key in parent ? (parent as Record<string, unknown>)[key] : 0;
      if (typeof cur !== "number" || typeof op.value !== "number") {
        throw errors.badRequest(`Patch incr at '${op.path}' needs numbers.`);
      }
      return put(doc, op.path, cur + op.value, false);
    }
    case "move": {
      if (!op.from) throw errors.badRequest("Patch move needs 'from'.");
      const value = get(doc, op.from);
      remove(doc, op.from);
      return put(doc, op.path, value, false);
    }
    default:
      throw errors.badRequest(`Patch operation '${op.op}' is not supported.`);
  }
}

function locate(doc: Doc, path: string): { parent: Container; key: string } {
  const parts = pathParts(path);
  const key = parts.pop();
  if (key === undefined) throw errors.badRequest(`Patch path '${path}' is invalid.`);
  let cur: unknown = doc;
  for (const p of parts) {
    cur = typeof cur === "object" && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
    if (typeof cur !== "object" || cur === null) {
      throw errors.badRequest(`Patch path '${path}': parent '${p}' does not exist.`);
    }
  }
  return { parent: cur as Container, key };
}

function get(doc: Doc, path: string): unknown {
  const { parent, key } = locate(doc, path);
  if (!(key in parent)) throw errors.badRequest(`Patch path '${path}' does not exist.`);
  return (parent as Record<string, unknown>)[key];
}

function put(doc: Doc, path: string, value: unknown, insert: boolean): void {
  const { parent, key } = locate(doc, path);
  if (Array.isArray(parent)) {
    const i = key === "-" ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw errors.badRequest(`Patch index '${path}' is out of range.`);
    if (insert) parent.splice(i, 0, value);
    else parent[i] = value;
    return;
  }
  parent[key] = value;
}

function remove(doc: Doc, path: string): void {
  const { parent, key } = locate(doc, path);
  if (!(key in parent)) throw errors.badRequest(`Patch path '${path}' does not exist.`);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
}
