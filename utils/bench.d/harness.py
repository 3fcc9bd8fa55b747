"""What every part of utils/bench shares: the repository's paths, log() and run(), the
topology's addresses and ports, and the tunnel flag presets.

autopool.py (scenario 7) gets this module as its `harness` and reads PRESETS, EVENT, S_ADDR,
IPERF_PORT, LISTEN_PORT, log and run from it.
"""
import os
import subprocess
import sys

HELPERS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HELPERS))

EVENT = ["--tick", "0", "--tock", "0", "--buffer", "0"]
RETRIES = ["--retries", "1:-1"]
BULK = EVENT + ["--budget", "1024", "--window", "16MiB", "--frags", "65536:1250"]
# Tunnel flag presets. Each row of the tables names its preset; flags go to both ends (--conns
# to the client only). "event" is the tick = tock = buffer = 0; "bulk" adds long-lived
# connections (budget 1024), a 16 MiB window and 64 KiB payloads; "+retries" adds --retries 1:-1.
PRESETS = {
    "defaults": [],
    "event": EVENT,
    "event+retries": EVENT + RETRIES,
    "event+budget1024": EVENT + ["--budget", "1024"],
    "event+window16MiB": EVENT + ["--window", "16MiB"],
    "event+frags64KiB": EVENT + ["--frags", "65536:1250"],
    "bulk": BULK,
    "bulk+retries": BULK + RETRIES,
    # The --mode presets themselves (explicit --conns from a table row still wins).
    "mode-bulk": ["--mode", "bulk"],
    "mode-lossy": ["--mode", "lossy"],
    "mode-interactive": ["--mode", "interactive"],
    "mode-live": ["--mode", "live"],
    "mode-stealth": ["--mode", "stealth"],
    "retries-off": ["--retries", "0:-1"],
}

C_ADDR, R_C_ADDR = "198.18.1.1", "198.18.1.254"
S_ADDR, R_S_ADDR = "198.18.2.1", "198.18.2.254"
FLING_PORT, SYNC_PORT, LISTEN_PORT, IPERF_PORT = 10900, 10902, 6000, 5201


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(argv, check=True, timeout=60, quiet=False):
    """Runs a short command to completion (bounded); returns its CompletedProcess."""
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), result.returncode, result.stderr.strip()))
    if not quiet and result.returncode != 0:
        log("  (%s: %s)" % (" ".join(argv), result.stderr.strip()))
    return result
