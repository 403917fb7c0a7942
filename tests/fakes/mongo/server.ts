/**
 * The fake MongoDB server: a TCP listener speaking the wire protocol to the real `mongodb`
 * driver, one command at a time per connection (the driver never pipelines on a connection),
 * with the fault-injection and inspection API tests use (failNext, truncateHistory,
 * dropCollection, closeAllConnections, commandLog, stats).
 */
import { createServer, type Server, type Socket } from "node:net";
import { Binary, Long } from "mongodb";
import type { Doc } from "./bson-values.js";
import { ChangeLog } from "./change-log.js";
import { commandName, CommandRunner, isHello, type ConnectionState } from "./commands.js";
import type { ServerCore } from "./context.js";
import { CursorRegistry } from "./cursors.js";
import { dropCollection } from "./admin-commands.js";
import { CODES, CommandError } from "./errors.js";
import { ScramServer, type FakeUser } from "./scram.js";
import { parseNs, Store } from "./store.js";
import { TxnManager } from "./transactions.js";
import { decodeRequest, encodeReply, FLAG_MORE_TO_COME, FrameReader } from "./wire.js";

/** Options of {@link FakeMongo.start}. */
export interface FakeMongoOptions {
  /** Replica-set mode (true = set "rs0", or the set name); false = standalone mongod. @default true */
  replicaSet?: boolean | string;
  /** TCP port. @default 0 (any free port) */
  port?: number;
  /** Users for SCRAM-SHA-256; without users, no authentication is required. */
  users?: readonly FakeUser[];
  /** Number of commands kept in {@link FakeMongo.commandLog} (oldest dropped first). @default 10000 */
  commandLogLimit?: number;
}

/** An error reply to inject with {@link FakeMongo.failNext}. */
export interface Fault {
  code: number;
  codeName?: string;
  errorLabels?: string[];
  errmsg?: string;
}

/**
 * What {@link FakeMongo.failNext} injects: an error reply, "close" (the connection is closed
 * before the command runs) or "executeThenClose" (the command runs, its reply is lost).
 */
export type FaultSpec = Fault | "close" | "executeThenClose";

/** One received command (hello/isMaster heartbeats are not recorded). */
export interface LoggedCommand {
  name: string;
  db: string;
  body: Doc;
  connectionId: number;
}

/** Counters for assertions and benchmarks. */
export interface FakeMongoStats {
  connectionsOpen: number;
  connectionsTotal: number;
  commands: number;
  /** Sequence number of the newest change-log entry. */
  changeEvents: number;
  openCursors: number;
  openTransactions: number;
}

interface Connection extends ConnectionState {
  socket: Socket;
  reader: FrameReader;
  queue: Promise<void>;
}

const ZERO_HASH = new Binary(Buffer.alloc(20));

