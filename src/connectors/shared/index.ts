/** Public surface of what the SQL connectors (PostgreSQL, MySQL/MariaDB) share: the SQL sink base, the dialect-neutral catalog rules, and the sources' insert-only mode for tables without a primary key. */
export { SqlSink, type BatchStats, type PreparedTable, type SqlSinkDialect, type SqlSinkOptions } from "./sql-sink.js";
export { checkKeylessTable, insertOnlyRow, KeylessSkips, KEYLESS_DROP_REASON, SYNTHETIC_KEY, warnKeylessRetry } from "./keyless.js";
export { byColumnSet, columnTypesFrom, type SinkTableMeta } from "./sink-table.js";
