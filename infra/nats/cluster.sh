#!/bin/sh
# A 3-node NATS JetStream cluster on loopback, for tests, benchmarks and
# trying Vuoro's cluster mode by hand (see README.md).
#
#   infra/nats/cluster.sh start  [dir]   start node-1..3 (stores and logs under dir)
#   infra/nats/cluster.sh status [dir]   which nodes run, and the JetStream meta leader
#   infra/nats/cluster.sh stop   [dir]   stop them (SIGTERM, then SIGKILL after 10 s)
#
# dir defaults to ${TMPDIR:-/tmp}/vuoro-nats-cluster. Clients connect to
# nats://127.0.0.1:14221,nats://127.0.0.1:14222,nats://127.0.0.1:14223.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-status}
dir=${2:-${TMPDIR:-/tmp}/vuoro-nats-cluster}
bin=${NATS_SERVER:-/usr/sbin/nats-server}
[ -x "$bin" ] || bin=$(command -v nats-server || true)

running() { [ -f "$dir/n$1.pid" ] && kill -0 "$(cat "$dir/n$1.pid")" 2>/dev/null; }

case "$cmd" in
  start)
    [ -n "$bin" ] || { echo "nats-server not found (apt-get install nats-server, or set NATS_SERVER)" >&2; exit 1; }
    mkdir -p "$dir"
    for i in 1 2 3; do
      if running "$i"; then echo "node-$i already runs (pid $(cat "$dir/n$i.pid"))"; continue; fi
      mkdir -p "$dir/n$i"
      "$bin" -c "$here/node-$i.conf" -sd "$dir/n$i" -l "$dir/n$i.log" -P "$dir/n$i.pid" &
    done
    # Ready when every node answers /healthz with JetStream (meta leader elected, streams current).
    tries=0
    for i in 1 2 3; do
      until curl -fsS "http://127.0.0.1:1822$i/healthz?js-enabled-only=true" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || { echo "node-$i did not become healthy; see $dir/n$i.log" >&2; exit 1; }
        sleep 0.1
      done
    done
    until curl -fsS "http://127.0.0.1:18221/jsz" 2>/dev/null | grep -q '"leader"'; do
      tries=$((tries + 1))
      [ "$tries" -lt 300 ] || { echo "no JetStream meta leader; see $dir/n*.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "cluster up: nats://127.0.0.1:14221,nats://127.0.0.1:14222,nats://127.0.0.1:14223 (dir $dir)"
    ;;
  status)
    for i in 1 2 3; do
      if running "$i"; then echo "node-$i: running (pid $(cat "$dir/n$i.pid"))"; else echo "node-$i: stopped"; fi
    done
    for i in 1 2 3; do
      leader=$(curl -fsS "http://127.0.0.1:1822$i/jsz" 2>/dev/null | tr -d ' \n' | sed -n 's/.*"meta_cluster":{[^}]*"leader":"\([^"]*\)".*/\1/p')
      if [ -n "$leader" ]; then echo "meta leader: $leader"; break; fi
    done
    ;;
  stop)
    for i in 1 2 3; do
      running "$i" || continue
      pid=$(cat "$dir/n$i.pid")
      kill "$pid"
      n=0
      while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      rm -f "$dir/n$i.pid"
      echo "node-$i stopped"
    done
    ;;
  *)
    echo "usage: $0 start|status|stop [dir]" >&2
    exit 2
    ;;
esac
