/** The generator source's configuration (synthetic rows for load tests and demos). */
import { z } from "zod";

/** Synthetic rows at a fixed rate, for load tests and demos. */
export const generatorSourceSchema = z
  .object({
    type: z.literal("generator").describe("Source type"),
    rate: z.number().positive().max(1_000_000).default(10).describe("Events per second"),
    table: z.string().default("gen.rows").describe("schema.table the events claim to come from"),
    keys: z.number().int().min(1).default(1000).describe("Distinct keys the generated rows cycle through"),
  })
  .strict()
  .describe("Synthetic rows at a fixed rate, for load tests and demos");

export type GeneratorSourceSpec = z.output<typeof generatorSourceSchema>;
