#!/usr/bin/env bash
# start-tcs-server.sh: the tcsplitter server end for a real deployment.
#
# Sets the deployment defaults (the Go original's deploy ports) and execs
# ../tcs-server.sh, which reads the same TCS_* variables; any variable already
# set in the environment wins. All arguments, including a leading "daemon"
# (restart loop), are passed through.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)

case ${1:-} in
-h | --help | help)
    cat <<USAGE
Usage: ${0##*/} [daemon] [EXTRA-TCSPLITTER-ARGS...]

Deployment defaults (override any of them through the environment):
  TCS_BIND=0.0.0.0        listen on every interface
  TCS_FLING_PORT=19001    fling (data) port
  TCS_SYNC_PORT=19002     sync (control) port
  TCS_FORWARD             the service sessions go to (tcs-server.sh default
                          127.0.0.1:6003); set it to what you tunnel to
Set TCS_KEY_FILE to a pre-shared key file (the same on the client): without a
key anyone who reaches these ports can use the server as a relay.
Open 19001 and 19002/tcp in the firewall. Everything else: ../tcs-server.sh --help
USAGE
    exit 0
    ;;
esac

export TCS_BIND=${TCS_BIND:-0.0.0.0}
export TCS_FLING_PORT=${TCS_FLING_PORT:-19001}
export TCS_SYNC_PORT=${TCS_SYNC_PORT:-19002}

if [[ -z ${TCS_KEY_FILE:-} ]]; then
    echo "${0##*/}: warning: TCS_KEY_FILE is not set; the server on $TCS_BIND accepts unauthenticated peers" >&2
fi

exec "$HERE/../tcs-server.sh" "$@"
