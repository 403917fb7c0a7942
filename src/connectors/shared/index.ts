/** Public surface of what the SQL sinks (PostgreSQL, MySQL/MariaDB) share: the SQL sink base and the dialect-neutral catalog rules. */
export { SqlSink, type BatchStats, type PreparedTable, type SqlSinkDialect, type SqlSinkOptions } from "./sql-sink.js";
export { byColumnSet, columnTypesFrom, type SinkTableMeta } from "./sink-table.js";
