#!/usr/bin/env bash
# demo.sh: one-command tcsplitter demo from a fresh clone.
#
# Builds tcsplitter, starts an echo service, a server and a client on loopback,
# sends random bytes through the tunnel and back with "tcsplitter probe", and
# reports whether every byte came back intact. Run --help for details.
set -euo pipefail

PROG=${0##*/}
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
# log, die, check_port and alive, shared with tcs-server.sh and tcs-client.sh.
# shellcheck source=utils/tcs-common.sh
. "$SCRIPT_DIR/tcs-common.sh"

usage() {
    cat <<EOF
Usage: $PROG [--keep]

From a fresh clone on Debian (as root, or as a user with sudo):
  1. installs libisal-dev and pkg-config with apt-get if ISA-L is missing
     (a Swift 6 toolchain must already be on PATH);
  2. builds with "swift build -c release" in $REPO_DIR;
  3. starts "tcsplitter echo" on 127.0.0.1:\$ECHO_PORT, then utils/tcs-server.sh
     forwarding to it, then utils/tcs-client.sh, in the background, logging to a
     temporary directory;
  4. runs "tcsplitter probe" through the client's listen address: random bytes
     go through the tunnel to the echo service and back, verified by SHA-256.
Exits with the probe's status (0 = every byte came back). On failure it shows
the last 20 lines of each log. Everything it started is stopped on exit, by PID.

  --keep   leave echo, server and client running after the probe and print
           their PIDs and how to stop them
  --help   show this text

Environment (defaults in brackets):
  ECHO_PORT [6003]        echo service port on 127.0.0.1
  TCS_LISTEN [127.0.0.1:6000]   client listen address the probe connects to
  TCS_FLING_PORT [10900], TCS_SYNC_PORT [10902]   server ports on 127.0.0.1
  PROBE_BYTES [16MiB], PROBE_SESSIONS [4], PROBE_TIMEOUT [300] seconds
  WAIT_SECS [30]          how long each process may take to start listening
  Other TCS_* tuning variables are passed on by tcs-server.sh/tcs-client.sh
  (see utils/tcs-server.sh --help).
EOF
}

keep=0
for arg in "$@"; do
    case $arg in
    --keep) keep=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$arg' (try --help)" ;;
    esac
done