/** An in-process fake MongoDB server (see README.md for what it does and does not model). */
export class FakeMongo {
  private readonly core: ServerCore;
  private readonly runner: CommandRunner;
  private readonly connections = new Set<Connection>();
  private readonly faults: Array<{ command: string; fault: FaultSpec; remaining: number }> = [];
  private readonly log: LoggedCommand[] = [];
  private connectionsTotal = 0;
  private commands = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: FakeMongoOptions,
  ) {
    const rs = options.replicaSet ?? true;
    const store = new Store();
    const log = new ChangeLog();
    this.core = {
      store,
      log,
      cursors: new CursorRegistry(),
      txns: new TxnManager(store, log),
      replicaSet: rs === false ? undefined : rs === true ? "rs0" : rs,
      address: `127.0.0.1:${port}`,
    };
    this.runner = new CommandRunner(this.core, options.users ? new ScramServer(options.users) : undefined);
    server.on("connection", (socket) => this.accept(socket));
  }

  /** Starts a server on 127.0.0.1 and resolves once it listens. */
  static async start(options: FakeMongoOptions = {}): Promise<FakeMongo> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("FakeMongo: server has no TCP address");
    return new FakeMongo(server, addr.port, options);
  }

  /** Connection string for the driver: `?replicaSet=…` in replica-set mode, `?directConnection=true` standalone. */
  get url(): string {
    return this.urlFor();
  }

  /** Connection string with credentials (user and password are URL-encoded). */
  urlFor(credentials?: { user: string; password: string }): string {
    const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : "";
    const query = this.core.replicaSet !== undefined ? `replicaSet=${this.core.replicaSet}` : "directConnection=true";
    return `mongodb://${auth}${this.core.address}/?${query}`;
  }

  /** Commands received so far, oldest first (heartbeats excluded). */
  get commandLog(): readonly LoggedCommand[] {
    return this.log;
  }

  /** Forgets the recorded commands. */
  clearCommandLog(): void {
    this.log.length = 0;
  }

  /** Counters (connections, commands, change-log size, cursors, transactions). */
  get stats(): FakeMongoStats {
    return {
      connectionsOpen: this.connections.size,
      connectionsTotal: this.connectionsTotal,
      commands: this.commands,
      changeEvents: this.core.log.lastSeq,
      openCursors: this.core.cursors.size,
      openTransactions: this.core.txns.openCount,
    };
  }

  /**
   * Makes the next `times` commands named `command` (e.g. "getMore", "insert") fail: with an
   * error reply built from `fault` (command not run), by closing the connection before running
   * it ("close"), or by running it and closing the connection instead of replying
   * ("executeThenClose", to test that a retried write is not applied twice).
   */
  failNext(command: string, fault: FaultSpec, times = 1): void {
    this.faults.push({ command: command.toLowerCase(), fault, remaining: times });
  }

  /** Raises the history floor to the current end: every older resume point now fails with 286. */
  truncateHistory(): void {
    this.core.log.truncate();
  }

  /** Drops a collection server-side (`"db.coll"`), emitting drop (and invalidate) events. */
  dropCollection(ns: string): boolean {
    const parsed = parseNs(ns);
    if (!parsed) throw new Error(`FakeMongo.dropCollection: '${ns}' is not a "db.collection" namespace`);
    return dropCollection(this.core.store, this.core.log, parsed);
  }

  /** Closes every client connection (the server keeps listening); their open transactions are discarded. */
  closeAllConnections(): void {
    for (const c of this.connections) {
      c.socket.destroy();
      // Right away rather than on the async 'close' event, so a test sees it deterministically.
      this.core.txns.connectionClosed(c.id);
    }
  }

  /** Stops listening, closes all connections and wakes every waiting getMore. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.closeAllConnections();
    this.core.cursors.clear();
    this.core.log.wake();
    await closed;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const conn: Connection = {
      id: ++this.connectionsTotal,
      socket,
      reader: new FrameReader(),
      queue: Promise.resolve(),
      authenticated: this.options.users === undefined,
      skipEmptyExchange: false,
    };
    this.connections.add(conn);
    socket.on("data", (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = conn.reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) conn.queue = conn.queue.then(() => this.handle(conn, frame));
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.connections.delete(conn);
      this.core.txns.connectionClosed(conn.id);
    });
  }

  private takeFault(name: string): FaultSpec | undefined {
    const i = this.faults.findIndex((f) => f.command === name.toLowerCase() && f.remaining > 0);
    if (i < 0) return undefined;
    const f = this.faults[i] as (typeof this.faults)[number];
    f.remaining -= 1;
    if (f.remaining === 0) this.faults.splice(i, 1);
    return f.fault;
  }

  private async handle(conn: Connection, frame: Buffer): Promise<void> {
    if (conn.socket.destroyed) return;
    let req;
    try {
      req = decodeRequest(frame);
    } catch {
      conn.socket.destroy();
      return;
    }
    const name = commandName(req.body);
    this.commands += 1;
    if (!isHello(name)) {
      this.log.push({ name, db: req.db, body: req.body, connectionId: conn.id });
      if (this.log.length > (this.options.commandLogLimit ?? 10_000)) this.log.shift();
    }
    const fault = this.takeFault(name);
    if (fault === "close") {
      conn.socket.destroy();
      return;
    }
    let reply: Doc;
    try {
      if (fault && fault !== "executeThenClose") throw new CommandError(fault.code, fault.codeName ?? codeNameOf(fault.code), fault.errmsg ?? "fault injected by FakeMongo", fault.errorLabels);
      reply = await this.runner.run(conn, req.db, req.body);
    } catch (err) {
      reply = err instanceof CommandError ? err.toReply() : { ok: 0, code: 1, codeName: "InternalError", errmsg: String(err) };
    }
    if (this.core.replicaSet !== undefined) {
      const now = this.core.log.clock.now();
      reply.operationTime ??= now;
      reply.$clusterTime = { clusterTime: now, signature: { hash: ZERO_HASH, keyId: Long.ZERO } };
    }
    if (fault === "executeThenClose") conn.socket.destroy();
    if (req.flags & FLAG_MORE_TO_COME || conn.socket.destroyed) return;
    let bytes: Buffer;
    try {
      bytes = encodeReply(req, reply);
    } catch (err) {
      bytes = encodeReply(req, { ok: 0, code: 1, codeName: "InternalError", errmsg: `reply not serializable: ${String(err)}` });
    }
    conn.socket.write(bytes);
  }
}

function codeNameOf(code: number): string {
  return Object.entries(CODES).find(([, c]) => c === code)?.[0] ?? `Location${code}`;
}
