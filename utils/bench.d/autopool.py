#!/usr/bin/env python3
"""Scenario 7 of utils/bench: the auto pool (--conns auto), --congestion auto and default retries.

utils/bench imports this file and calls scenario_7(bench, harness), `harness` being
utils/bench.d/harness.py (PRESETS, addresses, ports). Only with `--scenario 7`. Every tunnel row runs the
binary's defaults with no --conns unless the row says otherwise; each end also gets
`--metrics 127.0.0.1:0` (a port of its own, read from the ready line) so the row can report the
client's pool gauge and connection / payload counters after the run. Each link row is one run of
iperf3 -P 1 through the tunnel (10 s, 2 s omitted), or direct iperf3 -P N for the references:

  A  RTT 200 ms, 1% random loss each way, 100 Mbit/s (scenario 2's link): defaults, --mode lossy,
     and direct iperf3 -P 4 with the namespaces' congestion control set to bbr
  B  RTT 40 ms, every TCP flow policed to 6 Mbit/s, 120 Mbit/s bottleneck: iperf3 -P 24, -P 6,
     -P 1; defaults; --conns 6 (retries on, the default) and --conns 6 --retries 0:-1
  C  RTT 50 ms, 0.5% random loss each way, 50 Mbit/s: defaults; iperf3 -P 16
  D  clean loopback in one namespace: `tcsplitter probe` through the tunnel to `tcsplitter echo`,
     (1) 256 MiB each way at defaults vs --conns 4 (throughput, fling connections opened by the
     client), (2) 128 MiB each way at defaults vs --retries 0:-1 (throughput, payloads resent /
     sent summed over both ends); each pair ROUNDS times, alternating, medians reported
  E  trickle merge, RTT 50 ms, no loss: trickle.py writes 100 bytes every 1 ms (4,000 writes,
     TCP_NODELAY) into the tunnel at defaults and at --tick 0 --tock 0 --buffer 0, to a sink in
     the server namespace; the client's payloads sent (from /metrics); target <= 400 at defaults
  F  UDP latency on loopback: trickle.py udp-rr, 100-byte datagrams one at a time (500 after 20
     warm-ups) to `tcsplitter udp-echo`, direct and through --protocol udp tunnels at defaults and
     at --tick 0 --tock 0 --buffer 0; target: defaults' p50 within 1 ms of the event-driven p50
  (E and F: ROUNDS interleaved runs, medians. TCSB_S7_PARTS=EF in the environment runs only the
  parts named.)

The client's `pool: N fling connections (...)` and `pool: holding at N ...` log lines (the latter
marked "h" in the trace) are stamped as they arrive (seconds
since the tunnel was up, before iperf3 started; the trace starts at the pool gauge read then,
4 for --conns auto), so each row carries its pool trace;
run A's trace is drawn to autopool-lossy-pool.png (matplotlib) and written to
autopool-lossy-pool.csv. Every row goes to DIR/autopool.csv, and the three files are copied to
utils/bench.d/results/. A last table checks each target of the two issues (met / not met).
"""
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import threading
import time

from report import fmt
from sampling import proc_cpu_seconds

SECONDS, OMIT = 10, 2
ROUNDS = 3
ECHO_PORT = 7100
SINK_PORT = 7101
UDP_ECHO_PORT = 7200
TRICKLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trickle.py")
TRICKLE_WRITES = 4000
UDP_COUNT = 500
# TCSB_S7_PARTS=EF (say) runs only those parts of scenario 7.
PARTS = os.environ.get("TCSB_S7_PARTS", "ABCDEF").upper()
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
POOL_LINE = re.compile(r"pool: (\d+) fling connections? \((.*)\)\s*$")
POOL_HOLD = re.compile(r"pool: holding at (\d+) fling connections? \((.*)\)\s*$")
POOL_RATE = re.compile(r"([\d.]+) Mbit/s over the last (\d+) ms")
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*)")
CONGESTION = re.compile(r"congestion control of the tunnel's connections: (.*)$")
METRICS = ["--metrics", "127.0.0.1:0"]
START_POOL = 4  # --conns auto starts at 4


