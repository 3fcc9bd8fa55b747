#!/usr/bin/env bash
# start-tcs-client.sh: the tcsplitter client end for a real deployment.
#
# Sets the deployment defaults (the Go original's deploy ports) and execs
# ../tcs-client.sh, which reads the same TCS_* variables; any variable already
# set in the environment wins. TCS_SERVER (the server's host) is required.
# All arguments, including a leading "daemon" (restart loop), are passed through.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)

case ${1:-} in
-h | --help | help)
    cat <<USAGE
Usage: TCS_SERVER=HOST ${0##*/} [daemon] [EXTRA-TCSPLITTER-ARGS...]

Required:
  TCS_SERVER              the server's host name or IP (IPv6 without brackets)
Deployment defaults (override any of them through the environment):
  TCS_FLING_PORT=19001    server's fling (data) port
  TCS_SYNC_PORT=19002     server's sync (control) port
  TCS_CONNS               pool of connections to the server (default auto:
                          it sizes itself; a number fixes it)
  TCS_MODE                a --mode preset (the server follows the client)
  TCS_LISTEN              where local apps connect (tcs-client.sh default
                          127.0.0.1:6000)
Set TCS_KEY_FILE to the same pre-shared key file as the server.
Everything else: ../tcs-client.sh --help
USAGE
    exit 0
    ;;
esac

if [[ -z ${TCS_SERVER:-} ]]; then
    echo "${0##*/}: error: set TCS_SERVER to the server's host, e.g. TCS_SERVER=203.0.113.7 ${0##*/} daemon" >&2
    exit 1
fi

export TCS_SERVER
export TCS_FLING_PORT=${TCS_FLING_PORT:-19001}
export TCS_SYNC_PORT=${TCS_SYNC_PORT:-19002}

exec "$HERE/../tcs-client.sh" "$@"
