/**
 * Public surface of the transform layer: the transformer's schema, the transformer as a
 * source on the kernel, the node's transform threads, and the compiled JSONata function.
 */
export { transformerSchema, type TransformerSpec } from "./schema.js";
export { TransformerSource, type TransformerSourceDeps, type SeqPosition } from "./transformer-source.js";
export { TransformPool } from "./transform-pool.js";
export { compileTransformer, type CompiledTransformer } from "./jsonata-transformer.js";
