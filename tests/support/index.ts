/**
 * The one test-support module of tests/ and bench/ (its public surface; import nothing else
 * from this folder): waiting, unique names, the shared services (PostgreSQL, MariaDB, NATS),
 * the built CLI and node processes, an in-process node, the reader probe checker,
 * workloads and pipelines. Importing it loads no Tributary code: the helpers that need the
 * runtime load it when called (the dependency rules check this), so a unit test of an
 * in-process fake stays light.
 */
export { converged, eventually, GiveUp, sleep } from "./eventually.js";
export { uniqueCluster, uniqueName } from "./names.js";
export { cleanupCluster, leasesAndPosition, natsConnect, NATS_URL, streamState } from "./nats.js";
export { adminQuery, createDb, diffTables, PG_BASE, type TestDb } from "./postgres.js";
export { createMyDb, MY_BASE, startScratchMariaDb, type MyTestDb, type ScratchMariaDb } from "./mariadb.js";
export { assertBuilt, CLI, runCli, spawnCli, writeConfigFile, type CliRun, type SpawnCliOptions } from "./cli.js";
export { freePort, NodeProc, startNodeProc, type NodeProcOptions } from "./node-proc.js";
export { cpuSeconds, cpuSecondsOf, machineBusySeconds, memoryMb, pidsOf, sampleRss, type RssSampler } from "./process-stats.js";
export { startTestNode } from "./in-process.js";
export { ProbeChecker, type ProbeEvent } from "./probe.js";
export { diffAll, rng, Workload } from "./workload.js";
export { diffWorkload, MixedWorkload, schemaSql, type WorkloadTarget } from "./mysql-workload.js";
export { createPipeline, pipelineConfig, type Pipeline } from "./pipeline.js";
export { createMyPipeline, type MyPipeline } from "./mysql-pipeline.js";
export { cosmosRig, type CosmosRig } from "./cosmos.js";
export { metricValue, runSource, sourceDeps, type SeenEvent, type SourceRun } from "./source-run.js";
export { CosmosWorkload, diffRoundTrip, roundTripDbs, roundTripStreams, type RoundTripDbs } from "./cosmos-pipeline.js";
export { mongoPgRig, mongoRig, type MongoPgRig, type MongoRig } from "./mongo.js";
export { diffMyMongo, diffPgMongo } from "./mongo-pipeline.js";
export { diffMongoCopy, diffMongoPg, MongoWorkload } from "./mongo-workload.js";
export { netGuard, type NetGuard } from "./net-guard.js";
export { startPrivateNats, type PrivateNats } from "./private-nats.js";
export { NatsServerProc, startNatsServer, type NatsServerOptions } from "./nats-server-proc.js";
export { startStalledTarget, type StalledTarget } from "./stalled-target.js";
export { makeOperator, makeUserNkey, type OperatorSetup } from "./nats-jwt.js";
