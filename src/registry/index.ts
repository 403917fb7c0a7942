/** Public surface of the connector registry: the composed config unions and the factories. */
export { sourceSchema, sinkSchema, createSource, openSink, sourceIssues, sinkIssues, type SourceSpec, type SinkSpec } from "./registry.js";
