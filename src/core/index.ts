/**
 * Public surface of the kernel: the work contract and its adapter to the actor machine,
 * the source and sink contracts with the one loop each runs on, and the pieces those loops
 * are made of (publisher, checkpointer, stream consumer, coalescing, change queue).
 */
export { workActor, type Work, type WorkControl, type WorkFactory } from "./work.js";
export type { KernelDeps, KernelSettings, ProbeEvent, StreamIdentity } from "./deps.js";
export type { SourceBatch, SourceChange, SourceConnector, SourceContext, SourceDeps } from "./source.js";
export { sourceWork, type SourceWorkOptions, type WriterRole } from "./source-work.js";
export { ChangeQueue, type ChangeQueueOptions } from "./change-queue.js";
export { checkOffset, sinkBatch, sinkOffsetKey, type SinkBatch, type SinkConnector, type SinkDeps, type SinkOffset, type TargetGroup } from "./sink.js";
export { sinkWork, type SinkSettings, type SinkWorkOptions } from "./sink-work.js";
export { compileTableTemplate, type SinkRecord, type TablePlan, type TargetTable } from "./coalesce.js";
export { EventPublisher, type EncodedEvent, type EventPublisherOptions } from "./event-publisher.js";
export { StreamReader, type ConsumedMsg, type StreamReaderOptions } from "./stream-consumer.js";
export { sinkFields } from "./sink-schema.js";
export { defineSink, defineSource, type ExclusiveCheck, type ExclusiveResource, type RetainedResource, type RetentionContext, type SinkDefinition, type SourceDefinition, type SourceRetention, type SpecCheck, type SpecIssue, type SpecSchema } from "./connector.js";
