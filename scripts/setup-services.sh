#!/usr/bin/env bash
# Configures the machine's local services for Tributary's tests and demo, idempotently:
#  - PostgreSQL: wal_level=logical, max_replication_slots/max_wal_senders >= 200 (restart only if changed)
#  - MariaDB: binlog in ROW format with full row images and a server id (restart only if changed)
#  - NATS: make sure a JetStream-enabled nats-server answers on 127.0.0.1:4222
# Safe to run any number of times; a fresh machine of the node-svc kind needs exactly this.
set -euo pipefail
log() { printf '[setup] %s\n' "$*"; }
here=$(cd "$(dirname "$0")" && pwd)

# ---------- PostgreSQL ----------
PGHOST=${PGHOST:-127.0.0.1}; PGUSER=${PGUSER:-postgres}; export PGHOST PGUSER
pg_start() {
  local ver; ver=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main "$1" >/dev/null 2>&1 || pg_ctlcluster "$ver" main "$1"
}
pg_wait() { for _ in $(seq 1 60); do psql -Atqc 'select 1' >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "PostgreSQL does not answer on $PGHOST" >&2; return 1; }
if ! psql -Atqc 'select 1' >/dev/null 2>&1; then log "starting PostgreSQL"; pg_start start || true; fi
pg_wait
want_restart=0
setting() { psql -Atqc "show $1"; }
if [[ $(setting wal_level) != logical ]]; then psql -qc "alter system set wal_level = logical"; want_restart=1; fi
for s in max_replication_slots max_wal_senders; do
  if (( $(setting $s) < 200 )); then psql -qc "alter system set $s = 256"; want_restart=1; fi
done
if (( $(setting max_connections) < 300 )); then psql -qc "alter system set max_connections = 400"; want_restart=1; fi
if (( want_restart )); then log "restarting PostgreSQL to apply replication settings"; pg_start restart; pg_wait; fi
log "PostgreSQL: wal_level=$(setting wal_level) max_replication_slots=$(setting max_replication_slots) max_wal_senders=$(setting max_wal_senders)"

# ---------- MariaDB ----------
my() { mariadb -h 127.0.0.1 -uroot -N -B -e "$1"; }
my_wait() { for _ in $(seq 1 60); do my 'select 1' >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "MariaDB does not answer on 127.0.0.1:3306" >&2; return 1; }
if command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]]; then
  if ! my 'select 1' >/dev/null 2>&1; then log "starting MariaDB"; start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd; fi
  my_wait
  cnf=/etc/mysql/tributary.cnf
  main_cnf=/etc/mysql/my.cnf
  grep -qxF "!include $cnf" "$main_cnf" 2>/dev/null || printf '\n!include %s\n' "$cnf" >> "$main_cnf"
  desired=$'[mariadbd]\nlog_bin = mariadb-bin\nbinlog_format = ROW\nbinlog_row_image = FULL\nbinlog_row_metadata = FULL\nserver_id = 1\nexpire_logs_days = 2\nmax_connections = 500\n'
  if [[ ! -f $cnf ]] || [[ "$(cat "$cnf")"$'\n' != "$desired" ]]; then printf '%s' "$desired" > "$cnf"; fi
  if [[ $(my 'select @@log_bin') != 1 || $(my 'select @@binlog_format') != ROW || $(my 'select @@binlog_row_metadata') != FULL ]]; then
    log "restarting MariaDB to enable the ROW binlog"
    mariadb-admin -h 127.0.0.1 -uroot shutdown || true
    for _ in $(seq 1 60); do pgrep -x mariadbd >/dev/null || break; sleep 0.5; done
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    my_wait
  fi
  log "MariaDB: log_bin=$(my 'select @@log_bin') binlog_format=$(my 'select @@binlog_format') server_id=$(my 'select @@server_id')"
fi

# ---------- NATS ----------
if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
  log "starting nats-server with JetStream on 127.0.0.1:4222"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  for _ in $(seq 1 40); do (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && break; sleep 0.25; done
fi
if [[ -d "$here/../node_modules/@nats-io/transport-node" ]]; then
  node "$here/check-nats.mjs" "${NATS_URL:-nats://127.0.0.1:4222}"
else
  log "node_modules missing; skipping the JetStream check (run npm ci first)"
fi
log "services ready"
