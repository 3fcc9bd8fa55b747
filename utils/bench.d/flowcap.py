"""Scenario 1 of utils/bench: every TCP flow policed to 8 Mbit/s on a 400 Mbit/s link, plus the
dispatcher check (1 in 8 connections at 1 Mbit/s) and the kernel's byte policer."""
from harness import IPERF_PORT, S_ADDR


def scenario_1(bench):
    seconds, omit = (4, 1) if bench.quick else (8, 1)
    counts = [4, 16] if bench.quick else [4, 8, 16]
    presets = ["defaults", "mode-bulk"] if bench.quick else ["defaults", "mode-bulk", "bulk+retries"]
    bench.link_topology()
    bench.shape(400, 512 * 1024)
    bench.police(flow_cap_mbit=8)
    ceilings = bench.ceiling_rows(1, bench.c, seconds, omit, counts)
    rows = list(ceilings.values())
    for row in rows:
        if row["n"] > 1:
            row["ceiling_mbit"] = row["goodput_mbit"]
            row["ratio"] = 1.0
    rows += bench.tunnel_rows(1, counts, presets, seconds, omit, ceilings)
    # The dispatcher: every 8th new TCP connection through the router is capped at 1 Mbit/s.
    # For iperf3 -P 8 that is exactly one of the 8 data flows (the control connection is the
    # first); for the tunnel, one in 8 of its fling connections, replacements included.
    if not bench.quick:
        n = 8
        bench.police(flow_cap_mbit=8, slow_every=8, slow_mbit=1)
        mbit, _, error = bench.iperf(bench.c, bench.s, S_ADDR, IPERF_PORT, n, seconds, omit)
        uncapped = ceilings[n]["goodput_mbit"]
        slow_ceiling = bench.record(1, "iperf3 -P 8, one flow at 1 Mbit/s", kind="iperf3-slow", n=n, goodput_mbit=mbit,
                                    ceiling_mbit=uncapped, ratio=mbit / uncapped if uncapped else None,
                                    note=error or bench.drop_note())
        rows.append(slow_ceiling)
        for preset in ["bulk"]:
            bench.police(flow_cap_mbit=8, slow_every=8, slow_mbit=1)  # counter restarts at the sync connection
            row = bench.tunnel_iperf(bench.c, bench.s, S_ADDR, n, preset, seconds, omit, "s1-slow-%s" % preset)
            plain = [r for r in rows if r.get("kind") == "tcsplitter" and r["n"] == n and r["preset"] == preset]
            row["ceiling_mbit"] = mbit
            row["ratio"] = row["goodput_mbit"] / mbit if mbit else None
            if plain and plain[0]["goodput_mbit"]:
                row["ratio_to_uncapped"] = row["goodput_mbit"] / plain[0]["goodput_mbit"]
            row["note"] = (row.get("note", "") + " " + bench.drop_note()).strip()
            rows.append(bench.record(1, "tcsplitter --conns 8, %s, 1 in 8 connections at 1 Mbit/s" % preset,
                                     kind="tcsplitter-slow", **row))
    if not bench.quick:
        # The kernel's byte policer (one second of rate in the bucket): fresh connections pass.
        bench.police(flow_cap_mbit=8, byte_mode=True)
        mbit, _, error = bench.iperf(bench.c, bench.s, S_ADDR, IPERF_PORT, 4, seconds, omit)
        loose = bench.record(1, "iperf3 -P 4, byte policer (1 s + 64 kB bucket)", kind="iperf3-loose", n=4,
                             goodput_mbit=mbit, ceiling_mbit=mbit, ratio=1.0, note=error or "")
        rows.append(loose)
        for preset in ("defaults", "bulk"):
            row = bench.tunnel_iperf(bench.c, bench.s, S_ADDR, 4, preset, seconds, omit, "s1-loose-%s" % preset)
            row["ceiling_mbit"] = mbit
            row["ratio"] = row["goodput_mbit"] / mbit if mbit else None
            rows.append(bench.record(1, "tcsplitter --conns 4, %s, byte policer (1 s + 64 kB bucket)" % preset,
                                     kind="tcsplitter-loose", **row))
    bench.cleanup()
    bench.table(1, "Per-flow cap: each TCP flow policed to 8 Mbit/s (667 packets/s, 0.25 s bucket) from the client "
                   "side, link 400 Mbit/s, no delay", rows,
                [("run", "label"), ("Mbit/s", "goodput_mbit"), ("ceiling (iperf3 -P N)", "ceiling_mbit"),
                 ("ratio", "ratio"), ("vs same preset uncapped", "ratio_to_uncapped"),
                 ("CPU s/GiB", "cpu_s_per_gib"), ("note", "note")])
