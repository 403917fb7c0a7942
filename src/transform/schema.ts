/** The transformer's configuration: a name and a JSONata expression, checked when the config is read. */
import { z } from "zod";
import jsonata from "jsonata";
import { checkableText, duration, tokenName } from "../base/index.js";

const jsonataExpr = z.string().min(1).superRefine((text, ctx) => {
  // a ${…} reference is resolved on the node; the expression around it is checked here
  const expr = checkableText(text);
  if (expr === null) return;
  try {
    jsonata(expr);
  } catch (err) {
    const e = err as { message?: string; position?: number; token?: string };
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `JSONata syntax error at position ${e.position ?? "?"}: ${e.message ?? String(err)}` });
  }
});

/** One transformer of a stream. */
export const transformerSchema = z
  .object({
    name: tokenName("transformer name").describe("Transformer name, unique within the stream; sinks name it in `from`"),
    jsonata: jsonataExpr.describe(
      "JSONata expression over the event; undefined/false drops the event (counted as filtered), null or a non-object is dead-lettered",
    ),
    timeLimit: duration("1s")
      .refine((ms) => ms >= 1 && ms <= 60_000, "timeLimit must be between 1ms and 60s")
      .describe("Longest evaluation of one event; an event over it is dead-lettered (a runaway loop cannot hold the node)"),
    depthLimit: z
      .number()
      .int()
      .min(10)
      .max(2000)
      .default(500)
      .describe("Deepest nesting of one event's evaluation (recursion); an event over it is dead-lettered"),
    failAfter: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe("Consecutive events over a limit after which the transformer stops with a non-retryable error (the expression needs fixing)"),
  })
  .strict()
  .describe("A pure JSONata function from a change event to the event a sink receives");

export type TransformerSpec = z.output<typeof transformerSchema>;
