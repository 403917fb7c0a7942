/**
 * Command dispatch of the fake MongoDB server: hello and SASL authentication, the
 * authentication gate, transaction routing (lsid + txnNumber + autocommit:false statements run
 * in the session's transaction, commitTransaction / abortTransaction), retryable-write replay,
 * and the data/admin handler tables. Standalone mode refuses transaction numbers like mongod.
 */
import { bsonType, isPlainDoc, type Doc } from "./bson-values.js";
import { ADMIN_COMMANDS } from "./admin-commands.js";
import type { CommandContext, Handler, ServerCore } from "./context.js";
import { DATA_COMMANDS } from "./data-commands.js";
import { fail } from "./errors.js";
import { helloReply } from "./hello.js";
import { wantsSkipEmptyExchange, type ScramConversation, type ScramServer } from "./scram.js";
import { CommittedTarget, type DocTarget } from "./targets.js";
import type { Txn } from "./transactions.js";
import type { Long } from "mongodb";

/** Per-connection state the dispatcher reads and updates. */
export interface ConnectionState {
  readonly id: number;
  authenticated: boolean;
  scram?: ScramConversation;
  skipEmptyExchange: boolean;
}

const HANDLERS: Record<string, Handler> = { ...DATA_COMMANDS, ...ADMIN_COMMANDS };
const HELLO_NAMES = new Set(["hello", "ismaster"]);
/** Commands mongod runs without authentication. */
const NO_AUTH = new Set(["hello", "isMaster", "ismaster", "saslStart", "saslContinue", "ping", "buildInfo", "buildinfo", "endSessions"]);
const RETRYABLE_WRITES = new Set(["insert", "update", "delete", "findAndModify", "findandmodify"]);

/** The name of a command (its first field). */
export function commandName(body: Doc): string {
  return Object.keys(body)[0] ?? "";
}

/** True for hello/isMaster, whose traffic is monitoring noise in the command log. */
export function isHello(name: string): boolean {
  return HELLO_NAMES.has(name.toLowerCase());
}

/** Runs commands against one server's core. */
export class CommandRunner {
  private readonly committed: DocTarget;

  constructor(
    private readonly core: ServerCore,
    private readonly scram: ScramServer | undefined,
  ) {
    this.committed = new CommittedTarget(core.store, core.log);
  }

  /** Executes one command; throws CommandError for error replies. */
  async run(conn: ConnectionState, db: string, body: Doc): Promise<Doc> {
    const name = commandName(body);
    if (isHello(name)) return this.hello(conn, body);
    if (name === "saslStart") return this.saslStart(conn, db, body);
    if (name === "saslContinue") {
      if (!this.scram) throw fail("BadValue", "No SASL session state found");
      const r = this.scram.continue(conn.scram, body, conn.skipEmptyExchange);
      if (r.authenticated) conn.authenticated = true;
      return r.reply;
    }
    if (this.scram && !conn.authenticated && !NO_AUTH.has(name)) throw fail("Unauthorized", `Command ${name} requires authentication`);
    if (name === "commitTransaction" || name === "abortTransaction") return this.endTransaction(name, body);
    const handler = HANDLERS[name];
    if (!handler) throw fail("CommandNotFound", `no such command: '${name}'`);
    if (body.txnNumber === undefined) return handler(this.context(conn, db, body, undefined));
    const { lsid, txnNumber } = this.sessionFields(body);
    if (body.autocommit === false) {
      const txn = body.startTransaction === true ? this.core.txns.begin(lsid, txnNumber, conn.id) : this.core.txns.current(lsid, txnNumber, conn.id);
      return handler(this.context(conn, db, body, txn));
    }
    if (!RETRYABLE_WRITES.has(name)) return handler(this.context(conn, db, body, undefined));
    // A retried write (same lsid and txnNumber) must not run twice: replay the first reply.
    const replay = this.core.txns.retriedReply(lsid, txnNumber);
    if (replay) return replay;
    const reply = await handler(this.context(conn, db, body, undefined));
    this.core.txns.rememberReply(lsid, txnNumber, reply);
    return reply;
  }

  private context(conn: ConnectionState, db: string, body: Doc, txn: Txn | undefined): CommandContext {
    return { core: this.core, db, body, target: txn ?? this.committed, txn, connectionId: conn.id };
  }

  private sessionFields(body: Doc): { lsid: Doc; txnNumber: Long } {
    if (this.core.replicaSet === undefined) {
      throw fail("IllegalOperation", "Transaction numbers are only allowed on a replica set member or mongos");
    }
    if (!isPlainDoc(body.lsid)) throw fail("InvalidOptions", "Transaction numbers are only allowed in a session");
    if (bsonType(body.txnNumber) !== "Long") throw fail("TypeMismatch", "BSON field 'txnNumber' is the wrong type, expected type long");
    return { lsid: body.lsid, txnNumber: body.txnNumber as Long };
  }

  private endTransaction(name: string, body: Doc): Doc {
    const { lsid, txnNumber } = this.sessionFields(body);
    if (name === "commitTransaction") this.core.txns.commit(lsid, txnNumber);
    else this.core.txns.abort(lsid, txnNumber);
    return { ok: 1 };
  }

  private hello(conn: ConnectionState, body: Doc): Doc {
    const reply = helloReply({
      replicaSet: this.core.replicaSet,
      address: this.core.address,
      connectionId: conn.id,
      lastWrite: this.core.log.clock.now(),
    });
    if (!this.scram) return reply;
    if (typeof body.saslSupportedMechs === "string" && this.scram.hasUser(body.saslSupportedMechs)) {
      reply.saslSupportedMechs = ["SCRAM-SHA-256"];
    }
    const spec = body.speculativeAuthenticate;
    if (isPlainDoc(spec)) {
      try {
        const { conversation, reply: step } = this.scram.start(typeof spec.db === "string" ? spec.db : "admin", spec);
        conn.scram = conversation;
        conn.skipEmptyExchange = wantsSkipEmptyExchange(spec);
        reply.speculativeAuthenticate = { conversationId: step.conversationId, done: step.done, payload: step.payload };
      } catch {
        // mongod leaves the field out when speculative authentication cannot start; the driver
        // then runs saslStart, which reports the failure.
      }
    }
    return reply;
  }

  private saslStart(conn: ConnectionState, db: string, body: Doc): Doc {
    if (!this.scram) throw fail("AuthenticationFailed", "Authentication failed.");
    const { conversation, reply } = this.scram.start(db, body);
    conn.scram = conversation;
    conn.skipEmptyExchange = wantsSkipEmptyExchange(body);
    return reply;
  }
}
