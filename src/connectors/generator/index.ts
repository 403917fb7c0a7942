/** The generator connector: synthetic rows at a fixed rate (a source only). `generator` is its one line in the registry. */
import { defineSource } from "../../core/index.js";
import { generatorSourceSchema } from "./schema.js";
import { GeneratorSource } from "./source.js";

/** The connector's definition for the registry. */
export const generator = {
  type: "generator",
  source: defineSource(generatorSourceSchema, (spec, deps) => new GeneratorSource(spec, deps)),
} as const;
