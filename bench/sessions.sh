#!/usr/bin/env bash
# bench/sessions.sh — what the Redis session store costs, against the memory
# store, in one run. A benchmark, not a test. See bench/README.md.
#
# One run measures, with the same wrk settings (wrk -t2 -c50 -d10s --latency
# -s bench/counter.lua: every request reads and writes its own session; REPS
# repetitions interleaved, medians reported):
#   (a) memory   one microtomcat node, counter app, session.store=memory
#   (b) redis    the same node, session.store=redis against a private
#                redis-server (127.0.0.1, no persistence)
#   (b') with REDIS_UNIX=1, also: the same node connecting to that
#                redis-server through its Unix socket (store.redis.socket)
#   (b'') with REDIS_TLS=1, also: the same node over TLS to that
#                redis-server's tls-port (store.redis.tls, a CA and server
#                certificate made with openssl for the run)
#   (b''') with REDIS_CLUSTER=1, also: the same node on a Redis Cluster
#                (store.redis.cluster) of one more redis-server that holds
#                every slot: what cluster mode itself costs
#   (c) redis-benchmark -q -t get,set -c50 -n N on the same redis-server: the
#       raw Redis round trip (-P 1) the store pays per command
#   (d) reference  bench/ceiling/SessionCeiling.cpp (build/bin/session-ceiling)
#       with --loops L for each L in REF_LOOPS, memory and redis: the least a
#       server can do for this workload (one event loop per thread, no
#       hand-offs, the store's 6 commands per request); its redis/memory ratio
#       is the most a server sending those commands reaches on this machine.
#       REF_WRITE=minimal: 4 commands (no record check, no vv:<node> increment), the fewest
#       that still change a version atomically with the write
# for every row: CPU time of the server (and of redis-server) per request over the
# wrk run, which says where the difference between the stores goes;
# and for (b): Redis commands per request (INFO commandstats over the wrk run,
# commands run inside the store's Lua scripts included), and the round trips
# of one read-modify-write request (top-level commands seen by MONITOR while
# PROBE sequential requests run on one session).
#
# Bars (issue 4): (b) >= 0.7x (a) in requests/s; <= 2 Redis round trips per
# read-modify-write request. With (d): its ratio, and (b)/(a) as a share of it.
#
# Environment [defaults]: BUILD_DIR [build]  REPS [3]  DURATION [10]
#   THREADS [64] (http.threads of the node, both stores)  WRK_THREADS [2]  CONNS [50]  WARMUP [3]  PROBE [100]  RB_REQUESTS [200000]
#   REF_LOOPS ["1 2"] (empty: no reference rows)  REF_WRITE [store] (store|minimal)
#   REDIS_UNIX [0] (1: add row b')  REDIS_TLS [0] (1: add row b'')  REDIS_CLUSTER [0] (1: add row b''')
#   RESULTS [bench/RESULTS.md] (empty: do not append)  KEEP_TMP [0]
#   SERVER_CPUS [] (e.g. 0: the node and the reference run on those CPUs only,
#   and redis-server, wrk and redis-benchmark on LOAD_CPUS [every other CPU],
#   as if Redis and the clients were on other machines; empty: no pinning)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
REPS=${REPS:-3}
DURATION=${DURATION:-10}
WRK_THREADS=${WRK_THREADS:-2}
CONNS=${CONNS:-50}
WARMUP=${WARMUP:-3}
PROBE=${PROBE:-100}
RB_REQUESTS=${RB_REQUESTS:-200000}
THREADS=${THREADS:-64}
REF_LOOPS=${REF_LOOPS-1 2}
REF_WRITE=${REF_WRITE:-store}
RESULTS=${RESULTS-$BENCH/RESULTS.md}
KEEP_TMP=${KEEP_TMP:-0}
REDIS_UNIX=${REDIS_UNIX:-0}
ROW_ARGS=
[[ $REDIS_UNIX == 0 ]] || ROW_ARGS="REDIS_UNIX=$REDIS_UNIX "
REDIS_TLS=${REDIS_TLS:-0}
[[ $REDIS_TLS == 0 ]] || ROW_ARGS+="REDIS_TLS=$REDIS_TLS "
REDIS_CLUSTER=${REDIS_CLUSTER:-0}
[[ $REDIS_CLUSTER == 0 ]] || ROW_ARGS+="REDIS_CLUSTER=$REDIS_CLUSTER "
SERVER_CPUS=${SERVER_CPUS:-}
LOAD_CPUS=${LOAD_CPUS:-}
COMMAND="${SERVER_CPUS:+SERVER_CPUS=$SERVER_CPUS }${LOAD_CPUS:+LOAD_CPUS=$LOAD_CPUS }BUILD_DIR=${BUILD_DIR#"$ROOT"/} THREADS=$THREADS REF_LOOPS='$REF_LOOPS' REF_WRITE=$REF_WRITE ${ROW_ARGS}REPS=$REPS DURATION=$DURATION WRK_THREADS=$WRK_THREADS CONNS=$CONNS PROBE=$PROBE RB_REQUESTS=$RB_REQUESTS bench/sessions.sh"

