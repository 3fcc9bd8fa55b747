"""Scenario 0 of utils/bench: the link emulator's own ceiling (iperf3 through the TUN link, no
rate limit or loss)."""
import re

from harness import IPERF_PORT, S_ADDR
from sampling import proc_cpu_seconds


def scenario_0(bench):
    """The link emulator's own ceiling: iperf3 through the TUN link, nothing else in the way."""
    seconds = 3 if bench.quick else 5
    rows = []
    for delay in ([0] if bench.quick else [0, 200]):
        bench.link_topology(delay_ms=delay)
        emulator = bench.emulator_process
        cpu_before = proc_cpu_seconds(emulator.pid)
        # 8 flows: one delayed TCP flow's window would limit it before the emulator does.
        mbit, received, error = bench.iperf(bench.c, bench.s, S_ADDR, IPERF_PORT, 8 if delay else 4, seconds,
                                            2 if delay else 0)
        cpu = proc_cpu_seconds(emulator.pid) - cpu_before
        emulator.stop()
        stats = " ".join(emulator.tail(2))
        packets = sum(int(x) for x in re.findall(r"packets=(\d+)", stats))
        rows.append(bench.record(0, "link emulator, one-way delay %g ms, iperf3 -P %d" % (delay / 2, 8 if delay else 4),
                                 goodput_mbit=mbit, emulator_cpu_percent=100.0 * cpu / (seconds + (2 if delay else 0) + 1),
                                 emulator_kpps=packets / 1000.0 / (seconds + (2 if delay else 0) + 1), note=error or ""))
        bench.cleanup()
    bench.table(0, "Link emulator bench-test (TUN pair, no rate limit, no loss)", rows,
                [("run", "label"), ("Mbit/s", "goodput_mbit"), ("emulator CPU %", "emulator_cpu_percent"),
                 ("kpackets/s (both ways, avg)", "emulator_kpps")])
