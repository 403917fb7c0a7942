/** The transformer's configuration: a name and a JSONata expression, checked when the config is read. */
import { z } from "zod";
import jsonata from "jsonata";
import { checkableText, tokenName } from "../base/index.js";

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
    jsonata: jsonataExpr.describe("JSONata expression over the event; undefined/false drops the event"),
  })
  .strict()
  .describe("A pure JSONata function from a change event to the event a sink receives");

export type TransformerSpec = z.output<typeof transformerSchema>;
