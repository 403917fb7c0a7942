#!/usr/bin/env bash
# Runs a 3-node NATS JetStream cluster on loopback from nats/cluster/n{1,2,3}.conf.
#
#   scripts/nats-cluster.sh start [N]     start all nodes (or node N); nodes already listening are
#                                         left alone; waits until they answer and JetStream has a
#                                         meta leader (at most TRIBUTARY_NATS_WAIT s, default 30)
#   scripts/nats-cluster.sh stop [N]      SIGTERM (then SIGKILL after 15 s) the nodes this script started
#   scripts/nats-cluster.sh status        one line per node, then the meta leader; exit 1 unless all 3 are healthy
#   scripts/nats-cluster.sh kill N        kill -9 node N (crash test)
#   scripts/nats-cluster.sh restart N     stop node N if it runs, start it, wait until it rejoined
#   scripts/nats-cluster.sh wait          wait until all 3 answer and a meta leader is known
#   scripts/nats-cluster.sh urls          print the client URLs, comma-separated (for NATS_URL / nats.servers)
#   scripts/nats-cluster.sh clean         stop, then delete the JetStream store directories and logs
#
# Files: /tmp/tributary-nats/nN.pid (pid), nN.log (server log), nN/ (JetStream store).
# (The store directories are fixed in the .conf files; the pid and log files sit beside them.)
# Environment: NATS_SERVER (binary; default: nats-server on PATH, else /usr/sbin/nats-server),
#              TRIBUTARY_NATS_WAIT (seconds to wait for readiness, default 30).
# Works with nats-server 2.9.10 and newer. Needs bash, ps, and curl or node (for the monitoring endpoints).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
conf_dir="$repo/nats/cluster"
base=/tmp/tributary-nats
wait_s=${TRIBUTARY_NATS_WAIT:-30}
nodes=(1 2 3)

log() { printf '[nats-cluster] %s\n' "$*"; }
die() { printf '[nats-cluster] error: %s\n' "$*" >&2; exit 1; }

nats_server=${NATS_SERVER:-}
if [[ -z $nats_server ]]; then
  nats_server=$(command -v nats-server 2>/dev/null || true)
  [[ -n $nats_server ]] || nats_server=/usr/sbin/nats-server
fi

# ---------- per-node facts, read from the config file so the two cannot drift ----------
conf_of() { echo "$conf_dir/n$1.conf"; }
conf_value() { # FILE KEY -> value of a top-level "KEY: value" line
  sed -n "s/^$2:[[:space:]]*\"\{0,1\}\([^\"[:space:]]*\)\"\{0,1\}[[:space:]]*\$/\1/p" "$1" | head -1
}
client_addr() { conf_value "$(conf_of "$1")" listen; }   # 127.0.0.1:14222
mon_addr() { conf_value "$(conf_of "$1")" http; }        # 127.0.0.1:18222
pid_file() { echo "$base/n$1.pid"; }
log_file() { echo "$base/n$1.log"; }

check_node_arg() {
  [[ ${1:-} =~ ^[123]$ ]] || die "node number must be 1, 2 or 3 (got '${1:-}')"
}

# ---------- probes ----------
port_open() { # HOST:PORT
  local host=${1%:*} port=${1##*:}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

if command -v curl >/dev/null 2>&1; then
  http_get() { curl -fsS --max-time 2 "$1" 2>/dev/null; }
elif command -v node >/dev/null 2>&1; then
  http_get() {
    node -e '
      fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
        .then(async (r) => { const t = await r.text(); if (!r.ok) process.exit(1); process.stdout.write(t); })
        .catch(() => process.exit(1));' "$1"
  }
else
  die "neither curl nor node is installed: one is needed to poll the monitoring endpoints"
fi

# Value of a dotted path in a JSON document on stdin (empty if absent).
if command -v jq >/dev/null 2>&1; then
  json_get() { jq -r ".$1 // empty" 2>/dev/null || true; }
elif command -v node >/dev/null 2>&1; then
  json_get() {
    node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        try { let v = JSON.parse(s); for (const k of process.argv[1].split(".")) v = v?.[k];
              if (v !== undefined && v !== null) process.stdout.write(String(v)); } catch {}
      });' "$1"
  }
