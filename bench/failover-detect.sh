#!/usr/bin/env bash
# bench/failover-detect.sh — how fast does a Micro Tomcat cluster notice a dead
# node, compared with what users would pick instead, and does it ever declare a
# live node dead under load? A benchmark, not a test. See bench/README.md.
#
# One run:
#   detect   a 3-node cluster (microtomcat-cluster up 3); KILLS times: kill -9
#            one app node (node1, node2, node3, node1, ...), time until BOTH
#            other app nodes report it DOWN in GET /cluster/nodes (polled every
#            POLL_MS over one kept-alive connection each), then `start` it again
#            and wait until every node sees every node UP. Median, max, samples.
#   haproxy  HAProxy (Debian) with its default health check
#            (`check inter 2s fall 3 rise 2`) in front of a python3 http.server;
#            HAPROXY_KILLS times: kill -9 the backend, time until `show stat`
#            (stats socket) says DOWN. memberlist (a Go library, not run here)
#            is quoted with its documented defaults.
#   soak     SOAK seconds of wrk -t2 -c50 against node1 (both cores busy) while
#            every node's GET /cluster/events is followed: any DOWN or SUSPECT.
#
# Bars (from issue 3): default settings, detection median < 1.5 s on loopback;
# no false DOWN during a 5-minute (300 s) soak with wrk keeping both cores busy.
#
# Environment (defaults in brackets):
#   BUILD_DIR [build]  KILLS [10]  SOAK [300] seconds  HAPROXY_KILLS [3]
#   PARTS ["detect haproxy soak"] (a subset skips the others)
#   POLL_MS [10]  DETECT_TIMEOUT [15] seconds per kill  SOAK_PATH [auto: /hello/, /counter/, /counter]
#   WRK_THREADS [2]  WRK_CONNS [50]  CLUSTER_ARGS [] extra -Dkey=value for `up`
#   SNAPSHOT [1] run a private copy of BUILD_DIR/bin/microtomcat{,-cluster} and
#            BUILD_DIR/plugins/*.so, so that a rebuild during the run does not
#            change the binary a restarted node runs (0: run BUILD_DIR in place)
#   RESULTS [bench/RESULTS.md] (empty: do not append)  KEEP_TMP [0]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PROBE="$BENCH/failover/probe.py"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
KILLS=${KILLS:-10}
SOAK=${SOAK:-300}
HAPROXY_KILLS=${HAPROXY_KILLS:-3}
PARTS=${PARTS:-"detect haproxy soak"}
POLL_MS=${POLL_MS:-10}
DETECT_TIMEOUT=${DETECT_TIMEOUT:-15}
SOAK_PATH=${SOAK_PATH:-}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-50}
CLUSTER_ARGS=${CLUSTER_ARGS:-}
RESULTS=${RESULTS-$BENCH/RESULTS.md}
KEEP_TMP=${KEEP_TMP:-0}
SNAPSHOT=${SNAPSHOT:-1}
SOAK_BAR=300        # seconds the bar asks for
DETECT_BAR_MS=1500  # median detection bar
COMMAND="BUILD_DIR=${BUILD_DIR#"$ROOT"/} KILLS=$KILLS SOAK=$SOAK HAPROXY_KILLS=$HAPROXY_KILLS PARTS=\"$PARTS\" POLL_MS=$POLL_MS${CLUSTER_ARGS:+ CLUSTER_ARGS=\"$CLUSTER_ARGS\"} bench/failover-detect.sh"

BENCH_NAME=failover-detect
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
has() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

for n in KILLS SOAK HAPROXY_KILLS POLL_MS DETECT_TIMEOUT WRK_THREADS WRK_CONNS; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, got '${!n}'"
done
((KILLS >= 1 && KILLS <= 100)) || die "KILLS must be 1..100"
((HAPROXY_KILLS >= 1 && HAPROXY_KILLS <= 20)) || die "HAPROXY_KILLS must be 1..20"
((SOAK >= 10 && SOAK <= 7200)) || die "SOAK must be 10..7200 seconds"
((POLL_MS >= 1 && POLL_MS <= 1000)) || die "POLL_MS must be 1..1000"
((DETECT_TIMEOUT >= 2 && DETECT_TIMEOUT <= 120)) || die "DETECT_TIMEOUT must be 2..120 seconds"
((WRK_THREADS >= 1 && WRK_CONNS >= WRK_THREADS)) || die "need 1 <= WRK_THREADS <= WRK_CONNS"
for p in $PARTS; do
  case $p in detect|haproxy|soak) ;; *) die "unknown part '$p' in PARTS (detect haproxy soak)" ;; esac
