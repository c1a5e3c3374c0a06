# bench/lib.sh — what the bench scripts share; sourced, not run. The script
# sets BENCH_NAME (its log prefix) before sourcing it.
#
#   log / die            timestamped lines on stderr; die exits 1
#   free_port            a loopback port nobody listens on right now
#   start NAME LOG CMD…  CMD in its own session, in PIDS; $LAST_PID is its pid
#   forget PID           a started process the script reaped itself
#   stop_pid PID         one started process and everything it forked
#   stop_started         every started process (for the script's EXIT trap)
#   wait_http NAME URL PID LOG [SECONDS]
#                        poll URL until it answers 2xx, or die with LOG's tail
#   on_exit FUNCTION     run it at exit, also after INT / TERM (exit 130 / 143)
#   drop_work RC WHAT    remove $WORK, unless KEEP_TMP=1 or RC says the run failed
#   need CMD PACKAGE     note PACKAGE as missing (MISSING) unless CMD is on PATH
#   install_missing      apt-get install what is noted (as root), or die naming it

log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PIDS=()
LAST_PID=
# Its own session (process group), so that stopping it stops everything it
# forked. setsid execs in place (a background job is not a group leader), so
# $! is CMD's own pid.
start() {
  local name=$1 logf=$2
  shift 2
  setsid "$@" >"$logf" 2>&1 </dev/null &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  log "started $name (pid $LAST_PID): $*"
}

forget() {
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

stop_pid() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# TERM to all first, so that they stop in parallel; KILL what is left after 10 s.
stop_started() {
  local pid i
  for pid in "${PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid still alive after 10 s, killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

wait_http() {
  local name=$1 url=$2 pid=$3 logf=$4 secs=${5:-60} i
  for ((i = 0; i < secs * 10; i++)); do
    if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logf" >&2 || true
      die "$name exited before answering $url (log: $logf)"
    fi
    sleep 0.1
  done
  tail -n 30 "$logf" >&2 || true
  die "$name did not answer $url within ${secs}s (log: $logf)"
}

on_exit() {
  trap "$1" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

drop_work() {
  if [[ ${KEEP_TMP:-0} == 1 || $1 != 0 ]]; then
    log "work dir kept: $WORK ($2)"
  else
    rm -rf "$WORK"
  fi
}

MISSING=()
need() { command -v "$1" >/dev/null 2>&1 || MISSING+=("$2"); }

install_missing() {
  ((${#MISSING[@]})) || return 0
  if [[ $(id -u) == 0 ]]; then
    log "installing: ${MISSING[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${MISSING[@]}" >&2
  else
    die "missing packages: ${MISSING[*]} (run as root to install them, or: sudo apt-get install -y ${MISSING[*]})"
  fi
}
