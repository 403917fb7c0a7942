/**
 * What the MongoDB tests share: a fake MongoDB server (tests/fakes/mongo) with a driver
 * client that reads values exactly as stored, and a source spec for it. The fake and the
 * driver are loaded when a rig is started, so importing the support module stays light.
 */
import type { MongoClient } from "mongodb";
import type { FakeMongo, FakeMongoOptions } from "../fakes/mongo/index.js";
import type { MongoSourceSpec } from "../../src/connectors/mongodb/index.js";
import { createDb, type TestDb } from "./postgres.js";

/** A fake server and a connected admin client (exact BSON values). */
export interface MongoRig {
  fake: FakeMongo;
  admin: MongoClient;
  /** The source spec of `collections` on this fake, with test-friendly batch sizes and waits. */
  spec(collections: string[], extra?: Partial<MongoSourceSpec>): MongoSourceSpec;
  /** The `aggregate` commands carrying `$changeStream` the fake received, oldest first, as relaxed Extended JSON. */
  changeStreamOpens(): Array<{ db: string; aggregate: unknown; stage: Record<string, unknown>; pipeline: unknown[] }>;
  stop(): Promise<void>;
}

/** Starts a fake replica set (unless `opts` says otherwise) and connects an admin client. */
export async function mongoRig(opts: FakeMongoOptions = {}): Promise<MongoRig> {
  const { FakeMongo } = await import("../fakes/mongo/index.js");
  const { MongoClient, BSON } = await import("mongodb");
  const { EJSON } = BSON;
  const fake = await FakeMongo.start(opts);
  const admin = new MongoClient(fake.url, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true });
  await admin.connect();
  return {
    fake,
    admin,
    spec: (collections, extra = {}) => ({
      type: "mongodb", url: fake.url, collections, snapshot: "initial", fullDocument: "updateLookup", preImages: "off",
      compat: "mongodb", snapshotBatchSize: 50, batchSize: 100, maxAwaitTime: 100, ...extra,
    }),
    changeStreamOpens: () =>
      fake.commandLog
        .filter((c) => c.name === "aggregate" && Array.isArray(c.body.pipeline) && (c.body.pipeline as Array<Record<string, unknown>>)[0]?.$changeStream !== undefined)
        .map((c) => {
          // plain JSON values (the log keeps exact BSON types: Int32 1 would not equal 1)
          const body = EJSON.serialize(c.body, { relaxed: true }) as { aggregate: unknown; pipeline: Array<Record<string, unknown>> };
          const pipeline = body.pipeline;
          return { db: c.db, aggregate: body.aggregate, stage: pipeline[0]!.$changeStream as Record<string, unknown>, pipeline: pipeline.slice(1) };
        }),
    async stop() {
      await admin.close();
      await fake.stop();
    },
  };
}

/** A fake replica set, a driver client with its default (promoted) values, and a PostgreSQL target database: the end-to-end tests' rig. */
export interface MongoPgRig {
  fake: FakeMongo;
  client: MongoClient;
  dst: TestDb;
  stop(): Promise<void>;
}

/** Starts the end-to-end rig; `dbPrefix` names the target database (createDb makes it unique). */
export async function mongoPgRig(dbPrefix: string): Promise<MongoPgRig> {
  const { FakeMongo } = await import("../fakes/mongo/index.js");
  const { MongoClient } = await import("mongodb");
  const fake = await FakeMongo.start();
  const client = new MongoClient(fake.url, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  const dst = await createDb(dbPrefix);
  return {
    fake,
    client,
    dst,
    async stop() {
      await client.close();
      await fake.stop();
      await dst.drop();
    },
  };
}
