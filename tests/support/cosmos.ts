/**
 * What the Cosmos DB tests share: a fake account with a database and containers (the source
 * driver and the deps every connector test uses are in source-run.ts). The fake and the SDK
 * are loaded when a rig is started, so importing the support module stays light.
 */
import type { CosmosClient } from "@azure/cosmos";
import type { FakeCosmos, FakeCosmosOptions } from "../fakes/cosmos/index.js";

/** A fake account, a key-auth admin client, and the database `db`. */
export interface CosmosRig {
  fake: FakeCosmos;
  admin: CosmosClient;
  db: string;
  /** Creates a container partitioned by `path` (default `/pk`). */
  container(name: string, path?: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a fake account (plain http unless `tls`) with database `db` (default "db"). */
export async function cosmosRig(opts: FakeCosmosOptions & { db?: string } = {}): Promise<CosmosRig> {
  const { FakeCosmos, caAgent } = await import("../fakes/cosmos/index.js");
  const { CosmosClient } = await import("@azure/cosmos");
  const fake = await FakeCosmos.start(opts);
  const admin = new CosmosClient({ endpoint: fake.endpoint, key: fake.masterKey, ...(opts.tls ? { agent: caAgent(opts.tls) } : {}) });
  const db = opts.db ?? "db";
  await admin.databases.createIfNotExists({ id: db });
  return {
    fake,
    admin,
    db,
    async container(name, path = "/pk") {
      await admin.database(db).containers.createIfNotExists({ id: name, partitionKey: { paths: [path] } });
    },
    async stop() {
      admin.dispose();
      await fake.stop();
    },
  };
}
