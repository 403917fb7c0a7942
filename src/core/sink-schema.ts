/**
 * The fields every sink's spec has, because the sink kernel reads them (its name, its
 * input, its batches). Each connector's schema places them among its own fields, so the
 * generated configuration reference lists them with every sink type.
 */
import { z } from "zod";
import { checkableText, duration, tokenName } from "../base/index.js";
import { compileTableTemplate } from "./coalesce.js";

/**
 * zod type for a sink's `table` template, checked when the spec is read: one `.` at most,
 * only `{schema}` and `{table}` placeholders, no stray brace (a template that is one whole
 * `${…}` reference is checked on the node, once resolved).
 */
const tableTemplate = (def: string) =>
  z
    .string()
    .default(def)
    .superRefine((text, ctx) => {
      const t = checkableText(text);
      if (t === null) return;
      try {
        compileTableTemplate(t);
        const stray = t.replace(/\{schema\}|\{table\}/g, "").match(/[{}]/);
        if (stray) throw new Error(`table template "${t}" has a stray "${stray[0]}" (placeholders are {schema} and {table})`);
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
      }
    });

/** zod fields shared by every sink schema (see SinkSettings). */
export const sinkFields = {
  name: tokenName("sink name").describe("Sink name, unique within the stream"),
  from: tokenName("from").optional().describe("Transformer whose output this sink consumes; default: the raw change events"),
  batchMaxRows: z.number().int().min(1).max(100_000).default(2000).describe("Largest batch applied in one transaction"),
  batchMaxWait: duration("100ms").describe("Longest a partial batch waits before it is applied"),
  /** the target table template with its default (each connector describes it) */
  table: tableTemplate,
};
