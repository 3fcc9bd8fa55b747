#!/usr/bin/env bash
# Connections opened per second per --dup mode (idle IDLE s, default 31, then under load: 4
# sessions x 64 MiB each way), and 100-byte round trips (rr.py), on loopback. Needs root (an
# nftables counter of SYNs to the server's fling port in table inet tcsrate, removed at the end).
# Stops only the processes it started, by PID. Usage: sudo utils/bench.d/connrate.sh
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${TCS_BIN:-$REPO/.build/release/tcsplitter}
RR=$REPO/utils/bench.d/rr.py
EV="--tick 0 --tock 0 --buffer 0"
D=$(mktemp -d /tmp/tcs-connrate.XXXX)
$BIN echo --listen 127.0.0.1:0 >$D/echo.out 2>/dev/null & EP=$!
for i in $(seq 50); do grep -q ready $D/echo.out && break; sleep 0.1; done
ECHO=$(sed -n 's/.*listen=\([^ ]*\).*/\1/p' $D/echo.out)
echo "direct rr: $(python3 $RR 127.0.0.1 ${ECHO##*:} 1000)"
count() { nft list table inet tcsrate 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1; }
for MODE in fling lasso both none; do
  $BIN server --lFling 127.0.0.1:0 --lSync 127.0.0.1:0 --forward $ECHO $EV --log-level warning >$D/s.$MODE.out 2>$D/s.$MODE.err & SP=$!
  for i in $(seq 50); do grep -q ready $D/s.$MODE.out && break; sleep 0.1; done
  FL=$(sed -n 's/.*fling=\([^ ]*\).*/\1/p' $D/s.$MODE.out); SY=$(sed -n 's/.*sync=\([^ ]*\).*/\1/p' $D/s.$MODE.out)
  nft delete table inet tcsrate 2>/dev/null
  nft -f - <<NFT
table inet tcsrate {
  chain out {
    type filter hook output priority 0;
    tcp dport ${FL##*:} tcp flags & (syn|ack) == syn counter
  }
}
NFT
  $BIN client --listen 127.0.0.1:0 --rFling $FL --rSync $SY --dup $MODE $EV --log-level warning >$D/c.$MODE.out 2>$D/c.$MODE.err & CP=$!
  for i in $(seq 50); do grep -q ready $D/c.$MODE.out && break; sleep 0.1; done
  L=$(sed -n 's/.*listen=\([^ ]*\).*/\1/p' $D/c.$MODE.out)
  sleep 1; a=$(count); sleep ${IDLE:-31}; b=$(count)
  idle=$(python3 -c "print(round(($b-$a)/${IDLE:-31},2))")
  rr=$(python3 $RR 127.0.0.1 ${L##*:} 1000)
  a=$(count); t0=$(date +%s.%N)
  pr=$(timeout 120 $BIN probe --connect $L --bytes 64MiB --sessions 4); t1=$(date +%s.%N); b=$(count)
  load=$(python3 -c "print(round(($b-$a)/($t1-$t0),1))")
  echo "mode=$MODE idle_conns_per_s=$idle load_conns_per_s=$load ($((b-a)) in $(python3 -c "print(round($t1-$t0,2))") s) | $pr | rr: $rr"
  kill $CP $SP; wait $CP $SP 2>/dev/null
done
nft delete table inet tcsrate 2>/dev/null
kill $EP; wait $EP 2>/dev/null