done
[[ -n ${PARTS// /} ]] || die "PARTS is empty"

# ---------------------------------------------------------------- processes
WORK=$(mktemp -d /tmp/mt-failover.XXXXXX)
CDIR=$WORK/cluster
CLUSTER=$BUILD_DIR/bin/microtomcat-cluster
CLUSTER_UP=0

# node_pids: pids of this run's cluster nodes that are still microtomcat processes.
node_pids() {
  local f pid
  for f in "$CDIR"/*/pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || continue
    # (no `| grep -q` under pipefail: an early exit of grep can fail the pipeline)
    if [[ -r /proc/$pid/cmdline && $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *microtomcat*"$CDIR"* ]]; then
      echo "$pid"
    fi
  done
}

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  if ((CLUSTER_UP)); then
    timeout 60 "$CLUSTER" down --dir "$CDIR" >&2 || log "microtomcat-cluster down failed"
    for pid in $(node_pids); do
      log "node pid $pid still alive after down, killing"
      kill -CONT "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  stop_started
  drop_work $rc "cluster, haproxy and wrk logs"
  exit $rc
}
on_exit cleanup

# pick_base_port: P such that P..P+3 (HTTP) and P+100..P+103 (cluster) are free.
pick_base_port() {
  python3 - <<'PY'
import random, socket, sys
def free(p):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p)); return True
        except OSError:
            return False
for _ in range(200):
    b = random.randrange(20000, 59000, 10)
    if all(free(p) for p in list(range(b, b + 4)) + list(range(b + 100, b + 104))):
        print(b); sys.exit(0)
sys.exit("no free base port found in 200 tries")
PY
}

# rand_sleep MAX_S: sleep a uniform random time in [0, MAX_S) so that kills
# land at random phases of the heartbeat / health-check period.
rand_sleep() {
  sleep "$(awk -v s="$RANDOM$RANDOM" -v m="$1" 'BEGIN { srand(s); printf "%.3f", rand() * m }')"
}

jget() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); v = d.get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }

# ---------------------------------------------------------------- prerequisites
need curl curl
need python3 python3
need setsid util-linux
need timeout coreutils
has soak && need wrk wrk
has haproxy && { [[ -x /usr/sbin/haproxy ]] || command -v haproxy >/dev/null 2>&1 || MISSING+=(haproxy); }
install_missing
HAPROXY=$(command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)

if has detect || has soak; then
  if [[ ! -x $BUILD_DIR/bin/microtomcat ]]; then
    log "building the project into $BUILD_DIR (microtomcat is missing)"
    (cd "$ROOT" && cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >&2 && cmake --build "$BUILD_DIR" -j2 >&2) ||
      die "build failed; fix it, or run the competitor alone: PARTS=haproxy bench/failover-detect.sh"
    [[ -x $BUILD_DIR/bin/microtomcat ]] || die "the build did not produce $BUILD_DIR/bin/microtomcat"
  fi
  [[ -x $CLUSTER ]] || die "$CLUSTER is missing (the build copies scripts/microtomcat-cluster there)"
  MT_BUILT=$(date -r "$BUILD_DIR/bin/microtomcat" '+%Y-%m-%d %H:%M:%S')
  MT_SHA=$(sha256sum "$BUILD_DIR/bin/microtomcat" | cut -c1-12)
  if [[ $SNAPSHOT == 1 ]]; then
    # The launcher finds the server next to itself and the plugins in ../plugins.
    mkdir -p "$WORK/build/bin" "$WORK/build/plugins"
    cp "$BUILD_DIR/bin/microtomcat" "$CLUSTER" "$WORK/build/bin/"
    find "$BUILD_DIR/plugins" -maxdepth 1 -name '*.so' -exec cp {} "$WORK/build/plugins/" \;
    CLUSTER=$WORK/build/bin/microtomcat-cluster
    log "running a snapshot of $BUILD_DIR (microtomcat built $MT_BUILT, sha256 $MT_SHA...) from $WORK/build"
  fi
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_BEFORE%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  log "warning: load average $LOAD_BEFORE on $(nproc) CPUs before the run: other work is running, figures will be noisy"
fi

# ---------------------------------------------------------------- haproxy
HAP_JSONL=$WORK/haproxy.jsonl
: >"$HAP_JSONL"
HAP_VERSION=""
if has haproxy; then
  HAP_VERSION=$("$HAPROXY" -v 2>/dev/null | awk 'NR == 1 {print $3}')  # not `head`: SIGPIPE + pipefail
  H=$WORK/haproxy
  mkdir -p "$H/www"
  echo ok >"$H/www/index.html"
  BACK_PORT=$(free_port)
  FE_PORT=$(free_port)
  SOCK=$H/stats.sock
  sed -e "s|@SOCK@|$SOCK|g" -e "s|@FE_PORT@|$FE_PORT|g" -e "s|@BACK_PORT@|$BACK_PORT|g" \
    "$BENCH/failover/haproxy.cfg" >"$H/haproxy.cfg"
  "$HAPROXY" -c -q -f "$H/haproxy.cfg" >&2 || die "haproxy refuses $H/haproxy.cfg"

  start_backend() {
    start backend "$H/backend-$1.log" python3 -m http.server --bind 127.0.0.1 --directory "$H/www" "$BACK_PORT"
    BACK_PID=$LAST_PID
    wait_http backend "http://127.0.0.1:$BACK_PORT/" "$BACK_PID" "$H/backend-$1.log" 30
  }
  start_backend 0
  start haproxy "$H/haproxy.log" "$HAPROXY" -f "$H/haproxy.cfg" -db
  HAP_PID=$LAST_PID
  wait_http haproxy "http://127.0.0.1:$FE_PORT/" "$HAP_PID" "$H/haproxy.log" 30
  out=$(timeout 60 python3 "$PROBE" haproxy-wait --socket "$SOCK" --backend be --server s1 --status UP --timeout 30) ||
    die "HAProxy never marked the backend UP: $out"
  for ((k = 1; k <= HAPROXY_KILLS; k++)); do
    rand_sleep 2   # a random phase of the 2 s check period
    out=$(timeout 60 python3 "$PROBE" haproxy-detect --socket "$SOCK" --backend be --server s1 \
      --pid "$BACK_PID" --timeout 20 --poll-ms "$POLL_MS") || true
    wait "$BACK_PID" 2>/dev/null || true
    forget "$BACK_PID"
    echo "$out" >>"$HAP_JSONL"
    [[ $(jget "$out" ok) == True ]] || die "HAProxy kill $k: $out"
    log "haproxy kill $k/$HAPROXY_KILLS: DOWN after $(jget "$out" detect_ms) ms ($(jget "$out" transitions))"
    start_backend "$k"
    out=$(timeout 60 python3 "$PROBE" haproxy-wait --socket "$SOCK" --backend be --server s1 --status UP --timeout 30) ||
      die "HAProxy did not mark the restarted backend UP: $out"
  done
  stop_group() {
    kill -TERM -- "-$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget "$1"
  }
  stop_group "$HAP_PID"
  stop_group "$BACK_PID"
fi

# ---------------------------------------------------------------- cluster
BASE=""
NODES=""      # name=port,... for every node
declare -A PORT
cluster_up() {
  BASE=$(pick_base_port) || die "no free port range for the cluster"
  log "starting a 3-node cluster in $CDIR, base port $BASE"
  CLUSTER_UP=1
  # shellcheck disable=SC2086  # CLUSTER_ARGS is a list of -Dkey=value words
  timeout 120 "$CLUSTER" up 3 --dir "$CDIR" --base-port "$BASE" --timeout 60 $CLUSTER_ARGS >"$WORK/up.log" 2>&1 ||
    { cat "$WORK/up.log" >&2; die "microtomcat-cluster up 3 failed (logs: $CDIR/*/server.log)"; }
  sed 's/^/  /' "$WORK/up.log" >&2
  PORT[lb]=$BASE
  PORT[node1]=$((BASE + 1)); PORT[node2]=$((BASE + 2)); PORT[node3]=$((BASE + 3))
  NODES="lb=${PORT[lb]},node1=${PORT[node1]},node2=${PORT[node2]},node3=${PORT[node3]}"
}
HB=""
if has detect || has soak; then
  cluster_up
  # The heartbeat settings actually in force: read back from what `up` wrote.
  HB=$(python3 - "$CDIR/cluster-config.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
hb = ET.parse(sys.argv[1]).getroot().find("heartbeat")
a = hb.attrib if hb is not None else {}
print(" ".join("%s=%s" % (k, a.get(k, "?")) for k in ("interval", "suspectTimeout", "downTimeout", "phiThreshold")))
PY
)
  log "heartbeat settings: $HB (ms)"
fi

tail_logs() {
  local n
  for n in lb node1 node2 node3; do
    echo "--- $n: $CDIR/$n/server.log (last 15 lines)" >&2
    tail -n 15 "$CDIR/$n/server.log" >&2 2>/dev/null || true
  done
}

CRASHES=()
# dead_nodes: names of this run's nodes whose process is gone ("lb node2 ...").
dead_nodes() {
  local n p out=""
  for n in lb node1 node2 node3; do
    p=$(cat "$CDIR/$n/pid" 2>/dev/null || echo 0)
    kill -0 "$p" 2>/dev/null || out+="${out:+ }$n"
  done
  echo "$out"
}
# restart_crashed WHEN NAMES...: record a crash, keep the logs, start them again.
restart_crashed() {
  local when=$1 n list=""; shift
  for n in "$@"; do list+="${list:+ }$n(pid $(cat "$CDIR/$n/pid" 2>/dev/null))"; done
  log "$when: NODE(S) EXITED ON THEIR OWN: $list (no log line: SIGKILL or a crash; logs in $CDIR/*/server.log); starting them again"
  CRASHES+=("$when: $list")
  for n in "$@"; do
    cp "$CDIR/$n/server.log" "$WORK/crash-${when// /-}-$n.log" 2>/dev/null || true
    timeout 60 "$CLUSTER" start "$n" --dir "$CDIR" >>"$WORK/start.log" 2>&1 || die "microtomcat-cluster start $n failed"
  done
}
# wait_all_up WHEN [NODE]: every node sees every node UP; a node that died on
# its own meanwhile is recorded and started again (at most 3 times). Leaves the
# probe's JSON line in WAIT_OUT (not printed: CRASHES must not be set in a subshell).
WAIT_OUT=""
wait_all_up() {
  local when=$1 node=${2:-} attempt out dead
  for ((attempt = 1; attempt <= 3; attempt++)); do
    if out=$(timeout 60 python3 "$PROBE" wait-up --nodes "$NODES" ${node:+--node "$node"} --timeout 30); then
      WAIT_OUT=$out
      return 0
    fi
    dead=$(dead_nodes)
    [[ -n $dead ]] || { tail_logs; die "$when: not every node sees every node UP: $out"; }
    # shellcheck disable=SC2086  # a list of names
    restart_crashed "$when" $dead
  done
  tail_logs
  die "$when: the cluster did not come back UP after 3 restarts"
}
DET_JSONL=$WORK/detect.jsonl
REJOIN_JSONL=$WORK/rejoin.jsonl
: >"$DET_JSONL"
: >"$REJOIN_JSONL"
if has detect; then
  wait_all_up "before the first kill"
  for ((k = 1; k <= KILLS; k++)); do
    victim=node$(((k - 1) % 3 + 1))
    peers=""
    for n in node1 node2 node3; do [[ $n == "$victim" ]] || peers+="${peers:+,}$n=${PORT[$n]}"; done
    pid=$(cat "$CDIR/$victim/pid")
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *microtomcat* ]] || die "$victim: pid $pid is not a microtomcat process"
    # Let the restarted node's heartbeats settle, then kill at a random phase of the interval.
    sleep 1
    rand_sleep 1
    out=$(timeout $((DETECT_TIMEOUT + 30)) python3 "$PROBE" kill-detect --pid "$pid" --node "$victim" \
      --peers "$peers" --extra "lb=${PORT[lb]}" --timeout "$DETECT_TIMEOUT" --poll-ms "$POLL_MS") || true
    [[ -n $out ]] || out='{"ok": false, "error": "probe.py produced nothing"}'
    # Did anything else die with it? (A detection that fails because an observer
    # vanished must say so, not look like a slow detector.)
    died="" died_names=()
    for n in lb node1 node2 node3; do
      [[ $n == "$victim" ]] && continue
      p=$(cat "$CDIR/$n/pid" 2>/dev/null || echo 0)
      if ! kill -0 "$p" 2>/dev/null; then
        died+="${died:+ }$n(pid $p)"
        died_names+=("$n")
      fi
    done
    out=$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d["collateral"] = sys.argv[2]; print(json.dumps(d, sort_keys=True))' "$out" "$died")
    echo "$out" >>"$DET_JSONL"
    if [[ $(jget "$out" ok) == True ]]; then
      log "kill $k/$KILLS ($victim): both peers DOWN after $(jget "$out" detect_ms) ms; per observer $(jget "$out" down_ms); SUSPECT at $(jget "$out" suspect_ms)"
    else
      log "kill $k/$KILLS ($victim): NOT DETECTED: $(jget "$out" error)"
      tail_logs
    fi
    if [[ -n $died ]]; then
      # A bystander died: that is a bug to report, not a detection time. The
      # sample is left out of the median and listed as a crash; the dead node
      # is started again so that the run can go on.
      restart_crashed "kill $k ($victim)" "${died_names[@]}"
    fi
    # The node must really be gone before it is started again.
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && die "$victim (pid $pid) survived SIGKILL"
    timeout 60 "$CLUSTER" start "$victim" --dir "$CDIR" >>"$WORK/start.log" 2>&1 ||
      { tail -n 5 "$WORK/start.log" >&2; die "microtomcat-cluster start $victim failed"; }
    wait_all_up "rejoin after kill $k ($victim)" "$victim"
    out=$WAIT_OUT
    echo "{\"node\": \"$victim\", \"rejoin\": $out}" >>"$REJOIN_JSONL"
    log "  $victim restarted: all UP $(jget "$out" ms) ms after 'start' returned, incarnation seen: $(jget "$out" incarnation)"
  done