BENCH_NAME=sessions.sh
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

for n in REPS DURATION WRK_THREADS CONNS WARMUP PROBE RB_REQUESTS THREADS; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, got '${!n}'"
done
((REPS >= 1 && DURATION >= 1 && WRK_THREADS >= 1 && CONNS >= WRK_THREADS && PROBE >= 1)) || die "bad sizes"
[[ $REDIS_UNIX == 0 || $REDIS_UNIX == 1 ]] || die "REDIS_UNIX must be 0 or 1, got '$REDIS_UNIX'"
[[ $REDIS_TLS == 0 || $REDIS_TLS == 1 ]] || die "REDIS_TLS must be 0 or 1, got '$REDIS_TLS'"
[[ $REDIS_CLUSTER == 0 || $REDIS_CLUSTER == 1 ]] || die "REDIS_CLUSTER must be 0 or 1, got '$REDIS_CLUSTER'"
[[ $REF_WRITE == store || $REF_WRITE == minimal ]] || die "REF_WRITE must be store or minimal, got '$REF_WRITE'"
ref_seen=
for loops in $REF_LOOPS; do
  [[ $loops =~ ^[1-9][0-9]*$ ]] || die "REF_LOOPS must list whole numbers >= 1, got '$REF_LOOPS'"
  [[ " $ref_seen " != *" $loops "* ]] || die "REF_LOOPS lists $loops twice: '$REF_LOOPS'"
  ref_seen+=" $loops"
