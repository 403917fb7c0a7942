/** Public surface of the connector registry: the composed config unions, the factories, cross-field checks, and the sources' retained resources. */
export { sourceSchema, sinkSchema, createSource, openSink, sourceIssues, sinkIssues, sourceResources, sourceRetained, dropSourceResources, type SourceSpec, type SinkSpec } from "./registry.js";
