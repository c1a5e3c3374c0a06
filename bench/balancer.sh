#!/usr/bin/env bash
# bench/balancer.sh — the balancer against HAProxy and nginx (both from
# Debian), same topology: wrk -> proxy -> 2 Micro Tomcat app nodes (hello app,
# "hello\n"), round robin, keep-alive to the backends. REPS interleaved runs
# per proxy, medians of requests/s, p50 and p99. Then the failover figure:
# wrk through the proxy while one app node is killed with SIGKILL; client-
# visible errors (non-2xx + socket errors) for ours and for HAProxy.
# A benchmark, not a test. Bars (issue 5): ours >= 0.5x HAProxy's requests/s,
# p99 within 2x HAProxy's; 0 client errors on failover for idempotent requests.
#
# Environment: BUILD_DIR [build]  REPS [3]  DURATION [8]  CONNS [50]  WRK_THREADS [2]
#   FAILOVER [1]  FAILOVER_CONNS [20]  RESULTS [bench/RESULTS.md] (empty: do not append)  KEEP_TMP [0]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
REPS=${REPS:-3} DURATION=${DURATION:-8} CONNS=${CONNS:-50} WRK_THREADS=${WRK_THREADS:-2}
FAILOVER=${FAILOVER:-1} FAILOVER_CONNS=${FAILOVER_CONNS:-20}
RESULTS=${RESULTS-$ROOT/bench/RESULTS.md} KEEP_TMP=${KEEP_TMP:-0}
COMMAND="BUILD_DIR=${BUILD_DIR#"$ROOT"/} REPS=$REPS DURATION=$DURATION CONNS=$CONNS WRK_THREADS=$WRK_THREADS FAILOVER=$FAILOVER bench/balancer.sh"
BENCH_NAME=balancer.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# As root, installs what is missing (apt-get); otherwise dies naming it.
for tool in wrk curl python3 haproxy nginx; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || MISSING+=("$tool")
done
install_missing
export PATH=$PATH:/usr/sbin
LAUNCHER=$BUILD_DIR/bin/microtomcat-cluster
[[ -x $LAUNCHER && -x $BUILD_DIR/bin/microtomcat ]] || die "build first: cmake -S . -B $BUILD_DIR && cmake --build $BUILD_DIR -j2"

