#!/usr/bin/env python3
"""Request/response latency probe for utils/bench (scenario 4).

    rr.py HOST PORT COUNT [--size 100] [--warmup 10] [--deadline 60]

Opens one TCP connection (TCP_NODELAY) to an echo service, then COUNT times sends SIZE bytes
and reads the SIZE bytes back, timing each round trip with a monotonic clock. The first
--warmup round trips are not counted (connection and session setup). Stops early, with what it
has, when --deadline seconds have passed. Prints one JSON object on stdout:
{"count": n, "p50_us": ..., "p99_us": ..., "mean_us": ..., "min_us": ..., "max_us": ...}
"""
import argparse
import json
import socket
import statistics
import sys
import time


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * (len(sorted_values) - 1)))))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--deadline", type=float, default=60.0)
    args = parser.parse_args()

    start = time.monotonic()
    sock = socket.create_connection((args.host, args.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(10)
    request = bytes((i * 7) & 0xFF for i in range(args.size))
    samples = []
    for index in range(args.warmup + args.count):
        if time.monotonic() - start > args.deadline:
            break
        sent_at = time.perf_counter_ns()
        sock.sendall(request)
        received = 0
        reply = bytearray()
        while received < args.size:
            chunk = sock.recv(args.size - received)
            if not chunk:
                print(json.dumps({"error": "connection closed after %d round trips" % index}))
                return 1
            reply += chunk
            received += len(chunk)
        elapsed = time.perf_counter_ns() - sent_at
        if bytes(reply) != request:
            print(json.dumps({"error": "echo differs at round trip %d" % index}))
            return 1
        if index >= args.warmup:
            samples.append(elapsed / 1000.0)
    sock.close()
    samples.sort()
    print(json.dumps({
        "count": len(samples),
        "p50_us": percentile(samples, 0.50),
        "p99_us": percentile(samples, 0.99),
        "mean_us": statistics.fmean(samples) if samples else None,
        "min_us": samples[0] if samples else None,
        "max_us": samples[-1] if samples else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
