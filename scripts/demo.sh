#!/usr/bin/env bash
# The demo of the main job: a source database with rows, a node that snapshots and streams
# them through JetStream and a JSONata transformer into a target database, live changes,
# and the target shown side by side. Re-runnable: it starts from fresh databases.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGHOST=127.0.0.1 PGUSER=postgres
PORT=${ADMIN_PORT:-8088}
psql -qc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'tributary_shop' AND NOT active" >/dev/null
for db in tributary_demo_src tributary_demo_dst; do psql -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; psql -qc "CREATE DATABASE $db"; done
node -e 'import("@nats-io/transport-node").then(async ({connect}) => { const {jetstreamManager} = await import("@nats-io/jetstream"); const nc = await connect({servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222"}); const jsm = await jetstreamManager(nc); for (const s of ["demo_CDC_shop","demo_XF_shop_masked","demo_KV_demo_positions","demo_KV_demo_leases","demo_KV_demo_streams"]) await jsm.streams.delete(s).catch(() => {}); for (const b of ["KV_demo_positions","KV_demo_leases","KV_demo_streams"]) await jsm.streams.delete(b).catch(() => {}); await nc.close(); })'
psql -q -d tributary_demo_src <<'SQL'
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text, tags text[], created timestamptz DEFAULT now());
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers, amount numeric(12,2), meta jsonb);
INSERT INTO customers (id, name, email, tags) SELECT g, 'customer ' || g, 'c' || g || '@example.com', ARRAY['vip', 'n' || g] FROM generate_series(1, 100) g;
INSERT INTO orders (customer_id, amount, meta) SELECT 1 + g % 100, g * 1.25, jsonb_build_object('n', g) FROM generate_series(1, 500) g;
SQL
echo "== source has $(psql -Atd tributary_demo_src -c 'select count(*) from customers') customers and $(psql -Atd tributary_demo_src -c 'select count(*) from orders') orders"
echo "== declare the streams (tributary apply; a node start would only create what the cluster never had)"
node dist/src/cli/main.js apply -f examples/demo.yaml
node dist/src/cli/main.js node --config examples/demo.yaml --no-apply > /tmp/tributary-demo.log 2>&1 &
NODE_PID=$!
trap 'kill -TERM $NODE_PID 2>/dev/null; wait $NODE_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
echo "== node ready: http://127.0.0.1:$PORT  (log: /tmp/tributary-demo.log)"
psql -q -d tributary_demo_src <<'SQL'
UPDATE customers SET name = name || ' (updated)' WHERE id <= 10;
DELETE FROM orders WHERE id <= 50;
INSERT INTO customers (id, name, email) VALUES (1000, 'Zoë 🚀', 'zoe@example.com');
INSERT INTO orders (customer_id, amount, meta) VALUES (1000, 99999999.99, '{"big": 12345678901234567890}');
SQL
want=$(psql -Atd tributary_demo_src -c 'select count(*) from orders')
for _ in $(seq 1 60); do
  got=$(psql -Atd tributary_demo_dst -c 'select count(*) from masked.orders' 2>/dev/null || echo 0)
  [[ $got == "$want" ]] && break; sleep 0.5
done
echo "== target (raw.customers, newest 3):"
psql -d tributary_demo_dst -c 'select id, name, email, tags from raw.customers order by id desc limit 3'
echo "== target (masked.customers, newest 3: e-mail masked by the JSONata transformer):"
psql -d tributary_demo_dst -c 'select id, name, email from masked.customers order by id desc limit 3'
echo "== orders: source $(psql -Atd tributary_demo_src -c 'select count(*) from orders'), raw target $(psql -Atd tributary_demo_dst -c 'select count(*) from raw.orders'), masked target $(psql -Atd tributary_demo_dst -c 'select count(*) from masked.orders')"
psql -d tributary_demo_dst -c "select id, amount, meta from raw.orders where customer_id = 1000"
# a sink's position reaches the positions bucket (and /v1/actors) within about one checkpoint
# interval of its last applied batch: wait for it to settle instead of printing a stale one
sinks_at() { curl -s "http://127.0.0.1:$PORT/v1/actors" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).actors.filter(a=>a.id.startsWith("sink.")).map(a=>a.position?.seq??0).join(",")))'; }
prev=""
for _ in $(seq 1 40); do
  now=$(sinks_at); [[ -n $now && $now == "$prev" && ! ,$now, =~ ,0, ]] && break; prev=$now; sleep 0.5
done
echo "== actors on the node:"
curl -s "http://127.0.0.1:$PORT/v1/actors" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const a of JSON.parse(s).actors)console.log(a.id.padEnd(28), JSON.stringify(a.state).padEnd(50), "epoch", a.epoch, "position", JSON.stringify(a.position))})'
if [[ ${DEMO_KEEP_RUNNING:-0} == 1 ]]; then echo "node keeps running (Ctrl-C to stop)"; wait $NODE_PID; fi