ECHO_PORT=${ECHO_PORT:-6003}
TCS_FLING_PORT=${TCS_FLING_PORT:-10900}
TCS_SYNC_PORT=${TCS_SYNC_PORT:-10902}
TCS_LISTEN=${TCS_LISTEN:-127.0.0.1:6000}
PROBE_BYTES=${PROBE_BYTES:-16MiB}
PROBE_SESSIONS=${PROBE_SESSIONS:-4}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-300}
WAIT_SECS=${WAIT_SECS:-30}
LISTEN_PORT=${TCS_LISTEN##*:}

for var in ECHO_PORT TCS_FLING_PORT TCS_SYNC_PORT LISTEN_PORT; do
    check_port "$var" "${!var}"
done
if [[ $(printf '%s\n' "$((10#$ECHO_PORT))" "$((10#$TCS_FLING_PORT))" "$((10#$TCS_SYNC_PORT))" \
    "$((10#$LISTEN_PORT))" | sort -u | wc -l) -ne 4 ]]; then
    die "ECHO_PORT, TCS_FLING_PORT, TCS_SYNC_PORT and the TCS_LISTEN port must all differ"
fi
for var in PROBE_TIMEOUT WAIT_SECS; do
    [[ ${!var} =~ ^[1-9][0-9]{0,4}$ ]] || die "$var=${!var} is not a number of seconds"
done

# True if something in this network namespace listens on TCP port $1.
listening() {
    local port=$1 hex file local_addr state
    printf -v hex '%04X' "$((10#$port))"
    if [[ -r /proc/net/tcp ]]; then
        for file in /proc/net/tcp /proc/net/tcp6; do
            [[ -r $file ]] || continue
            while read -r _ local_addr _ state _; do
                if [[ $state == 0A && ${local_addr##*:} == "$hex" ]]; then
                    return 0
                fi
            done <"$file"
        done
        return 1
    fi
    # No /proc/net/tcp: try to connect instead.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# Fail before the long build if a port is taken.
for port in "$ECHO_PORT" "$TCS_FLING_PORT" "$TCS_SYNC_PORT" "$LISTEN_PORT"; do
    if listening "$port"; then
        die "TCP port $port is already in use (an earlier demo left running?).
  Stop what listens there, or pick other ports with ECHO_PORT, TCS_FLING_PORT,
  TCS_SYNC_PORT and TCS_LISTEN."
    fi
done

# --- 1. prerequisites -------------------------------------------------------

have_isal() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libisal; }

if ! command -v swift >/dev/null 2>&1; then
    have_isal || log "also needed: ISA-L headers: apt-get install libisal-dev pkg-config"
    die "the Swift toolchain (6.0 or later) is needed and 'swift' is not on PATH.
  Install it from https://www.swift.org/install/linux/ (Debian: the tarball or swiftly),
  then run $PROG again."
fi

if ! have_isal; then
    log "ISA-L (libisal-dev) and pkg-config are needed for the erasure coding; installing them"
    command -v apt-get >/dev/null 2>&1 ||
        die "no apt-get here: install ISA-L's development files (libisal, with its libisal.pc) and pkg-config yourself"
    sudo_cmd=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 ||
            die "not root and no sudo: as root run: apt-get update && apt-get install -y libisal-dev pkg-config"
        sudo_cmd=(sudo)
    fi
    ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get update
    ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get install -y -o DPkg::Lock::Timeout=300 libisal-dev pkg-config
    have_isal || die "libisal-dev is installed but 'pkg-config --exists libisal' still fails"
fi

# --- 2. build ---------------------------------------------------------------

log "building: swift build -c release (in $REPO_DIR; the first build takes a few minutes)"
(cd "$REPO_DIR" && swift build -c release)
BIN_DIR=$(cd "$REPO_DIR" && swift build -c release --show-bin-path)
BIN=$BIN_DIR/tcsplitter
[[ -x $BIN ]] || die "the build finished but $BIN is missing"
export TCS_BIN=$BIN # so tcs-server.sh and tcs-client.sh run the binary just built

# --- 3. start echo, server, client ------------------------------------------

LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tcs-demo.XXXXXX")
NAMES=()
PIDS=()
LOGS=()
leave_running=0

# Stops exactly the processes this script started, by PID: SIGTERM, up to 5 s,
# then SIGKILL. (Reached only through the EXIT trap, hence the directive.)
# shellcheck disable=SC2317
stop_started() {
    local i pid any
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        any=0
        for pid in ${PIDS[@]+"${PIDS[@]}"}; do
            if alive "$pid"; then any=1; fi
        done
        ((any)) || break
        sleep 0.1
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        if alive "$pid"; then
            log "pid $pid did not stop on SIGTERM within 5 s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

# shellcheck disable=SC2317
on_exit() {
    if ((leave_running)); then
        return
    fi
    stop_started
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

show_logs() {
    local i
    for i in "${!LOGS[@]}"; do
        printf '\n----- last 20 lines of %s log (%s) -----\n' "${NAMES[i]}" "${LOGS[i]}" >&2
        tail -n 20 "${LOGS[i]}" >&2 || true
    done
    if [[ -f $LOG_DIR/probe.log ]]; then
        printf '\n----- last 20 lines of probe log (%s) -----\n' "$LOG_DIR/probe.log" >&2
        tail -n 20 "$LOG_DIR/probe.log" >&2 || true
    fi
    log "logs kept in $LOG_DIR"
}

# start NAME COMMAND...: runs COMMAND in the background, logging to LOG_DIR/NAME.log.
start() {
    local name=$1
    shift
    "$@" >"$LOG_DIR/$name.log" 2>&1 &
    NAMES+=("$name")
    PIDS+=("$!")
    LOGS+=("$LOG_DIR/$name.log")
    log "started $name (pid $!), log $LOG_DIR/$name.log"
}

# wait_listening NAME PORT: waits up to WAIT_SECS for the last started process.
wait_listening() {
    local name=$1 port=$2 pid=${PIDS[-1]} i deadline=$((SECONDS + WAIT_SECS))
    for ((i = 0; i < WAIT_SECS * 10 && SECONDS <= deadline; i++)); do
        if listening "$port"; then
            return 0
        fi
        if ! alive "$pid"; then
            log "$name (pid $pid) exited before listening on port $port"
            show_logs
            exit 1
        fi
        sleep 0.1
    done
    log "$name (pid $pid) is not listening on port $port after $WAIT_SECS s"
    show_logs
    exit 1
}

start echo "$BIN" echo --listen "127.0.0.1:$ECHO_PORT"
wait_listening echo "$ECHO_PORT"

start server env TCS_FORWARD="127.0.0.1:$ECHO_PORT" TCS_FLING_PORT="$TCS_FLING_PORT" \
    TCS_SYNC_PORT="$TCS_SYNC_PORT" "$SCRIPT_DIR/tcs-server.sh"
wait_listening server "$TCS_FLING_PORT"
wait_listening server "$TCS_SYNC_PORT"

start client env TCS_LISTEN="$TCS_LISTEN" TCS_FLING_PORT="$TCS_FLING_PORT" \
    TCS_SYNC_PORT="$TCS_SYNC_PORT" "$SCRIPT_DIR/tcs-client.sh"
wait_listening client "$LISTEN_PORT"

# --- 4. probe ---------------------------------------------------------------

log "probe: $PROBE_BYTES in $PROBE_SESSIONS sessions through $TCS_LISTEN -> server -> echo and back"
set +e
timeout "$PROBE_TIMEOUT" "$BIN" probe --connect "$TCS_LISTEN" --bytes "$PROBE_BYTES" \
    --sessions "$PROBE_SESSIONS" 2>&1 | tee "$LOG_DIR/probe.log"
rc=${PIPESTATUS[0]}
set -e

if ((rc == 0)); then
    log "success: every byte came back intact"
else
    if ((rc == 124)); then
        log "probe did not finish within $PROBE_TIMEOUT s"
    else
        log "probe failed with exit code $rc"
    fi
    show_logs
fi

if ((keep)); then
    leave_running=1
    log "--keep: leaving these running (logs in $LOG_DIR):"
    for i in "${!PIDS[@]}"; do
        log "  ${NAMES[i]}: pid ${PIDS[i]}"
    done
    log "stop them with: kill ${PIDS[*]}"
elif ((rc == 0)); then
    rm -rf -- "$LOG_DIR"
fi
exit "$rc"
