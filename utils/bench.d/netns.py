"""Network namespaces and links: the client / router / server namespaces, veth pairs or a TUN
pair joined by TCSplitterLinkEmulator, the router's htb shaping and nftables drops and
policers, and their teardown."""
import os
import re
import signal

from harness import C_ADDR, R_C_ADDR, R_S_ADDR, S_ADDR, log, run


class NamespacesMixin:
    """Bench's namespaces: every one it adds is removed by cleanup(), with what runs in it."""

    def add_namespace(self, role, congestion="cubic"):
        name = "%s-%s" % (self.tag, role)
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        self.allow_congestion_control(congestion)
        self.sysctl(name, "net.ipv4.tcp_congestion_control", congestion)
        self.sysctl(name, "net.ipv4.tcp_no_metrics_save", "1")  # no cached ssthresh between runs
        self.sysctl(name, "net.ipv4.ip_local_port_range", "20000 60999")
        return name

    def allow_congestion_control(self, name):
        """A namespace may only default to an algorithm in the host's (global)
        tcp_allowed_congestion_control list; add `name` to it for the run, restored on exit."""
        path = "/proc/sys/net/ipv4/tcp_allowed_congestion_control"
        with open(path) as handle:
            allowed = handle.read().split()
        if name in allowed:
            return
        if self.saved_allowed_cc is None:
            self.saved_allowed_cc = " ".join(allowed)
        log("adding %s to %s for this run (restored on exit)" % (name, path))
        with open(path, "w") as handle:
            handle.write(" ".join(allowed + [name]))

    def restore_congestion_control(self):
        if self.saved_allowed_cc is not None:
            with open("/proc/sys/net/ipv4/tcp_allowed_congestion_control", "w") as handle:
                handle.write(self.saved_allowed_cc)
            self.saved_allowed_cc = None

    def sysctl(self, namespace, key, value):
        run(["ip", "netns", "exec", namespace, "sysctl", "-q", "-w", "%s=%s" % (key, value)])

    def remove_namespaces(self):
        """Stops what runs in our namespaces (by PID), then removes their tables, qdiscs and
        devices, then the namespaces themselves."""
        for namespace in reversed(self.namespaces):
            pids = run(["ip", "netns", "pids", namespace], check=False, quiet=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run(["ip", "netns", "exec", namespace, "nft", "delete", "table", "inet", "tcsb"], check=False, quiet=True)
            links = run(["ip", "-n", namespace, "-o", "link", "show"], check=False, quiet=True).stdout
            for match in re.finditer(r"^\d+: ([^:@]+)", links, re.M):
                device = match.group(1)
                if device != "lo":
                    run(["tc", "-n", namespace, "qdisc", "del", "dev", device, "root"], check=False, quiet=True)
                    run(["ip", "-n", namespace, "link", "del", device], check=False, quiet=True)
            run(["ip", "netns", "del", namespace], check=False, quiet=True)
        self.namespaces = []

    def veth(self, left_ns, left, right_ns, right):
        run(["ip", "-n", left_ns, "link", "add", left, "type", "veth", "peer", "name", right, "netns", right_ns])
        for namespace, device in ((left_ns, left), (right_ns, right)):
            if self.have_ethtool:  # real 1500-byte packets for the policers, as on a wire
                run(["ip", "netns", "exec", namespace, "ethtool", "-K", device, "tso", "off", "gso", "off", "gro", "off"],
                    check=False, quiet=True)
            run(["ip", "-n", namespace, "link", "set", device, "mtu", "1500", "up"])

    def link_topology(self, delay_ms=None, congestion="cubic"):
        """Client, router and server namespaces; the client-router hop is a veth pair, or with
        `delay_ms` two TUN devices joined by the link emulator (one-way delay each way)."""
        c = self.add_namespace("c", congestion)
        r = self.add_namespace("r", congestion)
        s = self.add_namespace("s", congestion)
        self.sysctl(r, "net.ipv4.ip_forward", "1")
        self.veth(r, "rs", s, "s0")
        run(["ip", "-n", r, "addr", "add", R_S_ADDR + "/24", "dev", "rs"])
        run(["ip", "-n", s, "addr", "add", S_ADDR + "/24", "dev", "s0"])
        run(["ip", "-n", s, "route", "add", "198.18.1.0/24", "via", R_S_ADDR])
        self.emulator_process = None
        if delay_ms is None:
            self.veth(c, "c0", r, "rc")
            run(["ip", "-n", c, "addr", "add", C_ADDR + "/24", "dev", "c0"])
            run(["ip", "-n", r, "addr", "add", R_C_ADDR + "/24", "dev", "rc"])
            run(["ip", "-n", c, "route", "add", "198.18.2.0/24", "via", R_C_ADDR])
        else:
            # Both TUN devices are created in the router namespace, then c0 moves to the client;
            # the emulator's file descriptors stay attached to it.
            emulator = self.start(r, [self.emulator, "--a", "c0", "--b", "rc", "--delay-ms", str(delay_ms / 2.0)],
                                  "link-emulator")
            if not emulator.wait_line(r"^link-emulator ready", 10):
                raise RuntimeError("link emulator did not start: %s" % emulator.tail())
            self.emulator_process = emulator
            run(["ip", "-n", r, "link", "set", "c0", "netns", c])
            run(["ip", "-n", c, "addr", "add", C_ADDR, "peer", R_C_ADDR, "dev", "c0"])
            run(["ip", "-n", c, "link", "set", "c0", "mtu", "1500", "txqueuelen", "1000", "up"])
            run(["ip", "-n", r, "addr", "add", R_C_ADDR, "peer", C_ADDR, "dev", "rc"])
            run(["ip", "-n", r, "link", "set", "rc", "mtu", "1500", "txqueuelen", "1000", "up"])
            run(["ip", "-n", c, "route", "add", "198.18.2.0/24", "dev", "c0"])
        self.c, self.r, self.s = c, r, s
        # The path must work before anything is measured.
        run(["ip", "netns", "exec", c, "python3", "-c",
             "import socket,sys\ns=socket.socket()\ns.settimeout(3)\n"
             "r=s.connect_ex(('%s', 9))\nsys.exit(0 if r in (0, 111) else 1)" % S_ADDR], timeout=10)
        return c, r, s

    def shape(self, rate_mbit, queue_bytes):
        """htb at `rate_mbit` on both of the router's egress devices, a byte FIFO behind it."""
        for device in ("rc", "rs"):
            run(["tc", "-n", self.r, "qdisc", "replace", "dev", device, "root", "handle", "1:", "htb", "default", "1"])
            run(["tc", "-n", self.r, "class", "add", "dev", device, "parent", "1:", "classid", "1:1", "htb",
                 "rate", "%dmbit" % rate_mbit, "ceil", "%dmbit" % rate_mbit, "burst", "64k", "cburst", "64k"])
            run(["tc", "-n", self.r, "qdisc", "add", "dev", device, "parent", "1:1", "handle", "10:", "bfifo",
                 "limit", str(queue_bytes)])

    def police(self, loss_percent=0.0, flow_cap_mbit=None, slow_every=None, slow_mbit=1, byte_mode=False,
               bucket_seconds=0.25):
        """(Re)loads the router's nftables table: random drops (each way), and one policing
        bucket per 5-tuple for what the client side sends (the data direction of every run).

        The kernel's byte-mode `limit` always holds one second of its rate on top of the burst
        (tokens_max = unit * (rate + burst) / rate): an 8 Mbit/s byte policer lets a fresh flow
        send 1 MB at line rate, so short-lived connections never meet it. The default polices in
        packets instead: rate / 1500 B packets per second with a bucket of `bucket_seconds` of
        that rate (0.25 s: 166 packets, 250 kB at 8 Mbit/s; one iperf3 flow then gets ~95% of the
        cap, with 0.1 s it gets ~55%). `byte_mode` keeps the byte policer, to show that effect.

        With `slow_every`, every slow_every-th new TCP connection through the router (counted
        in order, so for iperf3 -P N exactly one data flow; the control connection is the first)
        is policed at `slow_mbit` instead."""
        run(["ip", "netns", "exec", self.r, "nft", "delete", "table", "inet", "tcsb"], check=False, quiet=True)
        key = "ip saddr . ip daddr . tcp sport . tcp dport"

        def limit(mbit):
            if byte_mode:
                return "limit rate over %d bytes/second burst 64000 bytes" % (mbit * 125000)
            packets = mbit * 1000000 // (1500 * 8)
            return "limit rate over %d/second burst %d packets" % (packets, max(4, int(packets * bucket_seconds)))

        rules = []
        if loss_percent > 0:
            rules.append("numgen random mod 100000 < %d counter drop" % int(round(loss_percent * 1000)))
        if slow_every:
            rules.append("ct state new meta l4proto tcp numgen inc mod %d == %d ct mark set 1" % (slow_every, slow_every - 1))
            rules.append("iifname \"rc\" ct mark 1 update @slow { %s %s } counter drop" % (key, limit(slow_mbit)))
        if flow_cap_mbit:
            rules.append("iifname \"rc\" meta l4proto tcp update @flows { %s %s } counter drop" % (key, limit(flow_cap_mbit)))
        dynamic = "type ipv4_addr . ipv4_addr . inet_service . inet_service; size 65535; flags dynamic,timeout; timeout 60s;"
        ruleset = "table inet tcsb {\n  set flows { %s }\n  set slow { %s }\n  chain forward {\n" \
                  "    type filter hook forward priority filter; policy accept;\n%s  }\n}\n" % (
                      dynamic, dynamic, "".join("    %s\n" % rule for rule in rules))
        path = self.log_path("nft.conf")
        with open(path, "w") as handle:
            handle.write(ruleset)
        run(["ip", "netns", "exec", self.r, "nft", "-f", path])

    def drop_note(self):
        counters = self.drop_counters()
        return "packets dropped by the slow / per-flow policers: %s" % " / ".join(str(c) for c in counters[-2:])

    def drop_counters(self):
        out = run(["ip", "netns", "exec", self.r, "nft", "list", "chain", "inet", "tcsb", "forward"],
                  check=False, quiet=True).stdout
        return [int(x) for x in re.findall(r"counter packets (\d+)", out)]