else
  json_get() { # last resort for flat string fields: "key": "value"
    local key=${1##*.}
    grep -o "\"$key\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" | head -1 | sed 's/.*"\([^"]*\)"$/\1/' || true
  }
fi

# The pid recorded for node N if that process is alive and is a nats-server; empty otherwise.
live_pid() {
  local f pid comm
  f=$(pid_file "$1")
  [[ -s $f ]] || return 0
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  comm=$(ps -p "$pid" -o comm= 2>/dev/null || true)
  [[ $comm == nats-server* ]] && echo "$pid"
  return 0
}

meta_leader() { http_get "http://$(mon_addr "$1")/jsz" | json_get meta_cluster.leader; }
healthy() { http_get "http://$(mon_addr "$1")/healthz" >/dev/null; }

# Waits until every node given answers /healthz and reports a JetStream meta leader.
wait_ready() {
  local deadline=$((SECONDS + wait_s)) i leader pending
  while :; do
    pending=()
    leader=
    for i in "$@"; do
      if healthy "$i"; then
        leader=$(meta_leader "$i")
        [[ -n $leader ]] || pending+=("n$i(no meta leader)")
      else
        pending+=("n$i(not answering)")
      fi
    done
    if ((${#pending[@]} == 0)); then
      log "ready: $(printf 'n%s ' "$@")- JetStream meta leader is $leader"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${wait_s}s waiting for: ${pending[*]}"
      for i in "$@"; do
        log "last lines of $(log_file "$i"):"
        tail -n 15 "$(log_file "$i")" 2>/dev/null | sed 's/^/    /' || true
      done
      return 1
    fi
    sleep 0.25
  done
}

# ---------- actions ----------
start_node() {
  local i=$1 conf pid addr
  conf=$(conf_of "$i")
  [[ -f $conf ]] || die "missing $conf"
  addr=$(client_addr "$i")
  [[ -n $addr ]] || die "no 'listen:' line in $conf"
  pid=$(live_pid "$i")
  if port_open "$addr"; then
    log "n$i already listening on $addr${pid:+ (pid $pid)}; left alone"
    return 0
  fi
  if [[ -n $pid ]]; then
    log "n$i (pid $pid) is starting; not started twice"
    return 0
  fi
  [[ -x $nats_server ]] || die "nats-server not found (set NATS_SERVER)"
  mkdir -p "$base/n$i"
  # setsid: the server outlives this script and the caller's process group (test runners
  # kill their group on exit). -P: the server also writes its own pid to the same file.
  printf '\n=== %s start n%s ===\n' "$(date -u +%FT%TZ)" "$i" >>"$(log_file "$i")"
  setsid "$nats_server" -c "$conf" -P "$(pid_file "$i")" >>"$(log_file "$i")" 2>&1 </dev/null &
  echo $! >"$(pid_file "$i")"
  log "n$i started (pid $!, client $addr, monitoring http://$(mon_addr "$i"), log $(log_file "$i"))"
}

stop_node() {
  local i=$1 pid
  pid=$(live_pid "$i")
  if [[ -z $pid ]]; then
    rm -f "$(pid_file "$i")"
    if port_open "$(client_addr "$i")"; then
      log "n$i listens on $(client_addr "$i") but was not started by this script (no live pid in $(pid_file "$i")); left alone"
    else
      log "n$i not running"
    fi
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while [[ -n $(live_pid "$i") ]]; do
    if ((SECONDS >= deadline)); then
      log "n$i (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  rm -f "$(pid_file "$i")"
  log "n$i stopped (pid $pid)"
}

kill_node() {
  local i=$1 pid
  pid=$(live_pid "$i")
  [[ -n $pid ]] || die "n$i is not running (no live pid in $(pid_file "$i"))"
  kill -KILL "$pid"
  while [[ -n $(live_pid "$i") ]]; do sleep 0.05; done
  rm -f "$(pid_file "$i")"
  printf '=== %s kill -9 n%s (pid %s) ===\n' "$(date -u +%FT%TZ)" "$i" "$pid" >>"$(log_file "$i")"
  log "n$i killed with SIGKILL (pid $pid)"
}

status() {
  local i pid addr mon health leader up=0 leaders=()
  printf '%-4s %-8s %-17s %-17s %-8s %s\n' node pid client monitoring health meta-leader
  for i in "${nodes[@]}"; do
    pid=$(live_pid "$i")
    addr=$(client_addr "$i")
    mon=$(mon_addr "$i")
    leader=-
    if healthy "$i"; then
      health=ok
      leader=$(meta_leader "$i")
      if [[ -n $leader ]]; then up=$((up + 1)); leaders+=("$leader"); else leader=none; fi
    elif port_open "$addr"; then
      health=unready
    else
      health=down
    fi
    printf '%-4s %-8s %-17s %-17s %-8s %s\n' "n$i" "${pid:--}" "$addr" "$mon" "$health" "$leader"
  done
  local distinct
  distinct=$(printf '%s\n' "${leaders[@]+"${leaders[@]}"}" | sort -u | grep -c . || true)
  if ((up == ${#nodes[@]})) && ((distinct == 1)); then
    log "cluster healthy: ${up}/${#nodes[@]} nodes, meta leader ${leaders[0]}"
    return 0
  fi
  log "cluster degraded: ${up}/${#nodes[@]} nodes healthy with a meta leader"
  return 1
}

cmd=${1:-}
arg=${2:-}
case $cmd in
  start)
    if [[ -n $arg ]]; then
      check_node_arg "$arg"; start_node "$arg"; wait_ready "$arg"
    else
      for i in "${nodes[@]}"; do start_node "$i"; done
      wait_ready "${nodes[@]}"
    fi
    ;;
  stop)
    if [[ -n $arg ]]; then check_node_arg "$arg"; stop_node "$arg"
    else for i in "${nodes[@]}"; do stop_node "$i"; done
    fi
    ;;
  kill)
    check_node_arg "$arg"; kill_node "$arg"
    ;;
  restart)
    check_node_arg "$arg"; stop_node "$arg"; start_node "$arg"; wait_ready "$arg"
    ;;
  status)
    status
    ;;
  wait)
    wait_ready "${nodes[@]}"
    ;;
  urls)
    urls=()
    for i in "${nodes[@]}"; do urls+=("nats://$(client_addr "$i")"); done
    (IFS=,; echo "${urls[*]}")
    ;;
  clean)
    for i in "${nodes[@]}"; do stop_node "$i"; done
    for i in "${nodes[@]}"; do rm -rf "${base:?}/n$i" "$(log_file "$i")"; done
    log "removed the store directories and logs under $base"
    ;;
  *)
    sed -n '2,/^[^#]/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p'
    [[ $cmd == help || $cmd == -h || $cmd == --help ]] && exit 0
    exit 2
    ;;
esac
