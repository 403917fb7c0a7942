/**
 * Throw-away databases on the machine's real MariaDB (127.0.0.1:3306, root): unique names,
 * dropped afterwards; and MariaDB servers of a test's own for settings the shared one must keep.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { eventually } from "./eventually.js";
import { uniqueName } from "./names.js";

/** The shared server, without a database (TEST_MYSQL_URL overrides). */
export const MY_BASE = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";

/** Runs statements on a fresh connection without a database. */
export async function myAdmin(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const c = await mysql.createConnection({ uri: MY_BASE });
  try {
    const [rows] = await c.query<RowDataPacket[]>(sql, params);
    return rows;
  } finally {
    await c.end();
  }
}

/** A MariaDB database of the test's own. */
export interface MyTestDb {
  name: string;
  url: string;
  conn: Connection;
  query<R = RowDataPacket[]>(sql: string, params?: unknown[]): Promise<R>;
  drop(): Promise<void>;
}

/** Creates a database with a unique name; `conn` is a UTC session on it (dates and big numbers as strings). */
export async function createMyDb(prefix: string): Promise<MyTestDb> {
  const name = uniqueName(prefix);
  await myAdmin(`CREATE DATABASE \`${name}\` DEFAULT CHARACTER SET utf8mb4`);
  const url = `${MY_BASE}/${name}`;
  const conn = await mysql.createConnection({ uri: url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, jsonStrings: true, charset: "utf8mb4_general_ci", timezone: "Z" });
  conn.on("error", () => undefined);
  await conn.query("SET time_zone = '+00:00'");
  return {
    name,
    url,
    conn,
    query: async <R>(sql: string, params?: unknown[]) => (await conn.query(sql, params))[0] as R,
    async drop() {
      await conn.end().catch(() => undefined);
      await myAdmin(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
    },
  };
}

/** A MariaDB server of the test's own (temporary datadir, its own port), for settings the shared server must keep. */
export interface ScratchMariaDb {
  port: number;
  url: string;
  query(sql: string): Promise<RowDataPacket[]>;
  stop(): Promise<void>;
}

/**
 * Starts a throw-away MariaDB with `mariadb-install-db` + `mariadbd` (root without password,
 * 127.0.0.1 only) and extra server options, e.g. `--skip-log-bin`. Takes a few seconds.
 * @throws Error when the binaries are missing or the server does not answer.
 */
export async function startScratchMariaDb(port: number, serverArgs: string[]): Promise<ScratchMariaDb> {
  const dir = mkdtempSync(join(tmpdir(), "tributary-mariadb-"));
  await promisify(execFile)("mariadb-install-db", ["--no-defaults", `--datadir=${join(dir, "data")}`, "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root"]);
  const proc = spawn("mariadbd", ["--no-defaults", `--datadir=${join(dir, "data")}`, `--port=${port}`, "--bind-address=127.0.0.1", `--socket=${join(dir, "sock")}`, `--pid-file=${join(dir, "pid")}`, "--user=root", ...serverArgs], { stdio: "ignore" });
  const url = `mysql://root@127.0.0.1:${port}`;
  const query = async (sql: string) => {
    const c = await mysql.createConnection({ uri: url });
    try {
      return (await c.query<RowDataPacket[]>(sql))[0];
    } finally {
      await c.end();
    }
  };
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(() => query("SELECT 1"), 20_000, `the scratch MariaDB on port ${port} to answer`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, url, query, stop };
}
