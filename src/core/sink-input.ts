/**
 * What a sink can apply: the shape checks of one input event, made before a batch reaches
 * the target (ADR 0011). An event that fails them — typically a transformer's output such
 * as `{op: "u"}` without `after` — is dead-lettered with the reason instead of failing
 * every retry of its batch. Pure, so the rules are unit-tested on their own.
 */

const OPS = new Set(["c", "r", "u", "d", "t"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const shown = (v: unknown): string => (v === undefined ? "undefined" : Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : JSON.stringify(v).slice(0, 40));

/**
 * Why a sink cannot apply `event`, or undefined when it has the envelope's shape: a known
 * `op`; `source.schema` and `source.table` (they pick the target); an `after` object for an
 * upsert (c, r, u) — except an update that carries its update description (`update`, a
 * MongoDB update whose document was gone by the time it was looked up: the sinks apply the
 * description or skip it, docs/types.md); a `key` or `before` object for a delete; `key`,
 * when present, an object.
 */
export function malformedReason(event: unknown): string | undefined {
  if (!isObject(event)) return `not an event object (got ${shown(event)})`;
  const { op, source, after, before, key, update } = event;
  if (typeof op !== "string" || !OPS.has(op)) return `unknown op ${shown(op)} (expected c, r, u, d or t)`;
  if (!isObject(source) || typeof source.schema !== "string" || typeof source.table !== "string") {
    return "no source.schema and source.table strings (they select the target table)";
  }
  if (key !== undefined && key !== null && !isObject(key)) return `key must be an object of key columns (got ${shown(key)})`;
  if ((op === "c" || op === "r" || (op === "u" && !isObject(update))) && !isObject(after)) return `op '${op}' is an upsert and needs an 'after' object with the row (got ${shown(after)})`;
  if (op === "d" && !(isObject(key) && Object.keys(key).length > 0) && !isObject(before)) return "op 'd' needs a 'key' or a 'before' object to find the row to delete";
  return undefined;
}
