/**
 * Shared state of one fake MongoDB server and the context a command handler runs in.
 */
import type { Doc } from "./bson-values.js";
import type { ChangeLog } from "./change-log.js";
import type { CursorRegistry } from "./cursors.js";
import type { Store } from "./store.js";
import type { DocTarget } from "./targets.js";
import type { Txn, TxnManager } from "./transactions.js";

/** Everything the command handlers of one server share. */
export interface ServerCore {
  readonly store: Store;
  readonly log: ChangeLog;
  readonly cursors: CursorRegistry;
  readonly txns: TxnManager;
  /** Replica-set name, or undefined for a standalone server. */
  readonly replicaSet: string | undefined;
  /** `host:port` the server listens on (used in hello's hosts/me/primary). */
  readonly address: string;
}

/** One command being executed. */
export interface CommandContext {
  readonly core: ServerCore;
  /** `$db` of the command. */
  readonly db: string;
  readonly body: Doc;
  /** Where reads and writes go: the store, or the session's open transaction. */
  readonly target: DocTarget;
  readonly txn: Txn | undefined;
  readonly connectionId: number;
}

/** A command implementation; the reply gets `ok`, `operationTime` and `$clusterTime` added by the server. */
export type Handler = (ctx: CommandContext) => Doc | Promise<Doc>;
