"""Workloads: iperf3 runs (direct, as ceilings, through the tunnel), the tcsplitter ends, the
two-hop relays (NIO chaos-proxy or socat) and the request/response probe (rr.py)."""
import json
import os
import re
import subprocess
import time

from harness import FLING_PORT, HELPERS, IPERF_PORT, LISTEN_PORT, PRESETS, S_ADDR, SYNC_PORT, run
from sampling import cpu_jiffies, proc_cpu_seconds, proc_memory_kib, steal_percent


class WorkloadsMixin:
    """Bench's workloads: each starts what it runs through start() and stops it again."""

    def iperf(self, client_ns, server_ns, host, port, parallel, seconds, omit, extra=(), via_tunnel=None,
              server_bind=None):
        """One iperf3 run: a fresh one-off server in `server_ns`, the client in `client_ns`
        connecting to host:port. Returns (Mbit/s received, bytes received, error or None)."""
        server_argv = ["timeout", str(seconds + omit + 40), "iperf3", "-s", "-1", "-p", str(IPERF_PORT), "--forceflush"]
        if server_bind:
            server_argv += ["-B", server_bind]
        server = self.start(server_ns, server_argv, "iperf3-server")
        if not server.wait_line(r"Server listening", 10):
            server.stop()
            return 0.0, 0, "iperf3 server did not start"
        argv = ["timeout", str(seconds + omit + 20), "iperf3", "-c", host, "-p", str(port), "-t", str(seconds),
                "-O", str(omit), "-P", str(parallel), "-J", "--connect-timeout", "10000"] + list(extra)
        log_path = self.log_path("iperf3-client.json")
        try:
            result = subprocess.run(["ip", "netns", "exec", client_ns] + argv, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=seconds + omit + 30)
            output = result.stdout
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or ""
        with open(log_path, "w") as handle:
            handle.write("# ip netns exec %s %s\n%s" % (client_ns, " ".join(argv), output))
        try:
            server.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        server.stop()
        try:
            data = json.loads(output)
        except ValueError:
            data = {"error": "iperf3 output unreadable (%s)" % output.strip()[-120:]}
        received = data.get("end", {}).get("sum_received", {})
        if not data.get("error") and received.get("bytes"):
            return received["bits_per_second"] / 1e6, received["bytes"], None
        # The test did not finish (e.g. its last bytes or the results exchange stalled behind a
        # stuck connection): count what the server received in the test's own seconds.
        units = {"Bytes": 1, "KBytes": 1024, "MBytes": 1024**2, "GBytes": 1024**3}
        total = 0.0
        for line in server.tail(10000):
            match = re.match(r"\[\s*\d+\]\s+([\d.]+)-([\d.]+)\s+sec\s+([\d.]+)\s+(\w*Bytes)", line)
            # one-second reports only (not the closing summary line), not the omitted ones
            if (match and "omitted" not in line and float(match.group(1)) < seconds
                    and float(match.group(2)) - float(match.group(1)) < 1.5):
                total += float(match.group(3)) * units.get(match.group(4), 1)
        return (total * 8 / seconds / 1e6, int(total),
                "iperf3 did not finish (%s); Mbit/s from the server's per-second reports" % data.get("error"))

    def start_tunnel(self, client_ns, server_ns, server_host, conns, preset, forward, listen="127.0.0.1",
                     label="", wait_pool=True):
        """A server end in `server_ns` forwarding to `forward`, a client end in `client_ns`
        listening on listen:LISTEN_PORT. Returns (client, server) Processes, or raises.
        `conns` None passes no --conns (the binary's or the --mode's own pool); the wait for the
        pool then waits for its first connection only."""
        flags = PRESETS[preset]
        server = self.start(server_ns, [self.tcsplitter, "server", "--lFling", "%s:%d" % (server_host, FLING_PORT),
                                        "--lSync", "%s:%d" % (server_host, SYNC_PORT), "--forward", forward] + flags,
                            "tcs-server-%s" % label)
        if not server.wait_line(r"tcsplitter ready", 15):
            raise RuntimeError("tcsplitter server did not start: %s" % server.tail())
        client = self.start(client_ns, [self.tcsplitter, "client", "--listen", "%s:%d" % (listen, LISTEN_PORT),
                                        "--rFling", "%s:%d" % (server_host, FLING_PORT),
                                        "--rSync", "%s:%d" % (server_host, SYNC_PORT),
                                        ] + (["--conns", str(conns)] if conns else []) + flags,
                            "tcs-client-%s" % label)
        if not client.wait_line(r"tcsplitter ready", 15):
            raise RuntimeError("tcsplitter client did not start: %s" % client.tail())
        if wait_pool:
            # The pool is dialed at start; measure once it is there (bounded wait).
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                established = run(["ip", "netns", "exec", server_ns, "ss", "-Htn", "state", "established",
                                   "( sport = :%d )" % FLING_PORT], check=False, quiet=True).stdout
                if len(established.strip().splitlines()) >= (conns or 1):
                    break
                time.sleep(0.2)
        return client, server

    def tunnel_iperf(self, client_ns, server_ns, server_host, conns, preset, seconds, omit, label, forward=None):
        """iperf3 -P 1 through a fresh tunnel; returns a dict of results for one row."""
        forward = forward or "127.0.0.1:%d" % IPERF_PORT
        row = {"preset": preset, "n": conns, "flags": " ".join(PRESETS[preset])}
        try:
            client, server = self.start_tunnel(client_ns, server_ns, server_host, conns, preset, forward, label=label)
        except RuntimeError as error:
            row["note"] = str(error)
            row["goodput_mbit"] = 0.0
            return row
        cpu_before = (proc_cpu_seconds(client.pid), proc_cpu_seconds(server.pid))
        machine_before = cpu_jiffies()
        mbit, received, error = self.iperf(client_ns, server_ns, "127.0.0.1", LISTEN_PORT, 1, seconds, omit,
                                           server_bind="127.0.0.1")
        row["steal_pct"] = steal_percent(machine_before, cpu_jiffies())
        cpu_after = (proc_cpu_seconds(client.pid), proc_cpu_seconds(server.pid))
        row["goodput_mbit"] = mbit
        if None not in cpu_before and None not in cpu_after and received > 0:
            cpu = (cpu_after[0] - cpu_before[0]) + (cpu_after[1] - cpu_before[1])
            row["cpu_s_per_gib"] = cpu / (received / 2**30)
            row["cpu_s"] = cpu
        row["rss_client_mib"] = (proc_memory_kib(client.pid)[1] or 0) / 1024
        row["rss_server_mib"] = (proc_memory_kib(server.pid)[1] or 0) / 1024
        notes = []
        if error:
            notes.append(error)
        for end in (client, server):
            if not end.alive():
                notes.append("%s exited: %s" % (end.name, " | ".join(end.tail(3))))
        client.stop()
        server.stop()
        if notes:
            row["note"] = "; ".join(notes)
        return row

    def ceiling_rows(self, scenario, ns, seconds, omit, counts, extra=()):
        rows = {}
        mbit, _, error = self.iperf(self.c, self.s, S_ADDR, IPERF_PORT, 1, seconds, omit, extra=extra)
        rows[1] = self.record(scenario, "direct TCP, iperf3 -P 1", kind="direct", n=1, goodput_mbit=mbit, note=error or "")
        for n in counts:
            mbit, _, error = self.iperf(self.c, self.s, S_ADDR, IPERF_PORT, n, seconds, omit, extra=extra)
            rows[n] = self.record(scenario, "iperf3 -P %d" % n, kind="iperf3", n=n, goodput_mbit=mbit, note=error or "")
        return rows

    def tunnel_rows(self, scenario, counts, presets, seconds, omit, ceilings, reference=None):
        rows = []
        for n in counts:
            for preset in presets:
                row = self.tunnel_iperf(self.c, self.s, S_ADDR, n, preset, seconds, omit, "s%d-n%d-%s" % (scenario, n, preset))
                ceiling = ceilings[n]["goodput_mbit"] if n in ceilings else None
                if ceiling:
                    row["ceiling_mbit"] = ceiling
                    row["ratio"] = row["goodput_mbit"] / ceiling
                if reference:
                    row["ratio_to_link"] = row["goodput_mbit"] / reference
                rows.append(self.record(scenario, "tcsplitter --conns %d, %s" % (n, preset), kind="tcsplitter", **row))
        return rows

    def relay_sample(self, ns, kind, seconds, omit):
        """iperf3 -P 1 through two relays in a row (NIO chaos-proxy or socat); one sample."""
        if kind == "nio":
            first = self.start(ns, [self.tcsplitter, "chaos-proxy", "--listen", "127.0.0.1:7001", "--to",
                                    "127.0.0.1:7002", "--kill-percent", "0"], "relay-a")
            second = self.start(ns, [self.tcsplitter, "chaos-proxy", "--listen", "127.0.0.1:7002", "--to",
                                     "127.0.0.1:%d" % IPERF_PORT, "--kill-percent", "0"], "relay-b")
        else:
            first = self.start(ns, ["socat", "-b", "131072", "TCP-LISTEN:7001,bind=127.0.0.1,reuseaddr,fork",
                                    "TCP:127.0.0.1:7002"], "relay-a")
            second = self.start(ns, ["socat", "-b", "131072", "TCP-LISTEN:7002,bind=127.0.0.1,reuseaddr,fork",
                                     "TCP:127.0.0.1:%d" % IPERF_PORT], "relay-b")
        self.wait_listening(ns, [7001, 7002])
        before = proc_cpu_seconds(first.pid, True) + proc_cpu_seconds(second.pid, True)
        machine_before = cpu_jiffies()
        mbit, received, error = self.iperf(ns, ns, "127.0.0.1", 7001, 1, seconds, omit, server_bind="127.0.0.1")
        steal = steal_percent(machine_before, cpu_jiffies())
        time.sleep(0.5)  # socat's children are reaped (their CPU counted) once they exit
        after = proc_cpu_seconds(first.pid, True) + proc_cpu_seconds(second.pid, True)
        row = {"goodput_mbit": mbit,
               "cpu_s_per_gib": (after - before) / (received / 2**30) if received else None,
               "rss_client_mib": (proc_memory_kib(first.pid)[1] or 0) / 1024,
               "rss_server_mib": (proc_memory_kib(second.pid)[1] or 0) / 1024, "steal_pct": steal,
               "note": error or ""}
        first.stop()
        second.stop()
        return row

    def rr(self, ns, port, count, warmup=10):
        deadline = 120 if count > 100 else 60
        argv = ["ip", "netns", "exec", ns, "python3", os.path.join(HELPERS, "rr.py"), "127.0.0.1", str(port), str(count),
                "--warmup", str(warmup), "--deadline", str(deadline)]
        try:
            out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 timeout=deadline + 20).stdout
            result = json.loads(out.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError) as error:
            return {"note": "rr failed: %s" % error}
        if "error" in result:
            return {"note": result["error"]}
        return {k: result[k] for k in ("count", "p50_us", "p99_us")}
