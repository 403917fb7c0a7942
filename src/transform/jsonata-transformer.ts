/**
 * A transformer is a pure function of the event: a JSONata expression compiled once, with
 * a time and a depth limit per event (ADR 0011). Its result decides: undefined or false
 * drops the event (a filter); an object is the new event; an evaluation error, a result
 * over a limit, null or any other value is a poison event for the DLQ (the stream goes on).
 */
import jsonata from "jsonata";
import { TributaryError } from "../base/index.js";

/** Bounds of one event's evaluation (jsonata's own guardrails, checked at every step). */
export interface EvalLimits {
  /** longest evaluation of one event, ms @default 1000 */
  timeMs: number;
  /** deepest evaluation nesting @default 500 */
  depth: number;
}

/** The limits a transformer has when its spec names none. */
export const DEFAULT_LIMITS: EvalLimits = { timeMs: 1000, depth: 500 };

export type TransformResult =
  | { kind: "emit"; value: Record<string, unknown> }
  | { kind: "drop" }
  /** `limit`: the evaluation was stopped by the time or depth limit */
  | { kind: "error"; message: string; limit?: true };

export interface CompiledTransformer {
  readonly name: string;
  apply(event: unknown): Promise<TransformResult>;
}

/** jsonata's guardrail codes: D1011 evaluation too deep, D1012 evaluation too long. */
const LIMIT_CODES: Record<string, string> = { D1011: "depth", D1012: "time" };

/**
 * True when `expr` can block inside one evaluation step, where JSONata's limits are not
 * checked: it has a regular expression (a catastrophic one backtracks for ever inside one
 * `$match`/`$contains`/`$replace`/`$split` call) or calls `$eval` (which can build one).
 * Such a transformer is evaluated in a transform thread from the start, under the watchdog
 * (ADR 0011). False for an expression that does not compile.
 */
export function mayBlock(expr: string): boolean {
  let ast: unknown;
  try {
    ast = jsonata(expr).ast();
  } catch {
    return false;
  }
  const seen = new Set<object>();
  const visit = (n: unknown): boolean => {
    if (typeof n !== "object" || n === null || n instanceof RegExp || seen.has(n)) return false;
    seen.add(n);
    const node = n as { type?: unknown; value?: unknown };
    if (node.type === "regex" || (node.type === "variable" && node.value === "eval")) return true;
    return Object.values(n).some(visit);
  };
  return visit(ast);
}

/** Compiles an expression; CONFIG_INVALID naming the transformer on a syntax error. */
export function compileTransformer(name: string, expr: string, limits: EvalLimits = DEFAULT_LIMITS): CompiledTransformer {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(expr, { timeout: limits.timeMs, stack: limits.depth });
  } catch (err) {
    const e = err as { message?: string; position?: number };
    throw new TributaryError("CONFIG_INVALID", `transformer ${name}: JSONata syntax error at position ${e.position ?? "?"}: ${e.message}`);
  }
  return {
    name,
    async apply(event) {
      let out: unknown;
      try {
        out = await compiled.evaluate(event);
      } catch (err) {
        const e = err as { message?: string; code?: string; position?: number };
        const limit = e.code ? LIMIT_CODES[e.code] : undefined;
        if (limit === "time") return { kind: "error", limit: true, message: `transformer ${name}: evaluation exceeded the time limit of ${limits.timeMs} ms (${e.code}: ${e.message})` };
        if (limit === "depth") return { kind: "error", limit: true, message: `transformer ${name}: evaluation exceeded the depth limit of ${limits.depth} (${e.code}: ${e.message})` };
        if (err instanceof RangeError) return { kind: "error", limit: true, message: `transformer ${name}: evaluation exceeded the JavaScript stack (${err.message}); lower depthLimit` };
        return { kind: "error", message: `transformer ${name}: ${e.code ? e.code + ": " : ""}${e.message ?? String(err)}` };
      }
      if (out === undefined || out === false) return { kind: "drop" };
      if (out === null) return { kind: "error", message: `transformer ${name}: the expression returned null; return undefined or false to filter an event out` };
      if (typeof out !== "object" || Array.isArray(out)) {
        return { kind: "error", message: `transformer ${name}: the expression must return an event object, undefined or false; got ${Array.isArray(out) ? "an array" : typeof out}` };
      }
      return { kind: "emit", value: out as Record<string, unknown> };
    },
  };
}
