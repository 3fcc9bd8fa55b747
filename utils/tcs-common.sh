# shellcheck shell=bash
# tcs-common.sh: what tcs-client.sh and tcs-server.sh share (sourced, not run).
# Expects PROG, SCRIPT_DIR and REPO_DIR to be set by the sourcing script.

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
        # tcsplitter drains open sessions for its grace period (--grace-period, default 10 s)
        # before it exits; wait that long and 5 s more, then SIGKILL.
        local i wait=$((${TCS_GRACE_PERIOD:-10} + 5))
        for ((i = 0; i < wait * 10; i++)); do
            alive "$CHILD_PID" || break
            sleep 0.1
        done
        if alive "$CHILD_PID"; then
            log "pid $CHILD_PID ignored SIGTERM for $wait s, sending SIGKILL"
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

# Appends the tuning flags (only those set, so tcsplitter's own defaults stay the defaults),
# TCS_ARGS and the script's own arguments to cmd, then runs it (restart loop with daemon=1).
# shellcheck disable=SC2154 # cmd and daemon are set by the sourcing script
run_tcsplitter() {
    for pair in TCS_MODE:--mode TCS_CONNS:--conns TCS_CLOCKS:--clocks TCS_CONGESTION:--congestion \
        TCS_FRAGS:--frags TCS_TICK:--tick TCS_TOCK:--tock TCS_BUFFER:--buffer \
        TCS_DUP:--dup TCS_LASSOES:--lassoes TCS_FEC:--fec TCS_RETRIES:--retries TCS_BUDGET:--budget \
        TCS_KEY_FILE:--key-file TCS_LOG_LEVEL:--log-level TCS_GRACE_PERIOD:--grace-period \
        TCS_STATS:--stats TCS_METRICS:--metrics; do
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
}
