#!/usr/bin/env python3
"""Holds many idle sessions open through a tunnel, for utils/bench (scenario 5).

    idle_sessions.py HOST PORT COUNT [--hold 3] [--deadline 90]

Opens COUNT TCP connections to HOST:PORT (a tunnel client end in front of an echo service),
sends one byte on each and waits until every byte came back, so every session is open end to
end. Then prints "ready N" and keeps them open, idle, for --hold seconds (the caller samples
memory then), closes them all and prints "closed". Gives up after --deadline seconds in all,
printing "failed: ..." and exiting 1. The caller must allow enough open files (COUNT + a few).
"""
import argparse
import selectors
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--hold", type=float, default=3.0)
    parser.add_argument("--deadline", type=float, default=90.0)
    args = parser.parse_args()

    start = time.monotonic()
    sockets = []
    try:
        for _ in range(args.count):
            sock = socket.create_connection((args.host, args.port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(b"x")
            sock.setblocking(False)
            sockets.append(sock)
        selector = selectors.DefaultSelector()
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        waiting = len(sockets)
        while waiting > 0:
            left = args.deadline - (time.monotonic() - start)
            if left <= 0:
                print("failed: %d of %d echoes missing after %.0f s" % (waiting, len(sockets), args.deadline), flush=True)
                return 1
            for key, _ in selector.select(timeout=min(left, 1.0)):
                data = key.fileobj.recv(16)
                if not data:
                    print("failed: a session closed before its echo", flush=True)
                    return 1
                selector.unregister(key.fileobj)
                waiting -= 1
        print("ready %d %.2f" % (len(sockets), time.monotonic() - start), flush=True)
        time.sleep(max(0.0, min(args.hold, args.deadline - (time.monotonic() - start))))
    except OSError as error:
        print("failed: %s after %d connections" % (error, len(sockets)), flush=True)
        return 1
    finally:
        for sock in sockets:
            sock.close()
    print("closed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
