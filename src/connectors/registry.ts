/**
 * The one explicit registry of connectors (STYLE §2): source type -> reader work, sink
 * type -> writer. Nothing registers itself on import.
 */
import type { WorkDeps } from "../runtime/deps.js";
import type { Work } from "../runtime/work.js";
import type { OpenSinkWriter } from "../runtime/sink-worker.js";
import type { SourceSpec, SinkSpec } from "../config/index.js";
import { PostgresReader } from "./postgres/reader.js";
import { PostgresSinkWriter } from "./postgres/sink-writer.js";
import { GeneratorReader } from "./generator/generator-reader.js";
import { MysqlReader } from "./mysql/reader.js";
import { MysqlSinkWriter } from "./mysql/sink-writer.js";

export const sources: { [T in SourceSpec["type"]]: (d: WorkDeps) => Work } = {
  postgres: (d) => new PostgresReader(d),
  mysql: (d) => new MysqlReader(d),
  generator: (d) => new GeneratorReader(d),
};

export const sinks: { [T in SinkSpec["type"]]: OpenSinkWriter } = {
  postgres: (spec, sinkId, d) => PostgresSinkWriter.open({ url: spec.url, table: spec.table, autoCreate: spec.autoCreate, sinkId }, d.log),
  mysql: (spec, sinkId, d) => MysqlSinkWriter.open({ url: spec.url, table: spec.table, autoCreate: spec.autoCreate, sinkId }, d.log),
};