done
for tool in wrk curl redis-server redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (bash scripts/install-deps.sh installs it)"
done
# Pinning: SERVER (node, reference) and LOAD (redis-server, wrk, redis-benchmark) prefixes.
SERVER=() LOAD=() PLACEMENT="all processes on any CPU"
[[ -z $LOAD_CPUS || -n $SERVER_CPUS ]] || die "LOAD_CPUS=$LOAD_CPUS needs SERVER_CPUS too"
if [[ -n $SERVER_CPUS ]]; then
  command -v taskset >/dev/null || die "taskset is missing (util-linux)"
  if [[ -z $LOAD_CPUS ]]; then
    LOAD_CPUS=$(python3 -c 'import os, sys
server = set()
for part in sys.argv[1].split(","):
    a, _, b = part.partition("-")
    server.update(range(int(a), int(b or a) + 1))
print(",".join(str(c) for c in sorted(os.sched_getaffinity(0) - server)))' "$SERVER_CPUS" 2>/dev/null) ||
      die "SERVER_CPUS must be a CPU list like 0 or 0-1, got '$SERVER_CPUS'"
    [[ -n $LOAD_CPUS ]] || die "SERVER_CPUS=$SERVER_CPUS leaves no CPU for redis-server and wrk (set LOAD_CPUS)"
  fi
  taskset -c "$SERVER_CPUS" true 2>/dev/null || die "SERVER_CPUS: taskset refuses '$SERVER_CPUS'"
  taskset -c "$LOAD_CPUS" true 2>/dev/null || die "LOAD_CPUS: taskset refuses '$LOAD_CPUS'"
  SERVER=(taskset -c "$SERVER_CPUS") LOAD=(taskset -c "$LOAD_CPUS")
  PLACEMENT="servers on CPU $SERVER_CPUS, redis-server, wrk and redis-benchmark on CPU $LOAD_CPUS"
fi
[[ -x $BUILD_DIR/bin/microtomcat && -f $BUILD_DIR/plugins/store-redis.so ]] ||
  die "build first: cmake --build $BUILD_DIR (need bin/microtomcat and plugins/store-redis.so)"
[[ -z $REF_LOOPS || -x $BUILD_DIR/bin/session-ceiling ]] ||
  die "build first: cmake --build $BUILD_DIR --target session-ceiling (or REF_LOOPS= for no reference rows)"

WORK=$(mktemp -d /tmp/mt-sessions.XXXXXX)
cleanup() {
  trap - EXIT INT TERM
  stop_started
  [[ $KEEP_TMP == 1 ]] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

wait_for() { # wait_for WHAT PID COMMAND...: poll the command for 20 s
  local what=$1 pid=$2 i; shift 2
  for ((i = 0; i < 100; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || die "$what exited (logs in $WORK)"
    sleep 0.2
  done
  die "$what did not come up (logs in $WORK)"
}

REDIS_PORT=$(free_port)
REDIS_SOCKET=$WORK/redis.sock
TLS_ARGS=()
if [[ $REDIS_TLS == 1 ]]; then
  command -v openssl >/dev/null || die "openssl is missing (bash scripts/install-deps.sh installs it)"
  REDIS_TLS_PORT=$(free_port)
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$WORK/ca.key" -out "$WORK/ca.crt" -days 2 -subj '/CN=bench CA' 2>/dev/null
  openssl req "${ec[@]}" -keyout "$WORK/server.key" -out "$WORK/server.csr" -subj '/CN=bench redis' 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >"$WORK/server.ext"
  openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial -days 2 \
    -extfile "$WORK/server.ext" -out "$WORK/server.crt" 2>/dev/null
  TLS_ARGS=(--tls-port "$REDIS_TLS_PORT" --tls-cert-file "$WORK/server.crt" --tls-key-file "$WORK/server.key"
    --tls-ca-cert-file "$WORK/ca.crt" --tls-auth-clients no)
fi
start redis-server "$WORK/redis.log" "${LOAD[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" \
  --unixsocket "$REDIS_SOCKET" --unixsocketperm 700 "${TLS_ARGS[@]}"
REDIS_PID=$LAST_PID
wait_for redis-server "$REDIS_PID" redis-cli -p "$REDIS_PORT" ping
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
# The redis-server a store's row talks to: the cluster row has its own.
declare -A REDIS_PORT_OF REDIS_PID_OF
if [[ $REDIS_CLUSTER == 1 ]]; then
  CLUSTER_PORT=$(free_port)
  mkdir -p "$WORK/cluster"
  start "redis-server (cluster)" "$WORK/cluster.log" "${LOAD[@]}" redis-server --port "$CLUSTER_PORT" --bind 127.0.0.1 --save "" \
    --appendonly no --dir "$WORK/cluster" --cluster-enabled yes --cluster-config-file "$WORK/cluster/nodes.conf" \
    --cluster-port "$(free_port)"
  REDIS_PID_OF[cluster-redis]=$LAST_PID
  REDIS_PORT_OF[cluster-redis]=$CLUSTER_PORT
  wait_for "redis-server (cluster)" "$LAST_PID" redis-cli -p "$CLUSTER_PORT" ping
  redis-cli -p "$CLUSTER_PORT" cluster addslotsrange 0 16383 >/dev/null
  wait_for "the cluster" "$LAST_PID" sh -c "redis-cli -p $CLUSTER_PORT cluster info | grep -q cluster_state:ok"
fi
port_of() { echo "${REDIS_PORT_OF[$1]:-$REDIS_PORT}"; }
pid_of() { echo "${REDIS_PID_OF[$1]:-$REDIS_PID}"; }

declare -A PORT NODE_PID
STORES=(memory redis)
[[ $REDIS_UNIX == 1 ]] && STORES+=(unix-redis)
[[ $REDIS_TLS == 1 ]] && STORES+=(tls-redis)
[[ $REDIS_CLUSTER == 1 ]] && STORES+=(cluster-redis)
for store in "${STORES[@]}"; do
  PORT[$store]=$(free_port)
  cat >"$WORK/$store.properties" <<CONF
node.name=bench
http.host=127.0.0.1
http.port=${PORT[$store]}
http.threads=$THREADS
accesslog.enabled=false
log.level=warning
plugin.dir=$BUILD_DIR/plugins
session.store=${store#*-}
store.redis.port=$REDIS_PORT

contexts=counter
context.counter.path=/counter
context.counter.app=counter
CONF
  [[ $store == memory ]] && sed -i '/^store\.redis\./d' "$WORK/$store.properties"
  [[ $store == unix-redis ]] && sed -i "s|^store\.redis\.port=.*|store.redis.socket=$REDIS_SOCKET|" "$WORK/$store.properties"
  [[ $store == cluster-redis ]] && sed -i "s|^store\.redis\.port=.*|store.redis.cluster=127.0.0.1:$CLUSTER_PORT|" "$WORK/$store.properties"
  [[ $store == tls-redis ]] && sed -i "s|^store\.redis\.port=.*|store.redis.port=$REDIS_TLS_PORT\nstore.redis.tls=true\nstore.redis.tlsCaFile=$WORK/ca.crt|" "$WORK/$store.properties"
  start "microtomcat ($store)" "$WORK/$store.log" "${SERVER[@]}" "$BUILD_DIR/bin/microtomcat" --config "$WORK/$store.properties"
  NODE_PID[$store]=$LAST_PID
  wait_for "microtomcat ($store)" "$LAST_PID" curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$store]}/counter/"
done
for loops in $REF_LOOPS; do
  for store in memory redis; do
    ref=ref$loops-$store
    PORT[$ref]=$(free_port)
    start "session-ceiling ($ref)" "$WORK/$ref.log" "${SERVER[@]}" "$BUILD_DIR/bin/session-ceiling" --port "${PORT[$ref]}" \
      --store "$store" --redis-port "$REDIS_PORT" --loops "$loops" --write "$REF_WRITE"
    NODE_PID[$ref]=$LAST_PID
    wait_for "session-ceiling ($ref)" "$LAST_PID" curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$ref]}/counter/"
    STORES+=("$ref")
  done
done

run_wrk() { # run_wrk STORE SECONDS -> output file
  local out=$WORK/wrk-$1-$RANDOM.txt
  timeout $(($2 + 30)) "${LOAD[@]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d"$2s" --timeout 2s --latency -s "$BENCH/counter.lua" \
    "http://127.0.0.1:${PORT[$1]}/counter/" -- $(((CONNS + WRK_THREADS - 1) / WRK_THREADS)) >"$out" 2>&1 ||
    die "wrk failed on $1: $(tail -n 5 "$out")"
  echo "$out"
}
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u); if (u == "us") n /= 1000; else if (u == "s") n *= 1000; printf "%.3f", n }'; }
# redis commands counted by INFO commandstats, all commands summed
# CPU time of a process so far, in clock ticks (user + system, all threads)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)
redis_calls() { redis-cli -p "$1" info commandstats | awk -F'[=,:]' '/^cmdstat_/ && $1 != "cmdstat_info" && $1 != "cmdstat_config" {s += $3} END {print s + 0}'; }

