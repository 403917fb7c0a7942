/**
 * The way Tributary's crash tests use the fake: a separate node process talks to it with the
 * real driver and is killed with SIGKILL while the fake keeps running in the test process.
 * Its open transaction is discarded, its committed writes and change events stay, and a new
 * reader resumes from the token the killed one had reached.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { type Document, type ResumeToken } from "mongodb";
import { afterEach, expect, test } from "vitest";
import { eventually } from "../../support/index.js";
import { startFake, take, type FakeSetup, type Row } from "./fixtures.js";

let setup: FakeSetup | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await setup?.close();
  setup = child = undefined;
});

// Commits two inserts, reads them from a change stream, prints its resume token, then leaves a
// transaction open with one more insert and waits to be killed.
const SCRIPT = `
import { MongoClient } from "mongodb";
const client = await new MongoClient(process.env.FAKE_URL).connect();
const coll = client.db("crash").collection("c");
const cs = coll.watch([], { maxAwaitTimeMS: 50 });
await cs.tryNext();
await coll.insertMany([{ _id: 1 }, { _id: 2 }]);
await cs.next();
await cs.next();
const session = client.startSession();
session.startTransaction();
await coll.insertOne({ _id: "uncommitted" }, { session });
console.log(JSON.stringify({ token: cs.resumeToken }));
setInterval(() => {}, 1000);
`;

test("kill -9 of a client process: open transaction discarded, committed data and history kept", async () => {
  setup = await startFake();
  const proc = spawn(process.execPath, ["--input-type=module", "-e", SCRIPT], {
    cwd: process.cwd(),
    env: { ...process.env, FAKE_URL: setup.fake.url },
    stdio: ["ignore", "pipe", "inherit"],
  });
  child = proc;
  const [line] = (await once(proc.stdout!, "data")) as [Buffer];
  const { token } = JSON.parse(line.toString()) as { token: ResumeToken };
  expect(setup.fake.stats.openTransactions).toBe(1);

  proc.kill("SIGKILL");
  await once(proc, "exit");
  await eventually(() => setup?.fake.stats.openTransactions === 0, 10_000, "the killed client's transaction to be discarded");

  const coll = setup.client.db("crash").collection<Row>("c");
  expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1 }, { _id: 2 }]);
  await coll.insertOne({ _id: 3 });
  const resumed = coll.watch([], { maxAwaitTimeMS: 50, resumeAfter: token });
  const [next] = (await take(resumed, 1)) as Document[];
  expect(next?.documentKey).toEqual({ _id: 3 });
  await resumed.close();
});
