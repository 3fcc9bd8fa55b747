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
  An IPv6 host (one containing ':') is written as [host]:port.

Tuning (passed only when set; otherwise tcsplitter's own defaults apply;
must agree with the client where tcsplitter says so, e.g. frags, fec, key):
  TCS_MODE --mode stealth|bulk|lossy|interactive|live (a preset; the rest override it)
  TCS_CONNS --conns N|auto (client; default auto: the pool sizes itself)
  TCS_CLOCKS --clocks adaptive|fixed  TCS_CONGESTION --congestion NAME|auto
  TCS_FRAGS --frags payload:mtu   TCS_TICK --tick ms      TCS_TOCK --tock ms
  TCS_BUFFER --buffer ms:count    TCS_DUP --dup fling|lasso|both|none
  TCS_FEC --fec data:parity       TCS_RETRIES --retries on:skip
  TCS_BUDGET --budget N|auto     TCS_KEY_FILE --key-file PATH
  TCS_LOG_LEVEL --log-level LEVEL TCS_LASSOES --lassoes N (client, dup lasso|both|none)
  TCS_GRACE_PERIOD --grace-period s (SIGTERM/SIGINT drain; the daemon loop
                   waits this + 5 s before SIGKILL)
  TCS_STATS --stats s             TCS_METRICS --metrics host:port
  TCS_ARGS          extra arguments, split on whitespace, appended last but
                    before the script's own arguments
  TCS_MAX_RESTARTS  daemon mode only: give up after this many restarts
                    (default 0 = never give up)

Binary: \$TCS_BIN, else tcsplitter next to this script, else
<repo>/.build/release/tcsplitter, else <repo>/.build/debug/tcsplitter, else
tcsplitter on PATH. Build it with "swift build -c release" in the repo root.
EOF
}

# shellcheck source=utils/tcs-common.sh
. "$SCRIPT_DIR/tcs-common.sh"

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
check_port TCS_FLING_PORT "$TCS_FLING_PORT"
check_port TCS_SYNC_PORT "$TCS_SYNC_PORT"
[[ $TCS_FLING_PORT != "$TCS_SYNC_PORT" ]] || die "TCS_FLING_PORT and TCS_SYNC_PORT are both $TCS_FLING_PORT"

BIN=$(find_bin)

cmd=("$BIN" server
    --lFling "$(join_host_port "$TCS_BIND" "$TCS_FLING_PORT")"
    --lSync "$(join_host_port "$TCS_BIND" "$TCS_SYNC_PORT")"
    --forward "$TCS_FORWARD")
run_tcsplitter "$@"
