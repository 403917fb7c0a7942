/** Public surface of the composition root: starting a node, the desired state's writers, what deleted streams keep. */
export { startNode, advertisedAdmin, VERSION, type RunningNode, type StartNodeOptions } from "./node.js";
export { applyStreams, assertOwnResources, changedPaths, executePlan, formatPlan, getStream, listStreams, planApply, putOwnStream, putStream, seedStreams, type ApplyOptions, type PlanEntry, type SeedResult } from "./streams-store.js";
export { deleteStream, dropRetired, keptWarning, listRetired, retireStream, type DeletionReport, type RetiredRecord } from "./retired.js";
export { retryDelays } from "./actor-host.js";
