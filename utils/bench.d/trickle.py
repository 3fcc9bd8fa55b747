#!/usr/bin/env python3
"""Small-write probes for utils/bench scenario 7 (parts E and F).

    trickle.py sink PORT [--deadline 60]
        TCP: accepts one connection on 127.0.0.1:PORT, reads until EOF, prints "listening" first
        and then one JSON object {"bytes": n, "reads": k}.
    trickle.py writer HOST PORT [--writes 4000] [--size 100] [--every-ms 1] [--deadline 60]
        TCP (TCP_NODELAY): writes SIZE bytes every EVERY_MS ms (on an absolute schedule, so a late
        write does not shift the others), WRITES times, then half-closes and waits for EOF.
        Prints {"writes": n, "bytes": n, "seconds": s, "late_ms_max": m}.
    trickle.py udp-rr HOST PORT COUNT [--size 100] [--warmup 20] [--deadline 60] [--timeout 2]
        UDP: sends one datagram to an echo, waits for it, COUNT times after --warmup; prints
        {"count": n, "lost": n, "p50_us": ..., "p99_us": ..., "mean_us": ..., "min_us": ..., "max_us": ...}.
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


def sink(args):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(1)
    server.settimeout(args.deadline)
    print("listening", flush=True)
    connection, _ = server.accept()
    connection.settimeout(args.deadline)
    total = reads = 0
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        total += len(chunk)
        reads += 1
    connection.close()
    print(json.dumps({"bytes": total, "reads": reads}), flush=True)
    return 0


def writer(args):
    sock = socket.create_connection((args.host, args.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(args.deadline)
    data = bytes((i * 7) & 0xFF for i in range(args.size))
    start = time.monotonic()
    late = 0.0
    for index in range(args.writes):
        due = start + index * args.every_ms / 1000.0
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            late = max(late, -wait)
        sock.sendall(data)
    seconds = time.monotonic() - start
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(65536):  # the far end closes once it has read everything
        pass
    sock.close()
    print(json.dumps({"writes": args.writes, "bytes": args.writes * args.size, "seconds": seconds,
                      "late_ms_max": late * 1000.0}), flush=True)
    return 0


def udp_rr(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((args.host, args.port))
    sock.settimeout(args.timeout)
    start = time.monotonic()
    samples, lost = [], 0
    for index in range(args.warmup + args.count):
        if time.monotonic() - start > args.deadline:
            break
        request = index.to_bytes(4, "big") + bytes((i * 7) & 0xFF for i in range(args.size - 4))
        sent_at = time.perf_counter_ns()
        sock.send(request)
        try:
            while True:
                reply = sock.recv(65536)
                if reply == request:
                    break  # (a late echo of an earlier datagram is skipped)
        except socket.timeout:
            lost += 1
            continue
        elapsed = time.perf_counter_ns() - sent_at
        if index >= args.warmup:
            samples.append(elapsed / 1000.0)
    samples.sort()
    print(json.dumps({
        "count": len(samples), "lost": lost,
        "p50_us": percentile(samples, 0.50), "p99_us": percentile(samples, 0.99),
        "mean_us": statistics.fmean(samples) if samples else None,
        "min_us": samples[0] if samples else None, "max_us": samples[-1] if samples else None,
    }), flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("sink")
    p.add_argument("port", type=int)
    p.add_argument("--deadline", type=float, default=60.0)
    p = commands.add_parser("writer")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--writes", type=int, default=4000)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--every-ms", type=float, default=1.0)
    p.add_argument("--deadline", type=float, default=60.0)
    p = commands.add_parser("udp-rr")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("count", type=int)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--deadline", type=float, default=60.0)
    p.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    return {"sink": sink, "writer": writer, "udp-rr": udp_rr}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
