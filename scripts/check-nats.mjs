// Fails (exit 1) unless the NATS server at argv[2] answers and has JetStream enabled.
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
const url = process.argv[2] ?? "nats://127.0.0.1:4222";
try {
  const nc = await connect({ servers: url, timeout: 3000 });
  const jsm = await jetstreamManager(nc);
  const info = await jsm.getAccountInfo();
  console.log(`[setup] NATS ${nc.info?.version} at ${url}: JetStream ok (streams=${info.streams}, storage=${info.storage} B)`);
  await nc.close();
} catch (err) {
  console.error(`[setup] NATS JetStream check failed at ${url}: ${err?.message ?? err}`);
  process.exit(1);
}
