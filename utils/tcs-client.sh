#!/usr/bin/env bash
# tcs-client.sh: start the tcsplitter client end.
#
# With no environment set it pairs with tcs-server.sh on the same machine:
# local apps connect to 127.0.0.1:6000; the tunnel goes to the server's fling
# port 10900 and sync port 10902 on 127.0.0.1. Run with --help for every variable.
set -euo pipefail

PROG=${0##*/}
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd -P)

usage() {
    cat <<EOF
Usage: $PROG [daemon] [EXTRA-TCSPLITTER-ARGS...]

Starts "tcsplitter client": every connection accepted on TCS_LISTEN becomes a
session carried over short connections to the server's fling (data) and sync
(control) ports. The defaults pair with tcs-server.sh on the same machine.

  daemon    run tcsplitter in a restart loop instead of exec'ing it: restart
            1 s after every exit (logged to stderr with the exit code); stop
            with SIGINT/SIGTERM/SIGHUP, which also stops tcsplitter.
  --help    show this text (only as the first argument; later arguments go to
            tcsplitter, e.g. "$PROG --tick 40").

Addresses (always passed):
  TCS_SERVER       the server's host                 (default 127.0.0.1)
  TCS_FLING_PORT   server's fling port, --rFling SERVER:PORT (default 10900)
  TCS_SYNC_PORT    server's sync port, --rSync SERVER:PORT   (default 10902)
  TCS_LISTEN       where local apps connect, --listen
                                                     (default 127.0.0.1:6000)
  An IPv6 host (one containing ':') is written as [host]:port.

Tuning (passed only when set; otherwise tcsplitter's own defaults apply;
must agree with the server where tcsplitter says so, e.g. frags, fec, key):
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

TCS_SERVER=${TCS_SERVER:-127.0.0.1}
TCS_FLING_PORT=${TCS_FLING_PORT:-10900}
TCS_SYNC_PORT=${TCS_SYNC_PORT:-10902}
TCS_LISTEN=${TCS_LISTEN:-127.0.0.1:6000}
check_port TCS_FLING_PORT "$TCS_FLING_PORT"
check_port TCS_SYNC_PORT "$TCS_SYNC_PORT"
[[ $TCS_FLING_PORT != "$TCS_SYNC_PORT" ]] || die "TCS_FLING_PORT and TCS_SYNC_PORT are both $TCS_FLING_PORT"

BIN=$(find_bin)

cmd=("$BIN" client
    --listen "$TCS_LISTEN"
    --rFling "$(join_host_port "$TCS_SERVER" "$TCS_FLING_PORT")"
    --rSync "$(join_host_port "$TCS_SERVER" "$TCS_SYNC_PORT")")
run_tcsplitter "$@"
