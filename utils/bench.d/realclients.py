#!/usr/bin/env python3
"""Scenario 6 of utils/bench: real clients (OpenSSH, nginx, redis) through the tunnel.

utils/bench imports this file and calls scenario_6(bench, ...). Everything runs in one network
namespace the scenario creates (loopback 127.0.0.1 only): each service on a port of its own,
reached three ways:

    direct   client -> service
    relay    client -> socat -> socat -> service           (a plain two-hop TCP relay; TCP_NODELAY
             on each socat socket, as the tunnel's ends: without it Nagle's algorithm against the
             client's delayed ACKs costs ~40 ms per response of two writes, e.g. nginx's header
             and body, and the relay runs at ~120 small GETs/s; and a listen backlog of 1024:
             socat's default of 5 drops SYNs when redis-benchmark opens 50 connections at once,
             and their 1 s SYN retransmissions cut its ops/s by up to 8 times, run to run)
    tunnel   client -> tcsplitter client -> tcsplitter server -> service
             at the binary's defaults (no flags, not even --conns), --mode interactive and
             --mode bulk

Measurements (each bounded in count and time; a timeout becomes a note in its cell):
    ssh      `ssh ... true` wall time (ms, median of 5), scp upload of a 64 MiB random file
             (Mbit/s, wall time including the login)
    nginx    curl download of a 128 MiB file (Mbit/s, curl's speed_download), 256 GETs of a
             1 KiB file 32 at a time (requests/s over keep-alive connections, every one 200)
    redis    redis-benchmark -t set,get -n 20000 -c 50 (mean of SET and GET ops/s), the same with
             -P 16, redis-cli PING wall time (ms, median of 5). Where PING shows a slow path (the
             tunnel's old clocked defaults: about a second per round trip), -n shrinks so one
             run takes about 30 s; the cell's note says so.

Service keys, configs, logs and data files live under the run's output directory (DIR/realclients).

Run as a script, the same file is the small helper the scenario starts inside the namespace
(timings there leave out the cost of `ip netns exec`):
    realclients.py timed COUNT TIMEOUT -- ARGV...     run ARGV COUNT times; JSON wall times in ms
    realclients.py gets HOST PORT PATH COUNT PARALLEL LENGTH DEADLINE
                                                      COUNT GETs over PARALLEL keep-alive connections
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

# Tools the scenario runs, and the Debian package of each (ensure_tools installs the missing ones).
APT_PACKAGES = {"sshd": "openssh-server", "ssh": "openssh-client", "scp": "openssh-client",
                "ssh-keygen": "openssh-client", "nginx": "nginx-light", "redis-server": "redis-server",
                "redis-benchmark": "redis-tools", "redis-cli": "redis-tools", "socat": "socat", "curl": "curl"}

SSH_PORT, NGINX_PORT, REDIS_PORT = 7201, 7202, 7203
RELAY_A, RELAY_B = 7001, 7002
# (column key, column title, utils/bench preset or None for direct / relay)
PATHS = [("direct", "direct", None), ("relay", "socat relay x2", None),
         ("defaults", "tcs defaults", "defaults"), ("interactive", "tcs --mode interactive", "mode-interactive"),
         ("bulk", "tcs --mode bulk", "mode-bulk")]


class Sizes:
    def __init__(self, quick):
        self.samples = 1 if quick else 5
        self.scp_bytes = (16 if quick else 64) << 20
        self.http_big_bytes = (32 if quick else 128) << 20
        self.http_gets = 128 if quick else 256
        self.http_parallel = 32
        self.redis_n = 5000 if quick else 20000
        self.redis_clients = 50
        self.redis_budget_s = 15 if quick else 30  # a slow path gets a -n that takes about this long


def which(tool):
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")


def write_random(path, size):
    with open(path, "wb") as handle:
        left = size
        while left > 0:
            chunk = min(left, 1 << 20)
            handle.write(os.urandom(chunk))
            left -= chunk


class RealClients:
    def __init__(self, bench, listen_port, log):
        self.bench = bench
        self.listen_port = listen_port
        self.log = log
        self.sizes = Sizes(bench.quick)
        self.dir = os.path.join(bench.out_dir, "realclients")
        os.makedirs(self.dir, exist_ok=True)
        self.ns = None
        self.made_run_sshd = False
        # {measurement key: {path key: value}} and notes
        self.values = {}
        self.notes = {}

    # ------------------------------------------------------------------ plumbing

    def helper(self, args, timeout):
        """Runs this file as a helper inside the namespace; its JSON answer, or {"error": ...}."""
        argv = ["ip", "netns", "exec", self.ns, sys.executable, os.path.abspath(__file__)] + [str(a) for a in args]
        try:
            result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": "timed out after %.0f s" % timeout}
        try:
            return json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": "helper: exit %d: %s" % (result.returncode, (result.stderr or result.stdout).strip()[-200:])}

    def timed(self, argv, count, timeout):
        """Wall times (ms) of `count` runs of argv inside the namespace, each bounded by
        `timeout`; returns (list of ms of the successful runs, error text or None)."""
        answer = self.helper(["timed", count, timeout, "--"] + argv, timeout=count * (timeout + 5) + 30)
        if "error" in answer:
            return [], answer["error"]
        good = [ms for ms, code in zip(answer["ms"], answer["rc"]) if code == 0]
        error = None
        if len(good) < len(answer["ms"]):
            error = "%d of %d runs failed (%s)" % (len(answer["ms"]) - len(good), len(answer["ms"]),
                                                   answer.get("last_error", "").strip()[-160:])
        return good, error

    def run_in(self, argv, timeout):
        """(stdout + stderr text, error or None) of one bounded run inside the namespace; the
        output is kept under logs/ too."""
        try:
            result = subprocess.run(["ip", "netns", "exec", self.ns] + argv, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=timeout)
            output = result.stdout
            error = None if result.returncode == 0 else "exit %d: %s" % (result.returncode, output.strip()[-160:])
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or ""
            if isinstance(output, bytes):
                output = output.decode(errors="replace")
            error = "timed out after %.0f s" % timeout
        with open(self.bench.log_path("s6-%s.log" % os.path.basename(argv[0])), "w") as handle:
            handle.write("# ip netns exec %s %s\n%s\n%s" % (self.ns, " ".join(argv), output.replace("\r", "\n"),
                                                            "# " + error + "\n" if error else ""))
        return output, error

    def put(self, key, path, value, note=None):
        self.values.setdefault(key, {})[path] = value
        if note:
            self.notes.setdefault(key, []).append("%s: %s" % (path, note))
        self.log("    %-14s %-12s %s%s" % (key, path, "%.1f" % value if isinstance(value, float) else value,
                                           " (%s)" % note if note else ""))

    def wait_port(self, port, process, timeout=15):
        if not self.bench.wait_listening(self.ns, [port], timeout):
            raise RuntimeError("%s did not listen on %d: %s" % (process.name, port, " | ".join(process.tail(5))))

    def open_path(self, path_key, preset, service_port, label):
        """Starts what `path_key` needs in front of the service; returns (port, processes)."""
        if path_key == "direct":
            return service_port, []
        if path_key == "relay":
            first = self.bench.start(self.ns, ["socat", "-b", "131072",
                                               "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,nodelay,backlog=1024" % RELAY_A,
                                               "TCP:127.0.0.1:%d,nodelay" % RELAY_B], "s6-relay-a-" + label)
            second = self.bench.start(self.ns, ["socat", "-b", "131072",
                                                "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,nodelay,backlog=1024" % RELAY_B,
                                                "TCP:127.0.0.1:%d,nodelay" % service_port], "s6-relay-b-" + label)
            if not self.bench.wait_listening(self.ns, [RELAY_A, RELAY_B]):
                raise RuntimeError("socat relays did not listen")
            return RELAY_A, [first, second]
        # conns=None: no --conns, the binary's (or the mode's) own pool size
        client, server = self.bench.start_tunnel(self.ns, self.ns, "127.0.0.1", None, preset,
                                                 "127.0.0.1:%d" % service_port, label="s6-%s-%s" % (label, path_key))
        return self.listen_port, [client, server]

    def close_path(self, processes, key):
        for process in processes:
            if not process.alive():
                self.notes.setdefault(key, []).append("%s exited early: %s" % (process.name, " | ".join(process.tail(2))))
            process.stop()

    def each_path(self, service, service_port, measure):
        """measure(port, path_key) for every path, each behind a fresh relay or tunnel."""
        for path_key, _title, preset in PATHS:
            self.log("  %s via %s" % (service, path_key))
            try:
                port, processes = self.open_path(path_key, preset, service_port, service)
            except RuntimeError as error:
                self.notes.setdefault(service, []).append("%s: %s" % (path_key, error))
                continue
            try:
                measure(port, path_key)
            finally:
                self.close_path(processes, service)

    # ------------------------------------------------------------------ OpenSSH

    def ssh_setup(self):
        d = os.path.join(self.dir, "ssh")
        os.makedirs(d, exist_ok=True)
        for name in ("host_key", "user_key"):
            for suffix in ("", ".pub"):
                if os.path.exists(os.path.join(d, name + suffix)):
                    os.unlink(os.path.join(d, name + suffix))
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tcsb-" + name, "-f",
                            os.path.join(d, name)], check=True, timeout=30, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(d, "user_key.pub"), os.path.join(d, "authorized_keys"))
        config = os.path.join(d, "sshd_config")
        with open(config, "w") as handle:
            handle.write("\n".join([
                "Port %d" % SSH_PORT, "ListenAddress 127.0.0.1", "HostKey %s/host_key" % d,
                "AuthorizedKeysFile %s/authorized_keys" % d, "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "UsePAM no", "StrictModes no", "UseDNS no", "PidFile %s/sshd.pid" % d,
                "MaxStartups 100:30:200", "Subsystem sftp internal-sftp", "PrintMotd no", "LogLevel INFO", ""]))
        # sshd insists on its privilege separation directory (systemd makes it for the distro's own
        # sshd); made here if missing and removed again at the end if it is still empty.
        if not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755)
            self.made_run_sshd = True
        payload = os.path.join(d, "payload.bin")
        write_random(payload, self.sizes.scp_bytes)
        return d, config, payload

    def ssh_options(self, d):
        return ["-F", "/dev/null", "-i", os.path.join(d, "user_key"), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=60"]

    def ssh(self):
        d, config, payload = self.ssh_setup()
        sshd = self.bench.start(self.ns, [which("sshd"), "-D", "-e", "-f", config], "s6-sshd")
        self.wait_port(SSH_PORT, sshd)
        received = os.path.join(d, "received.bin")

        def measure(port, path_key):
            login = ["ssh", "-p", str(port)] + self.ssh_options(d) + ["root@127.0.0.1", "true"]
            times, error = self.timed(login, self.sizes.samples, 60)
            self.put("ssh_true", path_key, statistics.median(times) if times else None, error)
            if os.path.exists(received):
                os.unlink(received)
            copy = ["scp", "-q", "-P", str(port)] + self.ssh_options(d) + [payload, "root@127.0.0.1:" + received]
            times, error = self.timed(copy, 1, 240)
            size = os.path.getsize(received) if os.path.exists(received) else 0
            if times and size != self.sizes.scp_bytes:
                times, error = [], "received %d of %d bytes" % (size, self.sizes.scp_bytes)
            self.put("scp", path_key, self.sizes.scp_bytes * 8 / (times[0] / 1000.0) / 1e6 if times else None, error)
            if os.path.exists(received):
                os.unlink(received)

        try:
            self.each_path("ssh", SSH_PORT, measure)
        finally:
            sshd.stop()
            os.unlink(payload)

    # ------------------------------------------------------------------ nginx

    def nginx(self):
        d = os.path.join(self.dir, "nginx")
        www = os.path.join(d, "www")
        os.makedirs(www, exist_ok=True)
        os.makedirs(os.path.join(d, "temp"), exist_ok=True)
        write_random(os.path.join(www, "small.bin"), 1024)
        write_random(os.path.join(www, "big.bin"), self.sizes.http_big_bytes)
        config = os.path.join(d, "nginx.conf")
        temps = "".join("    %s_temp_path %s/temp/%s;\n" % (kind, d, kind)
                        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(config, "w") as handle:
            handle.write(
                "daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\n"
                "error_log %s/error.log info;\nevents { worker_connections 1024; }\n"
                "http {\n    access_log %s/access.log;\n%s    sendfile on;\n    keepalive_requests 10000;\n"
                "    server {\n        listen 127.0.0.1:%d;\n        root %s;\n"
                "        location / { default_type application/octet-stream; }\n    }\n}\n"
                % (d, d, d, temps, NGINX_PORT, www))
        nginx = self.bench.start(self.ns, [which("nginx"), "-p", d, "-c", config, "-e", os.path.join(d, "error.log")],
                                 "s6-nginx")
        self.wait_port(NGINX_PORT, nginx)
        big = self.sizes.http_big_bytes

        def measure(port, path_key):
            url = "http://127.0.0.1:%d/big.bin" % port
            out, error = self.run_in(["curl", "-s", "-o", "/dev/null", "--max-time", "240", "-w",
                                      "%{http_code} %{size_download} %{speed_download}\\n", url], timeout=260)
            match = re.search(r"^(\d{3}) (\d+) ([\d.]+)", out.strip().splitlines()[-1] if out.strip() else "")
            value = None
            if match and match.group(1) == "200" and int(match.group(2)) == big:
                value = float(match.group(3)) * 8 / 1e6
            elif not error:
                error = "curl: %s" % out.strip()[-120:]
            self.put("http_big", path_key, value, error)
            gets = self.sizes.http_gets
            answer = self.helper(["gets", "127.0.0.1", port, "/small.bin", gets, self.sizes.http_parallel, 1024, 180],
                                 timeout=220)
            note = answer.get("error")
            if not note and answer["ok"] < gets:
                note = "%d of %d GETs were not 200 with 1 KiB (%s)" % (gets - answer["ok"], gets,
                                                                       "; ".join(answer.get("errors", [])[:2]))
            self.put("http_small", path_key,
                     answer["ok"] / answer["seconds"] if not note and answer.get("seconds") else None, note)

        try:
            self.each_path("nginx", NGINX_PORT, measure)
        finally:
            nginx.stop()
            for name in ("big.bin", "small.bin"):
                os.unlink(os.path.join(www, name))

    # ------------------------------------------------------------------ redis

    def redis(self):
        d = os.path.join(self.dir, "redis")
        os.makedirs(d, exist_ok=True)
        redis = self.bench.start(self.ns, [which("redis-server"), "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", d,
                                           "--logfile", ""], "s6-redis")
        self.wait_port(REDIS_PORT, redis)
        sizes = self.sizes

        def measure(port, path_key):
            ping = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "PING"]
            times, error = self.timed(ping, sizes.samples, 30)
            self.put("redis_ping", path_key, statistics.median(times) if times else None, error)
            # One round trip per request per client: 50 clients at a PING time of t ms do about
            # 50 / t requests per ms (less: PING's time includes redis-cli's own start).
            rtt_s = (statistics.median(times) / 1000.0) if times else 1.0
            for key, pipeline in (("redis_bench", 1), ("redis_bench_p16", 16)):
                n = sizes.redis_n
                note = None
                if rtt_s > 0.02:
                    estimate = int(sizes.redis_budget_s * sizes.redis_clients * pipeline / rtt_s)
                    if estimate < n:
                        n = max(sizes.redis_clients * pipeline * 2, estimate // 100 * 100)
                        note = "slow path (PING %.0f ms): -n %d" % (rtt_s * 1000, n)
                argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set,get", "-n", str(n),
                        "-c", str(sizes.redis_clients), "-q"] + (["-P", str(pipeline)] if pipeline > 1 else [])
                out, error = self.run_in(argv, timeout=sizes.redis_budget_s * 6 + 60)
                rates = {name: float(rate) for name, rate in
                         re.findall(r"(SET|GET): ([\d.]+) requests per second", out.replace("\r", "\n"))}
                if len(rates) < 2:
                    error = error or "no SET and GET rates: %s" % out.strip()[-120:]
                notes = [x for x in (note, error, "only %s" % ",".join(rates) if 0 < len(rates) < 2 else None) if x]
                self.put(key, path_key, sum(rates.values()) / len(rates) if rates else None,
                         "; ".join(notes) if notes else None)

        try:
            self.each_path("redis", REDIS_PORT, measure)
        finally:
            redis.stop()

    # ------------------------------------------------------------------ table

    def rows(self):
        s = self.sizes
        n = "median of %d" % s.samples if s.samples > 1 else "1 sample"
        specs = [
            ("ssh", "ssh_true", "ssh: `ssh ... true`, ms (%s)" % n, "ms"),
            ("ssh", "scp", "ssh: scp upload %d MiB, Mbit/s (wall, login included)" % (s.scp_bytes >> 20), "Mbit/s"),
            ("nginx", "http_big", "nginx: curl GET %d MiB, Mbit/s" % (s.http_big_bytes >> 20), "Mbit/s"),
            ("nginx", "http_small", "nginx: %d GETs of 1 KiB, %d at once, requests/s" % (s.http_gets, s.http_parallel),
             "req/s"),
            ("redis", "redis_ping", "redis: `redis-cli PING`, ms (%s)" % n, "ms"),
            ("redis", "redis_bench", "redis: redis-benchmark set,get -c %d, ops/s (mean of SET, GET)" % s.redis_clients,
             "ops/s"),
            ("redis", "redis_bench_p16", "redis: the same with -P 16, ops/s", "ops/s"),
        ]
        rows = []
        noted = set()
        for service, key, label, unit in specs:
            values = self.values.get(key, {})
            notes = list(self.notes.get(key, []))
            if service not in noted:  # a service's own notes (a path that did not start) once
                notes += self.notes.get(service, []) + self.notes.get(service + "_setup", [])
                noted.add(service)
            row = {"kind": "realclient", "measure": key, "unit": unit}
            for path_key, _title, _preset in PATHS:
                row[path_key] = values.get(path_key)
            if row.get("defaults") is not None and row.get("relay"):
                row["defaults_over_relay"] = row["defaults"] / row["relay"]
            row["note"] = "; ".join(notes)
            rows.append(self.bench.record(6, label, **row))
        return rows

    def run(self):
        self.ns = self.bench.add_namespace("rc")
        try:
            for part in (self.ssh, self.nginx, self.redis):
                try:
                    part()
                except (RuntimeError, subprocess.SubprocessError, OSError) as error:
                    self.log("scenario 6: %s failed: %s" % (part.__name__, error))
                    self.notes.setdefault(part.__name__ + "_setup", []).append("failed: %s" % error)
        finally:
            self.bench.cleanup()
            if self.made_run_sshd:
                try:
                    os.rmdir("/run/sshd")
                except OSError:
                    pass
        rows = self.rows()
        columns = [("run", "label")] + [(title, key) for key, title, _ in PATHS] + \
                  [("defaults / relay", "defaults_over_relay"), ("note", "note")]
        self.bench.table(6, "Real clients on loopback (one namespace): OpenSSH, nginx, redis direct, through a "
                            "two-hop socat relay (nodelay) and through tcsplitter (no --conns: the binary's own pool); "
                            "for the ms rows lower is better (a ratio above 1 is slower than the relay), for the "
                            "others higher is better", rows, columns)


def scenario_6(bench, listen_port, log):
    RealClients(bench, listen_port, log).run()


# ---------------------------------------------------------------------- helper (inside the namespace)

def helper_timed(args):
    count, timeout = int(args[0]), float(args[1])
    argv = args[args.index("--") + 1:]
    ms, codes, last_error = [], [], ""
    for _ in range(count):
        started = time.perf_counter()
        try:
            result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True, timeout=timeout)
            code = result.returncode
            if code:
                last_error = result.stderr
        except subprocess.TimeoutExpired:
            code, last_error = -1, "timed out after %.0f s" % timeout
        ms.append((time.perf_counter() - started) * 1000.0)
        codes.append(code)
    print(json.dumps({"ms": ms, "rc": codes, "last_error": last_error}))


def helper_gets(args):
    import http.client
    host, port, path = args[0], int(args[1]), args[2]
    count, parallel, length, deadline = int(args[3]), int(args[4]), int(args[5]), float(args[6])
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "errors": []}
    stop_at = time.monotonic() + deadline

    def worker():
        connection = None
        while time.monotonic() < stop_at:
            with lock:
                if state["next"] >= count:
                    break
                state["next"] += 1
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, port, timeout=max(1.0, stop_at - time.monotonic()))
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                good = response.status == 200 and len(body) == length
                with lock:
                    if good:
                        state["ok"] += 1
                    else:
                        state["errors"].append("status %d, %d bytes" % (response.status, len(body)))
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    state["errors"].append("%s: %s" % (type(error).__name__, error))
                if connection is not None:
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, stop_at - time.monotonic()) + 5)
    seconds = time.perf_counter() - started
    with lock:
        print(json.dumps({"ok": state["ok"], "seconds": seconds, "errors": state["errors"][:5],
                          "error_count": len(state["errors"])}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "timed":
        helper_timed(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "gets":
        helper_gets(sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
