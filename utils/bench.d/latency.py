"""Scenario 4 of utils/bench: 100-byte request/response latency through the tunnel vs direct
(p50/p99)."""
from harness import LISTEN_PORT, PRESETS


def scenario_4(bench):
    count = 300 if bench.quick else 1000
    slow_count = 10 if bench.quick else 25  # --mode live: its fixed clocks add ~120 ms a round trip
    ns = bench.add_namespace("l")
    echo = bench.start(ns, [bench.tcsplitter, "echo", "--listen", "127.0.0.1:7100"], "echo")
    bench.wait_listening(ns, [7100])
    rows = []
    direct = bench.rr(ns, 7100, count)
    rows.append(bench.record(4, "direct to the echo service", kind="direct", **direct))
    for preset, flags_label, n in (("event", "--tick 0 --tock 0 --buffer 0", count),
                                   ("mode-interactive", "--mode interactive", count),
                                   ("mode-live", "--mode live (tock 20, buffer 40:4)", slow_count * 4),
                                   ("defaults", "defaults (adaptive clocks: tick 50, tock 250, buffer 250:0)", count)):
        try:
            client, server = bench.start_tunnel(ns, ns, "127.0.0.1", 4, preset, "127.0.0.1:7100", label="s4-" + preset)
            result = bench.rr(ns, LISTEN_PORT, n, warmup=10 if n == count else 2)
            client.stop()
            server.stop()
        except RuntimeError as error:
            result = {"note": str(error)}
        if result.get("p50_us") is not None and direct.get("p50_us") is not None:
            result["added_p50_us"] = result["p50_us"] - direct["p50_us"]
            result["added_p99_us"] = result["p99_us"] - direct["p99_us"]
        rows.append(bench.record(4, "tcsplitter --conns 4, %s" % flags_label, kind="tcsplitter", preset=preset,
                                 flags=" ".join(PRESETS[preset]), **result))
    echo.stop()
    bench.cleanup()
    bench.table(4, "Latency: 100-byte request/response on loopback (one connection, TCP_NODELAY)", rows,
                [("run", "label"), ("round trips", "count"), ("p50 µs", "p50_us"), ("p99 µs", "p99_us"),
                 ("added p50 µs", "added_p50_us"), ("added p99 µs", "added_p99_us")])