for store in "${STORES[@]}"; do run_wrk "$store" "$WARMUP" >/dev/null; done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=$WORK/rows.txt
: >"$ROWS"
for ((rep = 1; rep <= REPS; rep++)); do
  for store in "${STORES[@]}"; do
    rport=$(port_of "$store") rpid=$(pid_of "$store")
    [[ $store == *redis ]] && redis-cli -p "$rport" config resetstat >/dev/null
    node0=$(cpu_ticks "${NODE_PID[$store]}") redis0=$(cpu_ticks "$rpid")
    f=$(run_wrk "$store" "$DURATION")
    node1=$(cpu_ticks "${NODE_PID[$store]}") redis1=$(cpu_ticks "$rpid")
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$f")")
    reqs=$(awk '/requests in/ {print $1}' "$f")
    errs=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$f")
    cpr=-
    [[ $store == *redis ]] && cpr=$(awk -v c="$(redis_calls "$rport")" -v r="$reqs" 'BEGIN {printf "%.2f", c / r}')
    # CPU microseconds per request: where the difference between the stores goes
    nodeus=$(awk -v t=$((node1 - node0)) -v r="$reqs" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t * 1e6 / hz / r}')
    redisus=$(awk -v t=$((redis1 - redis0)) -v r="$reqs" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t * 1e6 / hz / r}')
    echo "$store $rep $rps $p99 $reqs $errs $cpr $nodeus $redisus" >>"$ROWS"
    log "rep $rep $store: $rps req/s, p99 $p99 ms, errors $errs, redis commands/request $cpr, CPU us/request node $nodeus redis $redisus"
  done
  rb=$("${LOAD[@]}" redis-benchmark -p "$REDIS_PORT" -q -t get,set -c "$CONNS" -n "$RB_REQUESTS" 2>/dev/null | tr '\r' '\n' |
    awk '/^GET:/ {g = $2} /^SET:/ {s = $2} END {print s, g}')
  echo "redis-benchmark $rep $rb" >>"$ROWS"
  log "rep $rep redis-benchmark: SET/GET $rb req/s"