fi

# ---------------------------------------------------------------- soak
SOAK_JSON=$WORK/soak.json
WRK_OUT=$WORK/wrk-soak.txt
SOAK_URL="" WRK_CMD="" SOAK_LOAD="" SOAK_AFTER=""
if has soak; then
  wait_all_up "before the soak"
  if [[ -z $SOAK_PATH ]]; then
    for p in /hello/ /counter/ /counter; do
      if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${PORT[node1]}$p" 2>/dev/null; then SOAK_PATH=$p; break; fi
    done
    [[ -n $SOAK_PATH ]] || die "node1 answers none of /hello/ /counter/ /counter (set SOAK_PATH)"
  fi
  SOAK_URL="http://127.0.0.1:${PORT[node1]}$SOAK_PATH"
  WRK=(wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${SOAK}s" --timeout 2s --latency)
  case $SOAK_PATH in
    /counter*) WRK+=(-s "$BENCH/counter.lua" "$SOAK_URL" -- $(((WRK_CONNS + WRK_THREADS - 1) / WRK_THREADS))) ;;  # reuse sessions
    *) WRK+=("$SOAK_URL") ;;
  esac
  WRK_CMD="${WRK[*]}"
  WRK_CMD=${WRK_CMD//$BENCH\//bench/}
  log "soak: ${SOAK}s of $WRK_CMD, following /cluster/events on every node"
  start watcher "$WORK/soak-watch.log" python3 "$PROBE" soak-watch --nodes "$NODES" --duration $((SOAK + 3)) --out "$SOAK_JSON"
  WATCH_PID=$LAST_PID
  sleep 1
  start wrk "$WRK_OUT" timeout $((SOAK + 60)) "${WRK[@]}"
  WRK_PID=$LAST_PID
  # Bounded: wrk ends after SOAK s (timeout kills it at SOAK + 60 s).
  sleep $((SOAK / 2))
  SOAK_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
  wait "$WRK_PID" || log "wrk exited with $? (see $WRK_OUT)"
  forget "$WRK_PID"
  for ((i = 0; i < 300; i++)); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$WATCH_PID" || die "the event watcher failed: $(tail -n 5 "$WORK/soak-watch.log")"
  forget "$WATCH_PID"
  [[ -s $SOAK_JSON ]] || die "the event watcher wrote nothing: $(tail -n 5 "$WORK/soak-watch.log")"
  SOAK_AFTER=$(timeout 60 python3 "$PROBE" wait-up --nodes "$NODES" --timeout 10 || true)
  log "soak: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("DOWN %d, SUSPECT %d, other %d, unanswered polls %d, CPU busy %.0f%%" % (d["down"], d["suspect"], d["other"], d["unanswered_polls"], 100*d["cpu_busy"]))' "$SOAK_JSON")"
  log "wrk: $(grep -E 'Requests/sec|Socket errors|Non-2xx' "$WRK_OUT" | tr -s ' ' | tr '\n' ';')"
fi

# ---------------------------------------------------------------- report
CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MACHINE="nproc=$(nproc), CPU: ${CPU:-unknown}, kernel $(uname -r), load before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
VERSIONS="Poco $(dpkg-query -W -f='${Version}' libpoco-dev 2>/dev/null || echo '?')"
has haproxy && VERSIONS+=", HAProxy $HAP_VERSION"
has soak && VERSIONS+=", wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
MT_BIN=""
if has detect || has soak; then
  MT_BIN="\`${BUILD_DIR#"$ROOT"/}/bin/microtomcat\` built $MT_BUILT, sha256 $MT_SHA…"
  [[ $SNAPSHOT != 1 ]] || MT_BIN+=" (run from a private copy)"
fi
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$ROOT" diff --quiet HEAD 2>/dev/null; then COMMIT+=" (with uncommitted changes)"; fi

REPORT=$WORK/report.md
PARTS="$PARTS" DET_JSONL="$DET_JSONL" REJOIN_JSONL="$REJOIN_JSONL" HAP_JSONL="$HAP_JSONL" SOAK_JSON="$SOAK_JSON" \
HB="$HB" KILLS="$KILLS" SOAK="$SOAK" SOAK_BAR="$SOAK_BAR" DETECT_BAR_MS="$DETECT_BAR_MS" POLL_MS="$POLL_MS" \
DETECT_TIMEOUT="$DETECT_TIMEOUT" WRK_CMD="$WRK_CMD" WRK_OUT="$WRK_OUT" SOAK_LOAD="$SOAK_LOAD" SOAK_AFTER="$SOAK_AFTER" \
MACHINE="$MACHINE" VERSIONS="$VERSIONS" COMMIT="$COMMIT" COMMAND="$COMMAND" MT_BIN="$MT_BIN" \
CRASHES="$(printf '%s\n' "${CRASHES[@]}")" \
python3 - >"$REPORT" <<'PY'
import json, os, re, statistics
from datetime import datetime, timezone

env = os.environ
parts = env["PARTS"].split()
def jl(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]
det, rejoin, hap = jl(env["DET_JSONL"]), jl(env["REJOIN_JSONL"]), jl(env["HAP_JSONL"])
hb = dict(kv.split("=", 1) for kv in env.get("HB", "").split() if "=" in kv)
tmo = float(env["DETECT_TIMEOUT"]) * 1000
def med(xs): return statistics.median(xs) if xs else None
def s(ms): return "n/a" if ms is None else f"{ms / 1000:.3f} s"

out = []
w = out.append
now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
w(f"## {now} — bench/failover-detect.sh")
w("")
w(f"- command: `{env['COMMAND']}` (commit {env['COMMIT']})")
w(f"- machine: {env['MACHINE']}")
w(f"- versions: {env['VERSIONS']}")
if env.get("MT_BIN"):
    w(f"- Micro Tomcat binary: {env['MT_BIN']}")
if hb:
    w(f"- Micro Tomcat failure detection (as written by `microtomcat-cluster up`): heartbeat interval "
      f"{hb.get('interval')} ms, suspectTimeout {hb.get('suspectTimeout')} ms, downTimeout {hb.get('downTimeout')} ms, "
      f"phiThreshold {hb.get('phiThreshold')}; 3 app nodes + 1 balancer on 127.0.0.1")
w("")

bars = []
w("| system | what is measured | detection (median) | max | samples |")
w("|---|---|---:|---:|---:|")
det_ms = None
if "detect" in parts:
    # A kill during which another node died measures nothing: left out, listed as a crash.
    valid = [d for d in det if not d.get("collateral")]
    crashed = [d for d in det if d.get("collateral")]
    ok = [d["detect_ms"] for d in valid if d.get("ok")]
    # A kill never detected counts as the timeout (it can only make the median worse).
    all_ms = ok + [tmo] * (len(valid) - len(ok))
    det_ms = med(all_ms)
    missed = len(valid) - len(ok)
    notes = []
    if missed:
        notes.append(f"{missed} not detected within {tmo/1000:.0f} s")
    if crashed:
        notes.append(f"{len(crashed)} left out: another node crashed")
    w(f"| **Micro Tomcat** (measured) | `kill -9` an app node → both other app nodes report it `DOWN` in `/cluster/nodes` "
      f"(polled every {env['POLL_MS']} ms) | **{s(det_ms)}** | {s(max(all_ms) if all_ms else None)} | "
      f"{len(all_ms)}{' (' + '; '.join(notes) + ')' if notes else ''} |")
if "haproxy" in parts:
    hm = [h["detect_ms"] for h in hap if h.get("ok")]
    w(f"| HAProxy (measured), default check `inter 2s fall 3 rise 2` | `kill -9` the backend → `show stat` says `DOWN` "
      f"| {s(med(hm))} | {s(max(hm) if hm else None)} | {len(hm)} |")
w("| memberlist (documented defaults, **not measured**: a Go library) | `DefaultLANConfig`: ProbeInterval 1 s, "
  "ProbeTimeout 500 ms, SuspicionMult 4, SuspicionMaxTimeoutMult 6; suspicion timeout = 4 × max(1, log10 n) × 1 s "
  "= 4 s for n ≤ 10 (a 3-node cluster expects no confirmations, so the 4 s minimum applies; up to 6× that otherwise) "
  "| ≈ 0.5–1.5 s to suspect + 4 s ≈ **≥ 4.5 s** | | — |")
w("")

if "detect" in parts:
    sus = [max(d["suspect_ms"][p] for p in d["down_ms"] if p != "lb" and p in d["suspect_ms"])
           for d in det if d.get("ok") and d.get("suspect_ms")]
    lbv = [d["down_ms"]["lb"] for d in det if d.get("ok") and "lb" in d.get("down_ms", {})]
    pp = [d["poll_period_ms"] for d in det if d.get("poll_period_ms")]
    w(f"Micro Tomcat, every kill (ms after SIGKILL; `both` = the later of the two app peers, the measured figure; "
      f"one round of polls over the 3 observers took {med(pp) or 0:.1f} ms (median), the resolution of these figures):")
    w("")
    def incarnations(inc):
        vals = set(inc.values())
        if len(vals) == 1:
            return f"{vals.pop()} (all {len(inc)} agree)"
        return ", ".join(f"{k} {v}" for k, v in sorted(inc.items()))
    w("| # | killed | both peers DOWN | per peer DOWN | first SUSPECT (per peer) | balancer DOWN | rejoin: all UP, ms after `start` returned | incarnation seen after |")
    w("|---:|---|---:|---|---|---:|---:|---|")
    for i, d in enumerate(det):
        r = rejoin[i]["rejoin"] if i < len(rejoin) else {}
        peers = {k: v for k, v in d.get("down_ms", {}).items() if k != "lb"}
        sp = {k: v for k, v in d.get("suspect_ms", {}).items() if k != "lb"}
        both = f"{d['detect_ms']:.0f}" if d.get("ok") else "not detected: " + str(d.get("error"))
        if d.get("collateral"):
            both = f"**{d['collateral']} crashed** (sample left out); " + both
        w(f"| {i + 1} | {d.get('node', '?')} | {both} | "
          f"{', '.join(f'{k} {v:.0f}' for k, v in sorted(peers.items()))} | "
          f"{', '.join(f'{k} {v:.0f}' for k, v in sorted(sp.items()))} | "
          f"{d.get('down_ms', {}).get('lb', float('nan')):.0f} | {r.get('ms', float('nan')):.0f} | "
          f"{incarnations(r.get('incarnation') or {})} |")
    w("")
    if sus:
        w(f"First SUSPECT (the later peer): median {s(med(sus))}; balancer's DOWN: median {s(med(lbv))}. "
          "Rejoin: from `microtomcat-cluster start` returning (it returns once the process is spawned) until every node sees every node UP.")
        w("")
if "haproxy" in parts and hap:
    w("HAProxy, every kill (ms after SIGKILL: status transitions in `show stat`): " + "; ".join(
        f"#{i + 1}: " + " → ".join(f"{t[1]} @{t[0]:.0f}" for t in h.get("transitions", [])) for i, h in enumerate(hap)))
    w("")

soak = None
if "soak" in parts and os.path.exists(env["SOAK_JSON"]):
    soak = json.load(open(env["SOAK_JSON"]))
    wrk = open(env["WRK_OUT"]).read() if os.path.exists(env["WRK_OUT"]) else ""
    rps = re.search(r"Requests/sec:\s*([\d.]+)", wrk)
    sock = re.search(r"Socket errors:.*", wrk)
    non2 = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", wrk)
    total = re.search(r"(\d+) requests in", wrk)
    w(f"False-DOWN soak: `{env['WRK_CMD']}` against node1 for {env['SOAK']} s while every node's `/cluster/events` "
      f"was followed ({soak['seconds']} s, {soak['polls']} polls per node):")
    w("")
    w(f"- status changes seen: **DOWN {soak['down']}**, SUSPECT {soak['suspect']}, other {soak['other']}; "
      f"unanswered event polls {soak['unanswered_polls']}, truncated pages {soak['truncated_pages']}")
    w(f"- load: machine CPU busy {100 * soak['cpu_busy']:.0f} % over the soak (from /proc/stat), load average mid-soak "
      f"{env.get('SOAK_LOAD') or '?'}; wrk: {float(rps.group(1)) if rps else 0:,.0f} req/s, {total.group(1) if total else '?'} requests, "
      f"non-2xx {non2.group(1) if non2 else 0}{', ' + sock.group(0) if sock else ', no socket errors'}")
    after = env.get("SOAK_AFTER", "")
    try:
        a = json.loads(after)
        w(f"- after the soak every node sees every node UP: {'yes' if a.get('ok') else 'NO: ' + str(a.get('error'))}")
    except ValueError:
        w("- after the soak: cluster state not checked")
    for e in soak["events"][:20]:
        w(f"  - {e['t_s']} s: {e['observer']} saw {e['node']} {e['from']} → {e['to']} ({e.get('reason')})")
    if len(soak["events"]) > 20:
        w(f"  - … {len(soak['events']) - 20} more")
    w("")

crashes = [c for c in env.get("CRASHES", "").split("\n") if c]
if crashes:
    w(f"**Nodes that exited on their own during the run: {len(crashes)}** — " + "; ".join(crashes) +
      " (the node's log ends without a line; it was started again and the run went on).")
    w("")
w("Bars (issue 3):")
if det_ms is not None:
    w(f"- detection median < {int(env['DETECT_BAR_MS']) / 1000:.1f} s on loopback with default settings: "
      f"{s(det_ms)} — {'PASS' if det_ms < int(env['DETECT_BAR_MS']) else 'FAIL'}")
else:
    w("- detection median < 1.5 s: n/a (not measured)")
if soak is not None:
    full = int(env["SOAK"]) >= int(env["SOAK_BAR"])
    verdict = "PASS" if soak["down"] == 0 else "FAIL"
    if not full and verdict == "PASS":
        verdict = f"PASS over {env['SOAK']} s only — the bar asks for {env['SOAK_BAR']} s, so not yet shown"
    w(f"- no false DOWN during a {int(env['SOAK_BAR']) // 60}-minute soak with wrk keeping both cores busy: "
      f"{soak['down']} DOWN in {env['SOAK']} s — {verdict}")
else:
    w("- no false DOWN in the soak: n/a (not run)")
if "detect" in parts:
    w(f"- (not a bar of the issue, but a clean run needs it) no node exits while another is killed: "
      f"{'PASS' if not crashes else f'FAIL ({len(crashes)})'}")
w("")
print("\n".join(out))
PY

cat "$REPORT"
if [[ -n $RESULTS ]]; then
  if [[ ! -s $RESULTS ]]; then
    printf '# Benchmark results\n\nAppended by the scripts in bench/ (see bench/README.md); newest last.\n\n' >"$RESULTS"
  fi
  cat "$REPORT" >>"$RESULTS"
  log "appended to $RESULTS"
fi
