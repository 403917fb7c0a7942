/**
 * Test fixtures for the fake MongoDB server's own tests: start a fake plus real driver
 * clients and tear all of them down afterwards, and read a change stream until N events.
 */
import { MongoClient, type ChangeStream, type ChangeStreamDocument, type Document, type MongoClientOptions, type ObjectId } from "mongodb";
import { FakeMongo, type FakeMongoOptions } from "./index.js";

/** A document with an `_id` of any of the types the tests use (the driver's default typing allows only ObjectId). */
export type Row = { _id?: number | string | ObjectId | { [k: string]: unknown } } & Document;

/** A running fake and the clients opened against it. */
export interface FakeSetup {
  fake: FakeMongo;
  /** The first client (connected). */
  client: MongoClient;
  /** Opens and connects another client; closed by `close()`. */
  connect(url?: string, options?: MongoClientOptions): Promise<MongoClient>;
  /** Closes every client, then stops the fake. */
  close(): Promise<void>;
}

/** Starts a fake and connects one client to it. */
export async function startFake(options: FakeMongoOptions = {}, clientOptions: MongoClientOptions = {}): Promise<FakeSetup> {
  const fake = await FakeMongo.start(options);
  const clients: MongoClient[] = [];
  const connect = async (url = fake.url, opts: MongoClientOptions = clientOptions): Promise<MongoClient> => {
    const c = new MongoClient(url, { serverSelectionTimeoutMS: 5_000, ...opts });
    clients.push(c);
    await c.connect();
    return c;
  };
  const client = await connect();
  return {
    fake,
    client,
    connect,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await fake.stop();
    },
  };
}

/** Reads exactly `n` events from a change stream (waiting for them). */
export async function take<T extends Document>(cs: ChangeStream<T>, n: number): Promise<ChangeStreamDocument<T>[]> {
  const out: ChangeStreamDocument<T>[] = [];
  while (out.length < n) out.push(await cs.next());
  return out;
}

/** The `$changeStream` stage options of every change-stream aggregate the fake received, in order. */
export function changeStreamOpens(fake: FakeMongo): Document[] {
  return fake.commandLog
    .filter((c) => c.name === "aggregate")
    .map((c) => (c.body.pipeline as Document[] | undefined)?.[0]?.$changeStream as Document | undefined)
    .filter((o): o is Document => o !== undefined);
}