done

# Round trips of one read-modify-write request: top-level commands in MONITOR
# (commands a script runs are shown with "lua]" and are not round trips).
SID=$(curl -fsS -c "$WORK/jar" "http://127.0.0.1:${PORT[redis]}/counter/" >/dev/null && awk '$6 == "JSESSIONID" {print $7}' "$WORK/jar")
curl -fsS -b "JSESSIONID=$SID" -o /dev/null "http://127.0.0.1:${PORT[redis]}/counter/" # scripts cached
start monitor "$WORK/monitor.txt" redis-cli -p "$REDIS_PORT" monitor
MON=$LAST_PID
wait_for "redis-cli monitor" "$MON" grep -q '^OK' "$WORK/monitor.txt" # printed once attached
for ((i = 0; i < PROBE; i++)); do curl -fsS -b "JSESSIONID=$SID" -o /dev/null "http://127.0.0.1:${PORT[redis]}/counter/"; done
rcli ping >/dev/null
stop_pid "$MON"
forget "$MON"
# A MULTI ... EXEC block is one round trip: the store sends it in one write
# and waits for it once (MONITOR still lists each command in it).
TOP=$(grep '^[0-9.]* \[[0-9]* 127' "$WORK/monitor.txt" | awk '
  { c = toupper($4); gsub(/"/, "", c) }
  c == "MULTI" { n++; inblock = 1; next }
  c == "EXEC" { inblock = 0; next }
  !inblock { n++ }
  END { print n + 0 }')
RTT=$(awk -v t="$TOP" -v p="$PROBE" 'BEGIN {printf "%.2f", (t - 1) / p}') # minus the final PING
grep '^[0-9.]* \[[0-9]* 127' "$WORK/monitor.txt" | grep -vi '"ping"' | tail -n 40 |
  awk '!done { print } toupper($4) ~ /EXEC/ { done = 1 }' | tail -n 12 | cut -c1-160 | sed 's/^/    /' >"$WORK/sample.txt"

REPORT=$WORK/report.md
python3 - "$ROWS" "$REPORT" "$WORK/sample.txt" <<PY
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def col(name, i): return [float(r[i]) for r in rows if r[0] == name]
def med(name, i): return statistics.median(col(name, i))
names = list(dict.fromkeys(r[0] for r in rows if r[0] != "redis-benchmark")) # memory, redis, ref1-memory, ...
def label(name):
    if name == "unix-redis": return "redis (Unix socket)"
    if name == "tls-redis": return "redis (TLS)"
    if name == "cluster-redis": return "redis (cluster of one node)"
    if not name.startswith("ref"): return name
    loops, store = name[3:].split("-")
    return f"reference, {loops} loop{'s' if loops != '1' else ''}: {store}"
rb_set, rb_get = med("redis-benchmark", 2), med("redis-benchmark", 3)
rtt = float("$RTT")
sample = open(sys.argv[3]).read().rstrip()
ratio = med("redis", 2) / med("memory", 2)
with open(sys.argv[2], "w") as w:
    w.write("\n## bench/sessions.sh — $(date -u +%Y-%m-%dT%H:%MZ)\n\n")
    w.write("Command: \`$COMMAND\` on $(nproc) CPUs ($PLACEMENT), load average before $LOAD_BEFORE; wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s "
            "-s bench/counter.lua (each request reads and writes its session), $REPS repetitions interleaved, medians; "
            "one node, redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1 without persistence.\n\n")
    w.write("| server: store | req/s | p99 ms | Redis commands / request | server CPU µs / request | redis-server CPU µs / request | errors (all runs) |\n"
            "|---|---:|---:|---:|---:|---:|---:|\n")
    for name in names:
        redis = name.endswith("redis")
        cpr = f"{med(name, 6):.2f}" if redis else "-"
        rcpu = f"{med(name, 8):.1f}" if redis else "-"
        errors = sum(int(r[5]) for r in rows if r[0] == name)
        w.write(f"| {label(name)} | {med(name, 2):,.0f} | {med(name, 3):.2f} | {cpr} | {med(name, 7):.1f} | {rcpu} | {errors} |\n")
    w.write("\nRedis commands per request include those run inside the store's Lua scripts.\n\n")
    w.write(f"redis-benchmark -c$CONNS -n $RB_REQUESTS, same server, same run: SET {rb_set:,.0f} req/s, GET {rb_get:,.0f} req/s.\n\n")
    w.write(f"Round trips of one read-modify-write request (MONITOR over $PROBE sequential requests): {rtt:.2f}; e.g.\n\n" + sample + "\n\n")
    w.write("Bars (issue 4):\n")
    w.write(f"- redis store >= 0.7x memory store throughput: {ratio:.2f}x — {'PASS' if ratio >= 0.7 else 'FAIL'}\n")
    w.write(f"- <= 2 Redis round trips per read-modify-write request: {rtt:.2f} — {'PASS' if rtt <= 2.0 else 'FAIL'}\n")
    if "unix-redis" in names:
        w.write(f"- the same over the Unix socket: {med('unix-redis', 2) / med('memory', 2):.2f}x "
                f"({med('unix-redis', 2) / med('redis', 2) - 1:+.1%} against TCP)\n")
    if "tls-redis" in names:
        w.write(f"- the same over TLS: {med('tls-redis', 2) / med('memory', 2):.2f}x "
                f"({med('tls-redis', 2) / med('redis', 2) - 1:+.1%} against plain TCP)\n")
    if "cluster-redis" in names:
        w.write(f"- the same on a Redis Cluster: {med('cluster-redis', 2) / med('memory', 2):.2f}x "
                f"({med('cluster-redis', 2) / med('redis', 2) - 1:+.1%} against a plain Redis)\n")
    refs = sorted({n[3:].split("-")[0] for n in names if n.startswith("ref")}, key=int)
    if refs:
        sent = "the same commands" if "$REF_WRITE" == "store" else "4 commands (MULTI, HINCRBY version, HSET, EXEC)"
        w.write(f"\nThe same ratio for the reference (the most a server sending {sent} reaches here): " + ", ".join(
            f"{med(f'ref{l}-redis', 2) / med(f'ref{l}-memory', 2):.2f}x with {l} loop{'s' if l != '1' else ''}" for l in refs) + "\n")
        best = max(med(f"ref{l}-redis", 2) / med(f"ref{l}-memory", 2) for l in refs)
        w.write(f"The store's ratio is {ratio / best:.0%} of the reference's best.\n")
PY
cat "$REPORT"
if [[ -n $RESULTS ]]; then cat "$REPORT" >>"$RESULTS"; log "appended to $RESULTS"; fi
