/**
 * A transformer is a pure function of the event: a JSONata expression compiled once.
 * Its result decides: undefined/false/null drops the event (a filter), an object is the
 * new event, an evaluation error is a poison event for the DLQ (the stream goes on).
 */
import jsonata from "jsonata";
import { TributaryError } from "../base/index.js";

export type TransformResult =
  | { kind: "emit"; value: Record<string, unknown> }
  | { kind: "drop" }
  | { kind: "error"; message: string };

export interface CompiledTransformer {
  readonly name: string;
  apply(event: unknown): Promise<TransformResult>;
}

/** Compiles an expression; CONFIG_INVALID naming the transformer on a syntax error. */
export function compileTransformer(name: string, expr: string): CompiledTransformer {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(expr);
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
        return { kind: "error", message: `transformer ${name}: ${e.code ? e.code + ": " : ""}${e.message ?? String(err)}` };
      }
      if (out === undefined || out === null || out === false) return { kind: "drop" };
      if (typeof out !== "object" || Array.isArray(out)) {
        return { kind: "error", message: `transformer ${name}: the expression must return an event object, undefined or false; got ${Array.isArray(out) ? "an array" : typeof out}` };
      }
      return { kind: "emit", value: out as Record<string, unknown> };
    },
  };
}
