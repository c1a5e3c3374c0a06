#!/usr/bin/env bash
# Command 1 of the README: install what is missing, build, start a local
# cluster — 3 app nodes and the balancer on http://127.0.0.1:8080 — with the
# memory session store (no Redis), in the foreground: it prints the nodes,
# follows their logs, and stops the whole cluster on Ctrl-C or SIGTERM.
# Extra arguments go to every node, e.g. -Dbalancer.strategy=leastconn;
# MT_BASE_PORT moves the ports (balancer on it, node i on it + i).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
base=${MT_BASE_PORT:-8080}
dir=run/cluster
launcher=build/bin/microtomcat-cluster
stop() {
  trap - INT TERM EXIT
  [[ -n ${tail_pid:-} ]] && kill "$tail_pid" 2>/dev/null || true
  "$launcher" down --dir "$dir" || true
}
trap stop EXIT
trap 'exit 0' INT TERM
"$launcher" up 3 --dir "$dir" --base-port "$base" "$@"
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["adminToken"])' "$dir/cluster.json")
echo
echo "balancer: http://127.0.0.1:$base/counter/  http://127.0.0.1:$base/cart/   statistics: http://127.0.0.1:$base/cluster/balancer"
echo "admin token for this run: $token   (curl -X POST -H 'Authorization: Bearer $token' http://127.0.0.1:$base/admin/reload)"
echo "logs: $dir/<node>/server.log — following them; Ctrl-C stops the cluster"
tail -n 0 -F "$dir"/*/server.log &
tail_pid=$!
wait "$tail_pid"
