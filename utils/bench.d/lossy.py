"""Scenario 2 of utils/bench: a long fat lossy link (RTT 200 ms, 1% random loss each way,
100 Mbit/s), with cubic end hosts and once with bbr."""
from harness import IPERF_PORT, S_ADDR


def scenario_2(bench):
    seconds, omit = (8, 2) if bench.quick else (10, 2)
    counts = [16] if bench.quick else [4, 8, 16]
    presets = ["defaults", "mode-lossy"] if bench.quick else ["defaults", "bulk", "mode-lossy", "bulk+retries"]
    link = 100
    bench.link_topology(delay_ms=200)
    bench.shape(link, 1250 * 1000)  # half the bandwidth-delay product
    bench.police(loss_percent=1.0)
    ceilings = bench.ceiling_rows(2, bench.c, seconds, omit, counts)
    rows = list(ceilings.values())
    for row in rows:
        row["ratio_to_link"] = row["goodput_mbit"] / link
        if row["n"] > 1:
            row["ceiling_mbit"] = row["goodput_mbit"]
            row["ratio"] = 1.0
    rows += bench.tunnel_rows(2, counts, presets, seconds, omit, ceilings, reference=link)
    if not bench.quick:
        rows += bench.tunnel_rows(2, [16], ["event", "event+retries", "event+budget1024", "event+frags64KiB"],
                                  seconds, omit, ceilings, reference=link)
    bench.cleanup()
    # What a congestion-control choice for the tunnel's own connections would give: the same
    # link with BBR as the namespaces' default (the tunnel's loopback hops do not care).
    bench.link_topology(delay_ms=200, congestion="bbr")
    bench.shape(link, 1250 * 1000)
    bench.police(loss_percent=1.0)
    mbit, _, error = bench.iperf(bench.c, bench.s, S_ADDR, IPERF_PORT, 1, seconds, omit)
    rows.append(bench.record(2, "direct TCP, iperf3 -P 1, bbr", kind="direct-bbr", n=1, goodput_mbit=mbit,
                             ratio_to_link=mbit / link, note=error or ""))
    bench.cleanup()
    bench.table(2, "Long fat lossy link: RTT 200 ms (TUN + link emulator), 1% random loss each way, 100 Mbit/s, cubic end hosts (the tunnel's own connections: --congestion auto, bbr)",
                rows, [("run", "label"), ("Mbit/s", "goodput_mbit"), ("ceiling (iperf3 -P N)", "ceiling_mbit"),
                       ("ratio", "ratio"), ("of link", "ratio_to_link"), ("note", "note")])
