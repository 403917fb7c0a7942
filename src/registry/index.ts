/** Public surface of the connector registry: the composed config unions, the factories, and the sources' retained resources. */
export { sourceSchema, sinkSchema, createSource, openSink, sourceResources, sourceRetained, dropSourceResources, type SourceSpec, type SinkSpec } from "./registry.js";
