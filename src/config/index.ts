/** Public surface of the config layer: the composed schema and its types, loading and validation, resolving a stream's references on a node, the generated reference. */
export { type Config, type SinkSpec, type SourceSpec, type StreamSpec, type TransformerSpec } from "./schema.js";
export { loadConfigFile, parseConfig, parseStreamSpec, readYaml, resolveSink, resolveSource, resolveTransformer, type ParseConfigOptions } from "./load.js";
export { packageRoot, renderConfigDocs } from "./docs.js";