class PoolWatch:
    """Stamps the client's `pool:` lines with their arrival time (s since `start()`)."""

    def __init__(self, process, start_pool=None):
        self.process = process
        self.t0 = time.monotonic()
        start_pool = int(start_pool) if start_pool else START_POOL
        self.events = [{"t_s": 0.0, "pool": start_pool, "reason": "start", "mbit": None, "window_ms": None,
                        "log_time": ""}]
        self.seen = len(process.lines)
        self.done = False
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def now(self):
        return time.monotonic() - self.t0

    def _watch(self):
        process = self.process
        while True:
            with process.condition:
                if len(process.lines) <= self.seen:
                    if self.done:
                        return
                    process.condition.wait(0.2)
                new = process.lines[self.seen:]
                self.seen += len(new)
            stamp = self.now()
            for line in new:
                match = POOL_LINE.search(line)
                hold = POOL_HOLD.search(line) if not match else None
                if hold:  # growth stopped: the size stays, the trace notes it ("h")
                    rate = re.search(r"(\d+) Mbit/s\)?$", hold.group(2) + ")")
                    when = LOG_TIME.match(line)
                    self.events.append({"t_s": stamp, "pool": int(hold.group(1)), "reason": "holding: " + hold.group(2),
                                        "mbit": float(rate.group(1)) if rate else None, "window_ms": None,
                                        "log_time": when.group(1) if when else "", "hold": True})
                    continue
                if not match:
                    continue
                rate = POOL_RATE.search(match.group(2))
                when = LOG_TIME.match(line)
                self.events.append({"t_s": stamp, "pool": int(match.group(1)),
                                    "reason": match.group(2).split(";")[0].strip(),
                                    "mbit": float(rate.group(1)) if rate else None,
                                    "window_ms": int(rate.group(2)) if rate else None,
                                    "log_time": when.group(1) if when else ""})

    def stop(self):
        time.sleep(0.3)  # lines already written reach the reader thread
        self.done = True
        self.thread.join(timeout=2)

    def summary(self):
        return " ".join("%.1fs:%d%s" % (e["t_s"], e["pool"], "h" if e.get("hold") else "") for e in self.events)


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