WORK=$(mktemp -d /tmp/mt-balancer-bench.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$LAUNCHER" down --dir "$WORK/cluster" >/dev/null 2>&1 || true
  if [[ $KEEP_TMP == 1 || $rc != 0 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_base() {
  python3 - <<'PY'
import random, socket
for _ in range(50):
    base = random.randrange(30000, 50000, 100)
    try:
        for p in (base, base + 1, base + 2, base + 100, base + 101, base + 102, base + 50, base + 51):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
        print(base); break
    except OSError:
        pass
PY
}
BASE=$(free_base)
LB=$BASE; N1=$((BASE + 1)); N2=$((BASE + 2)); HAP=$((BASE + 50)); NGX=$((BASE + 51))

log "starting the cluster (lb + 2 app nodes) on base port $BASE"
"$LAUNCHER" up 2 --dir "$WORK/cluster" --base-port "$BASE" \
  -Dcontexts=counter,cart,hello -Dcontext.counter.path=/counter -Dcontext.counter.app=counter \
  -Dcontext.cart.path=/cart -Dcontext.cart.app=cart -Dcontext.hello.path=/hello -Dcontext.hello.app=hello \
  -Dlog.level=warning -Daccesslog.enabled=false >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; die "cluster did not start"; }

cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 8000
  nbthread 2
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  option redispatch
  retries 3
  http-reuse always
frontend f
  bind 127.0.0.1:$HAP
  default_backend app
backend app
  balance roundrobin
  server node1 127.0.0.1:$N1 check inter 500 fall 2 rise 2
  server node2 127.0.0.1:$N2 check inter 500 fall 2 rise 2
CFG
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<CFG
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  upstream app { server 127.0.0.1:$N1; server 127.0.0.1:$N2; keepalive 128; }
  server {
    listen 127.0.0.1:$NGX;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CFG
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' >"$WORK/nginx.log" 2>&1 &
PIDS+=($!)

declare -A URL=([ours]="http://127.0.0.1:$LB/hello/" [haproxy]="http://127.0.0.1:$HAP/hello/" [nginx]="http://127.0.0.1:$NGX/hello/")
for s in ours haproxy nginx; do
  for ((i = 0; i < 50; i++)); do curl -fsS -o /dev/null --max-time 1 "${URL[$s]}" 2>/dev/null && break; sleep 0.1; done
  body=$(curl -fsS --max-time 2 "${URL[$s]}") || die "$s does not answer ${URL[$s]}"
  [[ $body == hello* ]] || die "$s answered '$body'"
done
log "all three proxies answer; warming up"
for s in ours haproxy nginx; do wrk -t"$WRK_THREADS" -c"$CONNS" -d2s "${URL[$s]}" >/dev/null; done

# wrk output -> "rps p50ms p99ms errors"
parse() {
  python3 -c '
import re, sys
t = sys.stdin.read()
def ms(v):
    n, u = float(re.match(r"([\d.]+)", v).group(1)), re.search(r"[a-z]+$", v).group(0)
    return n * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = ms(re.search(r"\s50%\s+(\S+)", t).group(1)); p99 = ms(re.search(r"\s99%\s+(\S+)", t).group(1))
non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", t) or [0, 0])[1])
sock = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
total = int(re.search(r"(\d+) requests in", t).group(1))
print("%.0f %.3f %.3f %d %d" % (rps, p50, p99, non2xx + sock, total))'
}
declare -A RUNS
for ((r = 1; r <= REPS; r++)); do
  for s in ours haproxy nginx; do
    out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${URL[$s]}")
    line=$(parse <<<"$out")
    log "rep $r $s: $line (req/s p50ms p99ms errors requests)"
    RUNS[$s]+="$line"$'\n'
  done
done
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
declare -A RPS P50 P99
for s in ours haproxy nginx; do
  RPS[$s]=$(median $(awk '{print $1}' <<<"${RUNS[$s]}"))
  P50[$s]=$(median $(awk '{print $2}' <<<"${RUNS[$s]}"))
  P99[$s]=$(median $(awk '{print $3}' <<<"${RUNS[$s]}"))
done

failover() { # $1 system -> "errors requests"
  local s=$1 out
  wrk -t2 -c"$FAILOVER_CONNS" -d6s --latency "${URL[$s]}" >"$WORK/failover-$s.txt" &
  local wpid=$!
  sleep 2
  "$LAUNCHER" stop node2 --dir "$WORK/cluster" --kill >/dev/null
  wait "$wpid"
  parse <"$WORK/failover-$s.txt" | awk '{print $4, $5}'
  "$LAUNCHER" start node2 --dir "$WORK/cluster" >/dev/null
  for ((i = 0; i < 100; i++)); do
    curl -fsS --max-time 1 "http://127.0.0.1:$LB/cluster/balancer" 2>/dev/null |
      python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(n["selectable"] for n in d["nodes"]) else 1)' 2>/dev/null && break
    sleep 0.2
  done
  sleep 1 # HAProxy's own health check needs rise 2 x inter 500 ms
}
FO_OURS="-" FO_HAP="-"
if [[ $FAILOVER == 1 ]]; then
  FO_OURS=$(failover ours); log "failover ours: errors/requests $FO_OURS"
  FO_HAP=$(failover haproxy); log "failover haproxy: errors/requests $FO_HAP"
fi

REPORT=$(python3 - "${RPS[ours]}" "${RPS[haproxy]}" "${RPS[nginx]}" "${P50[ours]}" "${P50[haproxy]}" "${P50[nginx]}" \
  "${P99[ours]}" "${P99[haproxy]}" "${P99[nginx]}" "$FO_OURS" "$FO_HAP" "$COMMAND" "$(nproc)" <<'PY'
import sys
r = dict(zip(["ours", "haproxy", "nginx"], map(float, sys.argv[1:4])))
p50 = dict(zip(["ours", "haproxy", "nginx"], map(float, sys.argv[4:7])))
p99 = dict(zip(["ours", "haproxy", "nginx"], map(float, sys.argv[7:10])))
fo_ours, fo_hap, command, cpus = sys.argv[10:14]
out = ["## Balancer: wrk -> proxy -> 2 app nodes (bench/balancer.sh)", "",
       "`%s` on %s CPUs (client, proxy and both app nodes share them). Medians; GET /hello/ (6-byte body), round robin, keep-alive to the backends." % (command, cpus), "",
       "| proxy | requests/s | p50 ms | p99 ms | ours / it (req/s) |", "|---|---:|---:|---:|---:|"]
for s, name in (("ours", "Micro Tomcat balancer"), ("haproxy", "HAProxy (Debian)"), ("nginx", "nginx (Debian)")):
    out.append("| %s | %.0f | %.2f | %.2f | %s |" % (name, r[s], p50[s], p99[s], "-" if s == "ours" else "%.2fx" % (r["ours"] / r[s])))
out += ["", "Failover (wrk -t2 -c20 -d6s, node2 killed with SIGKILL after 2 s; errors = non-2xx + socket errors / requests): ours %s, HAProxy %s." % (fo_ours.replace(" ", " / "), fo_hap.replace(" ", " / ")), "",
        "Bars: requests/s >= 0.5x HAProxy: %.2fx — %s; p99 within 2x HAProxy's: %.2fx — %s; failover errors for idempotent requests 0: %s — %s" % (
            r["ours"] / r["haproxy"], "PASS" if r["ours"] >= 0.5 * r["haproxy"] else "FAIL",
            p99["ours"] / p99["haproxy"], "PASS" if p99["ours"] <= 2 * p99["haproxy"] else "FAIL",
            fo_ours.split(" ")[0], "PASS" if fo_ours.split(" ")[0] == "0" else ("not run" if fo_ours == "-" else "FAIL"))]
print("\n".join(out))
PY
)
echo "$REPORT"
if [[ -n $RESULTS ]]; then printf '\n%s\n' "$REPORT" >>"$RESULTS"; log "appended to $RESULTS"; fi
