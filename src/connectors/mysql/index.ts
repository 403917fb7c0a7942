/**
 * The MySQL/MariaDB connector: a source (the binlog, read with zongji) and a sink
 * (INSERT … ON DUPLICATE KEY UPDATE and deletes by key). `mysql` is its one line in the registry.
 */
import { defineSink, defineSource } from "../../core/index.js";
import { defaultServerId } from "./position.js";
import { mysqlSinkSchema, mysqlSourceSchema } from "./schema.js";
import { MysqlSinkWriter } from "./sink-writer.js";
import { MysqlSource } from "./source.js";

/** The connector's definition for the registry. */
export const mysql = {
  type: "mysql",
  source: defineSource(mysqlSourceSchema, (spec, deps) => new MysqlSource(spec, deps), undefined, undefined, (spec, ctx) => [
    // two binlog connections with one server id make the server end the older one, back and forth
    { field: "serverId", what: "replication server id", value: String(spec.serverId ?? defaultServerId(ctx.cluster, ctx.stream)) },
  ]),
  sink: defineSink(mysqlSinkSchema, (spec, deps) => MysqlSinkWriter.open({ url: spec.url, table: spec.table, autoCreate: spec.autoCreate, sinkId: deps.sinkId, cluster: deps.cluster }, deps.log)),
} as const;