class AutoPool:
    def __init__(self, bench, harness):
        self.bench = bench
        self.h = harness
        self.log = harness.log
        self.rows = []
        self.targets = []
        self.lossy_trace = None
        self.presets = {}
        if "retries-off" not in harness.PRESETS:
            harness.PRESETS["retries-off"] = ["--retries", "0:-1"]

    # ------------------------------------------------------------------ plumbing

    def preset(self, name):
        """The preset plus --metrics 127.0.0.1:0 (each end picks a port), registered under a
        name of its own so start_tunnel passes it to both ends."""
        metered = name + "+metrics"
        self.h.PRESETS[metered] = self.h.PRESETS[name] + METRICS
        return metered

    def metrics(self, ns, process):
        """{'name{labels}': value} from the end's --metrics address (read from its ready line)."""
        line = process.wait_line(r"tcsplitter ready.*metrics=", 1)
        match = re.search(r"metrics=(\S+)", line or "")
        if not match:
            return {}
        code = ("import urllib.request,sys\n"
                "sys.stdout.write(urllib.request.urlopen('http://%s/metrics', timeout=5).read().decode())" % match.group(1))
        out = self.h.run(["ip", "netns", "exec", ns, "python3", "-c", code], check=False, quiet=True, timeout=20).stdout
        values = {}
        for text in out.splitlines():
            if text.startswith("#") or not text.strip():
                continue
            parts = text.rsplit(None, 1)
            try:
                values[parts[0]] = float(parts[1])
            except (IndexError, ValueError):
                pass
        return values

    def congestion(self, process):
        for line in process.lines:
            match = CONGESTION.search(line)
            if match:
                return match.group(1).split(" (")[0]
        return "not logged"  # e.g. --mode lossy's explicit --congestion bbr

    def record(self, label, **values):
        row = self.bench.record(7, label, **values)
        self.rows.append(row)
        return row

    def iperf_row(self, part, label, parallel, reference=None):
        b = self.bench
        mbit, _, error = b.iperf(b.c, b.s, self.h.S_ADDR, self.h.IPERF_PORT, parallel, SECONDS, OMIT)
        return self.record("%s: %s" % (part, label), part=part, kind="iperf3", n=parallel, goodput_mbit=mbit,
                           note=error or "")

    def tunnel_row(self, part, label, conns, preset, keep_trace=False):
        """iperf3 -P 1 through a fresh tunnel with the pool watched; one row."""
        b, h = self.bench, self.h
        row = {"part": part, "kind": "tcsplitter", "preset": preset,
               "n": conns or ("auto" if "--mode" not in self.h.PRESETS[preset] else "the mode's"),
               "flags": " ".join((["--conns", str(conns)] if conns else []) + h.PRESETS[preset])}
        try:
            client, server = b.start_tunnel(b.c, b.s, h.S_ADDR, conns, self.preset(preset),
                                            "127.0.0.1:%d" % h.IPERF_PORT, label="s7%s-%s-%s" % (part, conns or "auto", preset))
        except RuntimeError as error:
            return self.record("%s: %s" % (part, label), goodput_mbit=0.0, note=str(error), **row)
        watch = PoolWatch(client, self.metrics(b.c, client).get("tcsplitter_pool_connections"))
        cpu_before = (proc_cpu_seconds(client.pid), proc_cpu_seconds(server.pid))
        iperf_start = watch.now()
        mbit, received, error = b.iperf(b.c, b.s, "127.0.0.1", h.LISTEN_PORT, 1, SECONDS, OMIT, server_bind="127.0.0.1")
        iperf_end = watch.now()
        cpu_after = (proc_cpu_seconds(client.pid), proc_cpu_seconds(server.pid))
        client_metrics = self.metrics(b.c, client)
        server_metrics = self.metrics(b.s, server)
        watch.stop()
        row.update(self.counters(client_metrics, server_metrics))
        row["goodput_mbit"] = mbit
        row["pool_trace"] = watch.summary()
        row["pool_max"] = max(e["pool"] for e in watch.events)
        row["iperf_start_s"], row["iperf_end_s"] = iperf_start, iperf_end
        row["congestion"] = self.congestion(client)
        if None not in cpu_before and None not in cpu_after and received:
            row["cpu_s_per_gib"] = (sum(cpu_after) - sum(cpu_before)) / (received / 2**30)
        notes = [error] if error else []
        for end in (client, server):
            if not end.alive():
                notes.append("%s exited: %s" % (end.name, " | ".join(end.tail(3))))
        client.stop()
        server.stop()
        row["note"] = "; ".join(notes)
        if keep_trace:
            self.lossy_trace = {"events": watch.events, "iperf_start": iperf_start, "iperf_end": iperf_end,
                                "omit": OMIT, "mbit": mbit, "label": label}
        return self.record("%s: %s" % (part, label), **row)

    @staticmethod
    def counters(client, server):
        both = lambda key: int((client.get(key) or 0.0) + (server.get(key) or 0.0))
        whole = lambda value: int(value) if value is not None else None
        return {"pool_final": whole(client.get("tcsplitter_pool_connections")),
                "fling_opened": whole(client.get('tcsplitter_connections_opened_total{kind="fling"}')),
                "lasso_opened": whole(client.get('tcsplitter_connections_opened_total{kind="lasso"}')),
                "payloads_sent": both('tcsplitter_payloads_total{direction="sent"}'),
                "payloads_resent": both("tcsplitter_payloads_resent_total")}

    def target(self, name, value, reference, factor, unit="Mbit/s"):
        met = value is not None and reference is not None and value >= factor * reference
        self.targets.append({"label": name, "value": value, "reference": reference, "factor": factor,
                             "ratio": (value / reference) if value is not None and reference else None,
                             "met": "yes" if met else "NO", "unit": unit})
        self.log("  target %-60s %s" % (name, "met" if met else "NOT met"))

    def link(self, delay_ms, rate_mbit, congestion="cubic"):
        b = self.bench
        b.link_topology(delay_ms=delay_ms, congestion=congestion)
        # a byte FIFO of half the bandwidth-delay product, as scenario 2
        b.shape(rate_mbit, int(rate_mbit * 1e6 / 8 * delay_ms / 1000 / 2))

    # ------------------------------------------------------------------ parts

    def part_a(self):
        b = self.bench
        self.link(200, 100)
        b.police(loss_percent=1.0)
        defaults = self.tunnel_row("A", "tcsplitter defaults (no --conns)", None, "defaults", keep_trace=True)
        lossy = self.tunnel_row("A", "tcsplitter --mode lossy", None, "mode-lossy")
        b.cleanup()
        self.link(200, 100, congestion="bbr")
        b.police(loss_percent=1.0)
        bbr = self.iperf_row("A", "iperf3 -P 4, bbr (direct)", 4)
        b.cleanup()
        for row in (defaults, lossy, bbr):
            row["ratio_to_link"] = row["goodput_mbit"] / 100.0
        self.target("A: defaults >= 0.95 x --mode lossy", defaults["goodput_mbit"], lossy["goodput_mbit"], 0.95)
        self.target("A: defaults >= 0.85 x iperf3 -P 4 bbr", defaults["goodput_mbit"], bbr["goodput_mbit"], 0.85)

    def part_b(self):
        b = self.bench
        self.link(40, 120)
        b.police(flow_cap_mbit=6)
        p24 = self.iperf_row("B", "iperf3 -P 24 (ceiling)", 24)
        p6 = self.iperf_row("B", "iperf3 -P 6", 6)
        self.iperf_row("B", "iperf3 -P 1", 1)
        defaults = self.tunnel_row("B", "tcsplitter defaults (no --conns)", None, "defaults")
        on = self.tunnel_row("B", "tcsplitter --conns 6 (retries 1:-1, the default)", 6, "defaults")
        off = self.tunnel_row("B", "tcsplitter --conns 6 --retries 0:-1", 6, "retries-off")
        b.cleanup()
        for row in (defaults, on, off):
            row["ratio_to_link"] = row["goodput_mbit"] / 120.0
        self.target("B: defaults >= 0.8 x iperf3 -P 24", defaults["goodput_mbit"], p24["goodput_mbit"], 0.8)
        self.target("B: --conns 6 retries on >= 0.95 x retries off", on["goodput_mbit"], off["goodput_mbit"], 0.95)
        self.target("B: --conns 6 retries on >= 0.9 x iperf3 -P 6", on["goodput_mbit"], p6["goodput_mbit"], 0.9)

    def part_c(self):
        b = self.bench
        self.link(50, 50)
        b.police(loss_percent=0.5)
        defaults = self.tunnel_row("C", "tcsplitter defaults (no --conns)", None, "defaults")
        self.iperf_row("C", "iperf3 -P 16", 16)
        b.cleanup()
        defaults["ratio_to_link"] = defaults["goodput_mbit"] / 50.0
        self.target("C: defaults >= 0.9 x 50 Mbit/s", defaults["goodput_mbit"], 50.0, 0.9)

    def probe_sample(self, ns, conns, preset, size, tag):
        """One `tcsplitter probe` of `size` each way through a fresh tunnel to the echo service."""
        b, h = self.bench, self.h
        sample = {}
        try:
            client, server = b.start_tunnel(ns, ns, "127.0.0.1", conns, self.preset(preset), "127.0.0.1:%d" % ECHO_PORT,
                                            label="s7D-%s" % tag)
        except RuntimeError as error:
            return {"note": str(error)}
        watch = PoolWatch(client, self.metrics(ns, client).get("tcsplitter_pool_connections"))
        cpu_before = (proc_cpu_seconds(client.pid), proc_cpu_seconds(server.pid))
        argv = [b.tcsplitter, "probe", "--connect", "127.0.0.1:%d" % h.LISTEN_PORT, "--bytes", size,
                "--sessions", "1", "--timeout", "120000"]
        try:
            result = subprocess.run(["ip", "netns", "exec", ns] + argv, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=150)
            output, code = result.stdout, result.returncode
        except subprocess.TimeoutExpired as expired:
            output, code = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) \
                else (expired.stdout or ""), "timeout"
        with open(b.log_path("probe-%s.log" % tag), "w") as handle:
            handle.write("# ip netns exec %s %s\n%s" % (ns, " ".join(argv), output))
        cpu_after = (proc_cpu_seconds(client.pid), proc_cpu_seconds(server.pid))
        rate = re.search(r"([\d.]+) MiB/s each way", output)
        if rate and code == 0:
            sample["goodput_mbit"] = float(rate.group(1)) * 8 * 1.048576
        else:
            sample["goodput_mbit"] = 0.0
            sample["note"] = "probe: exit %s: %s" % (code, output.strip()[-160:])
        sample.update(self.counters(self.metrics(ns, client), self.metrics(ns, server)))
        watch.stop()
        sample["pool_trace"] = watch.summary()
        sample["pool_max"] = max(e["pool"] for e in watch.events)
        if None not in cpu_before and None not in cpu_after:
            sample["cpu_s"] = sum(cpu_after) - sum(cpu_before)
        for end in (client, server):
            if not end.alive():
                sample["note"] = (sample.get("note", "") + " %s exited: %s" % (end.name, " | ".join(end.tail(3)))).strip()
        client.stop()
        server.stop()
        return sample

    def combine(self, samples):
        row = {}
        for key in ("goodput_mbit", "fling_opened", "payloads_sent", "payloads_resent", "cpu_s", "pool_final"):
            row[key] = median(s.get(key) for s in samples)
        row["samples_mbit"] = " / ".join("%.0f" % (s.get("goodput_mbit") or 0.0) for s in samples)
        row["fling_samples"] = " / ".join("%d" % (s.get("fling_opened") or 0) for s in samples)
        row["resent_samples"] = " / ".join("%d/%d" % (s.get("payloads_resent") or 0, s.get("payloads_sent") or 0)
                                           for s in samples)
        row["pool_max"] = max([s.get("pool_max") or 0 for s in samples])
        row["pool_trace"] = " | ".join(s.get("pool_trace", "") for s in samples)
        sent = sum(s.get("payloads_sent") or 0 for s in samples)
        row["resent_pct"] = 100.0 * sum(s.get("payloads_resent") or 0 for s in samples) / sent if sent else None
        row["note"] = "; ".join(sorted(set(s["note"] for s in samples if s.get("note"))))
        return row

    def part_d(self):
        b = self.bench
        ns = b.add_namespace("l")
        echo = b.start(ns, [b.tcsplitter, "echo", "--listen", "127.0.0.1:%d" % ECHO_PORT], "echo")
        if not b.wait_listening(ns, [ECHO_PORT]):
            raise RuntimeError("echo service did not listen: %s" % echo.tail())
        pairs = [("D1", "256MiB", [("tcsplitter defaults (no --conns), probe 256 MiB each way", None, "defaults"),
                                   ("tcsplitter --conns 4, probe 256 MiB each way", 4, "defaults")]),
                 ("D2", "128MiB", [("tcsplitter defaults (no --conns), probe 128 MiB each way", None, "defaults"),
                                   ("tcsplitter --retries 0:-1, probe 128 MiB each way", None, "retries-off")])]
        results = {}
        for part, size, variants in pairs:
            samples = {label: [] for label, _, _ in variants}
            for number in range(ROUNDS):
                self.log("scenario 7 %s: round %d of %d" % (part, number + 1, ROUNDS))
                for label, conns, preset in variants:
                    samples[label].append(self.probe_sample(ns, conns, preset, size,
                                                            "%s-%s-%s-%d" % (part, conns or "auto", preset, number + 1)))
            results[part] = []
            for label, conns, preset in variants:
                row = self.combine(samples[label])
                row.update(part=part, kind="tcsplitter-probe", preset=preset, n=conns if conns else "auto",
                           flags=" ".join((["--conns", str(conns)] if conns else []) + self.h.PRESETS[preset]))
                results[part].append(self.record("%s: %s" % (part, label), **row))
        echo.stop()
        b.cleanup()
        auto, fixed = results["D1"]
        self.target("D1: defaults throughput >= --conns 4", auto["goodput_mbit"], fixed["goodput_mbit"], 1.0)
        opened = auto["fling_opened"]
        self.targets.append({"label": "D1: defaults open <= 64 data connections (fling, client; median)",
                             "value": opened, "reference": 64, "factor": None, "unit": "connections",
                             "ratio": None, "met": "yes" if opened is not None and opened <= 64 else "NO"})
        on, off = results["D2"]
        self.target("D2: defaults (retries on) >= 0.95 x --retries 0:-1", on["goodput_mbit"], off["goodput_mbit"], 0.95)
        pct = on["resent_pct"]
        self.targets.append({"label": "D2: defaults resent <= 1% of sent (both ends, all rounds)", "value": pct,
                             "reference": 1.0, "factor": None, "unit": "%", "ratio": None,
                             "met": "yes" if pct is not None and pct <= 1.0 else "NO"})

    def trickle_sample(self, preset, tag):
        """One trickle: 4,000 writes of 100 bytes, one a millisecond, through a fresh tunnel to a
        sink in the server namespace; the client's payloads sent counted by its /metrics."""
        b, h = self.bench, self.h
        sample = {}
        sink = b.start(b.s, ["python3", TRICKLE, "sink", str(SINK_PORT), "--deadline", "60"], "sink-%s" % tag)
        if not sink.wait_line(r"^listening", 10):
            sink.stop()
            return {"note": "sink did not start: %s" % sink.tail()}
        try:
            client, server = b.start_tunnel(b.c, b.s, h.S_ADDR, None, self.preset(preset), "127.0.0.1:%d" % SINK_PORT,
                                            label="s7E-%s" % tag)
        except RuntimeError as error:
            sink.stop()
            return {"note": str(error)}
        before = self.metrics(b.c, client).get('tcsplitter_payloads_total{direction="sent"}') or 0.0
        argv = ["python3", TRICKLE, "writer", "127.0.0.1", str(h.LISTEN_PORT), "--writes", str(TRICKLE_WRITES),
                "--size", "100", "--every-ms", "1", "--deadline", "60"]
        try:
            out = subprocess.run(["ip", "netns", "exec", b.c] + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, timeout=90).stdout
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout or ""
        with open(b.log_path("trickle-writer-%s.log" % tag), "w") as handle:
            handle.write("# ip netns exec %s %s\n%s" % (b.c, " ".join(argv), out))
        try:
            written = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            written = {}
            sample["note"] = "writer: %s" % out.strip()[-160:]
        received = sink.wait_line(r"^\{", 20)
        try:
            received = json.loads(received) if received else {}
        except ValueError:
            received = {}
        client_metrics = self.metrics(b.c, client)
        after = client_metrics.get('tcsplitter_payloads_total{direction="sent"}')
        sample.update(writes=written.get("writes"), write_seconds=written.get("seconds"),
                      late_ms_max=written.get("late_ms_max"), sink_bytes=received.get("bytes"),
                      sink_reads=received.get("reads"),
                      payloads_sent=int(after - before) if after is not None else None,
                      payloads_total=int(after) if after is not None else None)
        if received.get("bytes") != TRICKLE_WRITES * 100:
            sample["note"] = (sample.get("note", "") + " sink got %s of %d bytes" % (received.get("bytes"), TRICKLE_WRITES * 100)).strip()
        for end in (client, server):
            if not end.alive():
                sample["note"] = (sample.get("note", "") + " %s exited: %s" % (end.name, " | ".join(end.tail(3)))).strip()
        client.stop()
        server.stop()
        sink.stop()
        return sample

    def part_e(self):
        """Trickle merge: RTT 50 ms, no loss; defaults vs --tick 0 --tock 0 --buffer 0, ROUNDS
        interleaved runs each, the median of the client's payloads sent."""
        b = self.bench
        b.link_topology(delay_ms=50)
        variants = [("tcsplitter defaults (no --conns)", "defaults"),
                    ("tcsplitter --tick 0 --tock 0 --buffer 0", "event")]
        samples = {label: [] for label, _ in variants}
        for number in range(ROUNDS):
            self.log("scenario 7 E: round %d of %d" % (number + 1, ROUNDS))
            for label, preset in variants:
                samples[label].append(self.trickle_sample(preset, "%s-%d" % (preset, number + 1)))
        b.cleanup()
        rows = {}
        for label, preset in variants:
            got = samples[label]
            row = {"part": "E", "kind": "tcsplitter-trickle", "preset": preset, "n": "auto",
                   "flags": " ".join(self.h.PRESETS[preset])}
            for key in ("payloads_sent", "sink_reads", "write_seconds", "late_ms_max"):
                row[key] = median(s.get(key) for s in got)
            row["payload_samples"] = " / ".join(str(s.get("payloads_sent")) for s in got)
            row["sink_bytes"] = " / ".join(str(s.get("sink_bytes")) for s in got)
            row["note"] = "; ".join(sorted(set(s["note"] for s in got if s.get("note"))))
            rows[preset] = self.record("E: %s" % label, **row)
        sent = rows["defaults"]["payloads_sent"]
        self.targets.append({"label": "E: defaults send <= 400 payloads for 4,000 writes of 100 B (median)",
                             "value": sent, "reference": TRICKLE_WRITES // 10, "factor": None, "unit": "payloads",
                             "ratio": None, "met": "yes" if sent is not None and sent <= TRICKLE_WRITES // 10 else "NO"})

    def udp_sample(self, ns, preset, tag):
        """500 one-at-a-time 100-byte datagram round trips through a fresh --protocol udp tunnel
        (or straight to the echo with preset None)."""
        b, h = self.bench, self.h
        client = server = None
        port = UDP_ECHO_PORT
        if preset:
            try:
                client, server = b.start_tunnel(ns, ns, "127.0.0.1", None, preset, "127.0.0.1:%d" % UDP_ECHO_PORT,
                                                label="s7F-%s" % tag)
            except RuntimeError as error:
                return {"note": str(error)}
            port = h.LISTEN_PORT
        argv = ["python3", TRICKLE, "udp-rr", "127.0.0.1", str(port), str(UDP_COUNT), "--warmup", "20",
                "--deadline", "60", "--timeout", "2"]
        try:
            out = subprocess.run(["ip", "netns", "exec", ns] + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, timeout=90).stdout
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout or ""
        with open(b.log_path("udp-rr-%s.log" % tag), "w") as handle:
            handle.write("# ip netns exec %s %s\n%s" % (ns, " ".join(argv), out))
        try:
            sample = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            sample = {"note": "udp-rr: %s" % out.strip()[-160:]}
        for end in (client, server):
            if end is not None:
                if not end.alive():
                    sample["note"] = (sample.get("note", "") + " %s exited: %s" % (end.name, " | ".join(end.tail(3)))).strip()
                end.stop()
        return sample

    def part_f(self):
        """UDP latency on loopback: direct, --protocol udp at defaults, and with --tick 0 --tock 0
        --buffer 0; ROUNDS interleaved runs each, medians of their p50 and p99."""
        b, h = self.bench, self.h
        h.PRESETS["udp"] = ["--protocol", "udp"]
        h.PRESETS["udp-event"] = ["--protocol", "udp"] + h.EVENT
        ns = b.add_namespace("l")
        echo = b.start(ns, [b.tcsplitter, "udp-echo", "--listen", "127.0.0.1:%d" % UDP_ECHO_PORT], "udp-echo")
        time.sleep(0.5)
        if not echo.alive():
            raise RuntimeError("udp-echo exited: %s" % echo.tail())
        variants = [("direct to tcsplitter udp-echo", None),
                    ("tcsplitter --protocol udp, defaults", "udp"),
                    ("tcsplitter --protocol udp --tick 0 --tock 0 --buffer 0", "udp-event")]
        samples = {label: [] for label, _ in variants}
        for number in range(ROUNDS):
            self.log("scenario 7 F: round %d of %d" % (number + 1, ROUNDS))
            for label, preset in variants:
                samples[label].append(self.udp_sample(ns, preset, "%s-%d" % (preset or "direct", number + 1)))
        echo.stop()
        b.cleanup()
        rows = {}
        for label, preset in variants:
            got = samples[label]
            row = {"part": "F", "kind": "tcsplitter-udp" if preset else "direct", "preset": preset or "",
                   "n": "auto" if preset else "", "flags": " ".join(h.PRESETS[preset]) if preset else ""}
            for key in ("p50_us", "p99_us", "count", "lost"):
                row[key] = median(s.get(key) for s in got)
            row["p50_samples"] = " / ".join("%.0f" % s["p50_us"] if s.get("p50_us") is not None else "-" for s in got)
            row["p99_samples"] = " / ".join("%.0f" % s["p99_us"] if s.get("p99_us") is not None else "-" for s in got)
            row["note"] = "; ".join(sorted(set(s["note"] for s in got if s.get("note"))))
            rows[preset] = self.record("F: %s" % label, **row)
        d, e = rows["udp"]["p50_us"], rows["udp-event"]["p50_us"]
        self.targets.append({"label": "F: udp defaults p50 <= event-driven p50 + 1 ms (medians)", "value": d,
                             "reference": (e + 1000.0) if e is not None else None, "factor": None, "unit": "µs",
                             "ratio": None,
                             "met": "yes" if d is not None and e is not None and d <= e + 1000.0 else "NO"})

    # ------------------------------------------------------------------ output

    def run(self):
        for part in (self.part_a, self.part_b, self.part_c, self.part_d, self.part_e, self.part_f):
            if part.__name__[-1].upper() not in PARTS:
                continue
            started = time.monotonic()
            try:
                part()
            except (RuntimeError, subprocess.SubprocessError, OSError) as error:
                self.log("scenario 7: %s failed: %s" % (part.__name__, error))
                self.record("%s failed" % part.__name__, part=part.__name__[-1].upper(), note=str(error))
            finally:
                self.bench.cleanup()
            self.log("scenario 7: %s took %.0f s" % (part.__name__, time.monotonic() - started))
        titles = {
            "A": "7A: RTT 200 ms, 1% random loss each way, 100 Mbit/s (one run each)",
            "B": "7B: RTT 40 ms, every TCP flow policed to 6 Mbit/s, 120 Mbit/s bottleneck (one run each)",
            "C": "7C: RTT 50 ms, 0.5% random loss each way, 50 Mbit/s (one run each)",
            "D1": "7D1: clean loopback, tcsplitter probe 256 MiB each way (medians of %d interleaved runs)" % ROUNDS,
            "D2": "7D2: clean loopback, tcsplitter probe 128 MiB each way (medians of %d interleaved runs)" % ROUNDS,
            "E": "7E: trickle merge, RTT 50 ms, no loss: 4,000 writes of 100 B, one a millisecond (TCP_NODELAY), "
                 "to a sink; the client's payloads sent (medians of %d interleaved runs)" % ROUNDS,
            "F": "7F: UDP latency on loopback: 100-byte datagrams echoed one at a time by tcsplitter udp-echo, "
                 "%d after 20 warm-ups (medians of %d interleaved runs)" % (UDP_COUNT, ROUNDS),
        }
        link_columns = [("run", "label"), ("Mbit/s", "goodput_mbit"), ("of link", "ratio_to_link"),
                        ("pool at end", "pool_final"), ("pool max", "pool_max"),
                        ("fling conns opened", "fling_opened"), ("payloads resent / sent", "resent"),
                        ("tunnel cc", "congestion"), ("note", "note")]
        probe_columns = [("run", "label"), ("Mbit/s each way", "goodput_mbit"), ("samples", "samples_mbit"),
                         ("fling conns opened (median; samples)", "fling"), ("pool max", "pool_max"),
                         ("resent / sent, both ends (samples)", "resent_samples"), ("resent %", "resent_pct"),
                         ("CPU s both ends", "cpu_s"), ("note", "note")]
        trickle_columns = [("run", "label"), ("payloads sent by the client (median)", "payloads_sent"),
                           ("samples", "payload_samples"), ("sink reads (median)", "sink_reads"),
                           ("bytes at the sink", "sink_bytes"), ("writer s", "write_seconds"), ("note", "note")]
        udp_columns = [("run", "label"), ("p50 µs", "p50_us"), ("p50 samples", "p50_samples"), ("p99 µs", "p99_us"),
                       ("p99 samples", "p99_samples"), ("lost (median)", "lost"), ("note", "note")]
        for part, title in titles.items():
            rows = [dict(r) for r in self.rows if r.get("part") == part]
            if not rows:
                continue
            for row in rows:
                if row.get("payloads_sent"):
                    row["resent"] = "%d / %d" % (row.get("payloads_resent") or 0, row["payloads_sent"])
                if row.get("fling_samples"):
                    row["fling"] = "%s (%s)" % (fmt(row.get("fling_opened")), row["fling_samples"])
                row["label"] = row["label"].split(": ", 1)[1]
            columns = {"E": trickle_columns, "F": udp_columns}.get(part)
            self.bench.table(7, title, rows, columns or (probe_columns if part.startswith("D") else link_columns))
        target_rows = []
        for t in self.targets:
            target_rows.append({"label": t["label"], "value": "%s %s" % (fmt(t["value"]), t["unit"]),
                                "reference": ("%s x %s" % (fmt(t["factor"]), fmt(t["reference"])) if t["factor"] is not None
                                              else "at most %s" % fmt(t["reference"])),
                                "ratio_s": "%.2f" % t["ratio"] if t["ratio"] is not None else "", "met": t["met"]})
        self.bench.table(7, "targets", target_rows, [("target", "label"), ("measured", "value"), ("needed", "reference"),
                                                    ("measured / reference", "ratio_s"), ("met", "met")])
        self.write()

    def write(self):
        out = self.bench.out_dir
        paths = []
        keys = []
        for row in self.rows:
            keys += [k for k in row if k not in keys]
        path = os.path.join(out, "autopool.csv")
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            for row in self.rows:
                writer.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
        paths.append(path)
        if self.lossy_trace:
            path = os.path.join(out, "autopool-lossy-pool.csv")
            with open(path, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=["t_s", "pool", "reason", "mbit", "window_ms", "log_time", "hold"])
                writer.writeheader()
                for event in self.lossy_trace["events"]:
                    writer.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in event.items()})
            paths.append(path)
            chart = self.chart(os.path.join(out, "autopool-lossy-pool.png"))
            if chart:
                paths.append(chart)
        os.makedirs(RESULTS, exist_ok=True)
        for path in paths:
            shutil.copy(path, os.path.join(RESULTS, os.path.basename(path)))
        self.log("scenario 7: wrote %s (copied to %s)" % (", ".join(os.path.basename(p) for p in paths), RESULTS))

    def chart(self, path):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            self.log("scenario 7: pool chart skipped: matplotlib is missing (python3 -m pip install matplotlib)")
            return None
        trace = self.lossy_trace
        events = trace["events"]
        end = max(trace["iperf_end"], events[-1]["t_s"]) + 0.5
        times = [e["t_s"] for e in events] + [end]
        sizes = [e["pool"] for e in events] + [events[-1]["pool"]]
        figure, axis = plt.subplots(figsize=(9, 4))
        axis.step(times, sizes, where="post", color="#cc6677", linewidth=2, label="client pool (fling connections)")
        axis.axvspan(trace["iperf_start"], trace["iperf_start"] + trace["omit"], color="#dddddd",
                     label="iperf3 -P 1 started, first %d s omitted" % trace["omit"])
        axis.axvspan(trace["iperf_start"] + trace["omit"], trace["iperf_end"], color="#eeeeff",
                     label="iperf3 -P 1 running until it exited (%.1f Mbit/s)" % trace["mbit"])
        rated = [e for e in events if e["mbit"] is not None]
        if rated:
            right = axis.twinx()
            right.plot([e["t_s"] for e in rated], [e["mbit"] for e in rated], "o", color="#4477aa",
                       label="goodput the pool step was judged on")
            right.set_ylabel("Mbit/s (from the pool: lines)", fontsize=8)
            right.set_ylim(bottom=0)
            right.legend(loc="lower right", fontsize=7, framealpha=0.9)
        axis.set_xlabel("seconds since the tunnel was up", fontsize=8)
        axis.set_ylabel("fling connections", fontsize=8)
        axis.set_ylim(0, max(sizes) * 1.25 + 1)
        axis.set_title("scenario 7A: --conns auto on RTT 200 ms, 1% loss each way, 100 Mbit/s", fontsize=9)
        axis.legend(loc="lower center", fontsize=7, framealpha=0.9)
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        return path


def scenario_7(bench, harness):
    AutoPool(bench, harness).run()
