#!/usr/bin/env bash
# tcs-server.sh: start the tcsplitter server end.
#
# With no environment set it pairs with tcs-client.sh on the same machine:
# fling on 127.0.0.1:10900, sync on 127.0.0.1:10902, sessions forwarded to
# 127.0.0.1:6003. Run with --help for every variable.
set -euo pipefail

PROG=${0##*/}
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd -P)

usage() {
    cat <<EOF
Usage: $PROG [daemon] [EXTRA-TCSPLITTER-ARGS...]

Starts "tcsplitter server", listening for the client's fling (data) and sync
(control) connections and forwarding every session to TCS_FORWARD.
The defaults pair with tcs-client.sh on the same machine.

  daemon    run tcsplitter in a restart loop instead of exec'ing it: restart
            1 s after every exit (logged to stderr with the exit code); stop
            with SIGINT/SIGTERM/SIGHUP, which also stops tcsplitter.
  --help    show this text (only as the first argument; later arguments go to
            tcsplitter, e.g. "$PROG --tick 40").

Addresses (always passed):
  TCS_BIND         host to listen on                 (default 127.0.0.1)
  TCS_FLING_PORT   fling port, --lFling BIND:PORT    (default 10900)
  TCS_SYNC_PORT    sync port, --lSync BIND:PORT      (default 10902)
  TCS_FORWARD      service each session goes to, --forward
                                                     (default 127.0.0.1:6003)
  TCS_CONNS        --conns                           (default 12)
  An IPv6 host (one containing ':') is written as [host]:port.

Tuning (passed only when set; otherwise tcsplitter's own defaults apply;
must agree with the client where tcsplitter says so, e.g. frags, fec, key):
  TCS_FRAGS --frags payload:mtu   TCS_TICK --tick ms      TCS_TOCK --tock ms
  TCS_BUFFER --buffer ms:count    TCS_DUP --dup fling|lasso|both|none
  TCS_FEC --fec data:parity       TCS_RETRIES --retries on:skip
  TCS_BUDGET --budget N           TCS_KEY_FILE --key-file PATH
  TCS_LOG_LEVEL --log-level LEVEL
  TCS_ARGS          extra arguments, split on whitespace, appended last but
                    before the script's own arguments
  TCS_MAX_RESTARTS  daemon mode only: give up after this many restarts
                    (default 0 = never give up)

Binary: \$TCS_BIN, else tcsplitter next to this script, else
<repo>/.build/release/tcsplitter, else <repo>/.build/debug/tcsplitter, else
tcsplitter on PATH. Build it with "swift build -c release" in the repo root.
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Prints the tcsplitter binary to run, searched in the documented order.
find_bin() {
    local c
    if [[ -n ${TCS_BIN:-} ]]; then
        if [[ $TCS_BIN != */* ]] && c=$(command -v -- "$TCS_BIN"); then
            printf '%s\n' "$c"
            return
        fi
        [[ -f $TCS_BIN && -x $TCS_BIN ]] || die "TCS_BIN=$TCS_BIN is not an executable file"
        printf '%s\n' "$TCS_BIN"
        return
    fi
    for c in "$SCRIPT_DIR/tcsplitter" "$REPO_DIR/.build/release/tcsplitter" \
        "$REPO_DIR/.build/debug/tcsplitter"; do
        if [[ -f $c && -x $c ]]; then
            printf '%s\n' "$c"
            return
        fi
    done
    if c=$(command -v tcsplitter); then
        printf '%s\n' "$c"
        return
    fi
    die "tcsplitter binary not found. Looked at \$TCS_BIN (unset), $SCRIPT_DIR/tcsplitter,
  $REPO_DIR/.build/release/tcsplitter, $REPO_DIR/.build/debug/tcsplitter and PATH.
  Build it with: (cd '$REPO_DIR' && swift build -c release), or set TCS_BIN."
}

# host port -> host:port, or [host]:port for an IPv6 host.
join_host_port() {
    local host=$1 port=$2
    if [[ $host == *:* && $host != \[*\] ]]; then
        host="[$host]"
    fi
    printf '%s:%s' "$host" "$port"
}

check_port() {
    local name=$1 value=$2
    if ! [[ $value =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
        die "$name=$value is not a port number (1-65535)"
    fi
}

# True while PID is a live (not zombie) process.
alive() {
    local stat
    if [[ -d /proc/self ]]; then
        read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
        stat=${stat##*) }
        [[ ${stat%% *} != Z ]]
    else
        kill -0 "$1" 2>/dev/null
    fi
}

CHILD_PID=
on_signal() {
    trap - INT TERM HUP
    log "got SIG$1, stopping tcsplitter${CHILD_PID:+ (pid $CHILD_PID)}"
    if [[ -n $CHILD_PID ]]; then
        kill -TERM "$CHILD_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do # up to 5 s, then SIGKILL
            alive "$CHILD_PID" || break
            sleep 0.1
        done
        if alive "$CHILD_PID"; then
            log "pid $CHILD_PID ignored SIGTERM for 5 s, sending SIGKILL"
            kill -KILL "$CHILD_PID" 2>/dev/null || true
        fi
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    exit 0
}

# Runs "$@" again 1 s after every exit until a signal arrives (or
# TCS_MAX_RESTARTS restarts, when that is above 0).
run_daemon() {
    local rc restarts=0 max=${TCS_MAX_RESTARTS:-0}
    [[ $max =~ ^[0-9]+$ ]] || die "TCS_MAX_RESTARTS=$max is not a number"
    trap 'on_signal INT' INT
    trap 'on_signal TERM' TERM
    trap 'on_signal HUP' HUP
    while :; do
        "$@" &
        CHILD_PID=$!
        log "daemon: started tcsplitter, pid $CHILD_PID"
        rc=0
        wait "$CHILD_PID" || rc=$?
        CHILD_PID=
        if ((max > 0 && restarts >= max)); then
            log "daemon: tcsplitter exited with code $rc; giving up after $restarts restarts"
            exit "$rc"
        fi
        restarts=$((restarts + 1))
        log "daemon: tcsplitter exited with code $rc; restart #$restarts in 1 s"
        sleep 1
    done
}

daemon=0
case ${1:-} in
-h | --help | help)
    usage
    exit 0
    ;;
daemon)
    daemon=1
    shift
    ;;
esac

TCS_BIND=${TCS_BIND:-127.0.0.1}
TCS_FLING_PORT=${TCS_FLING_PORT:-10900}
TCS_SYNC_PORT=${TCS_SYNC_PORT:-10902}
TCS_FORWARD=${TCS_FORWARD:-127.0.0.1:6003}
TCS_CONNS=${TCS_CONNS:-12}
check_port TCS_FLING_PORT "$TCS_FLING_PORT"
check_port TCS_SYNC_PORT "$TCS_SYNC_PORT"
[[ $TCS_FLING_PORT != "$TCS_SYNC_PORT" ]] || die "TCS_FLING_PORT and TCS_SYNC_PORT are both $TCS_FLING_PORT"

BIN=$(find_bin)

cmd=("$BIN" server
    --lFling "$(join_host_port "$TCS_BIND" "$TCS_FLING_PORT")"
    --lSync "$(join_host_port "$TCS_BIND" "$TCS_SYNC_PORT")"
    --forward "$TCS_FORWARD"
    --conns "$TCS_CONNS")
# Tuning flags: only when set, so tcsplitter's own defaults stay the defaults.
for pair in TCS_FRAGS:--frags TCS_TICK:--tick TCS_TOCK:--tock TCS_BUFFER:--buffer \
    TCS_DUP:--dup TCS_FEC:--fec TCS_RETRIES:--retries TCS_BUDGET:--budget \
    TCS_KEY_FILE:--key-file TCS_LOG_LEVEL:--log-level; do
    var=${pair%%:*}
    if [[ -n ${!var:-} ]]; then
        cmd+=("${pair#*:}" "${!var}")
    fi
done
extra=()
if [[ -n ${TCS_ARGS:-} ]]; then
    read -r -a extra <<<"$TCS_ARGS"
fi
cmd+=(${extra[@]+"${extra[@]}"} "$@")

log "running:$(printf ' %q' "${cmd[@]}")"
if ((daemon)); then
    run_daemon "${cmd[@]}"
else
    exec "${cmd[@]}"
fi
