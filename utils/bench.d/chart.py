"""The chart (DIR/results.png, with matplotlib) of the goodput scenarios, latency and memory,
and --replot: the same chart from results.csv files."""
import argparse
import csv
import os

from harness import log


def chart(bench):
    """Bar charts of the goodput scenarios, latency and memory, in one PNG (needs matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("chart skipped: matplotlib is missing (python3 -m pip install matplotlib)")
        return None
    panels = [s for s in (1, 2, 3, 4, 5) if any(r["scenario"] == s for r in bench.rows)]
    if not panels:
        return None
    titles = {1: "1: per-flow cap 8 Mbit/s, link 400", 2: "2: RTT 200 ms, 1% loss, 100 Mbit/s",
              3: "3: clean loopback, one session", 4: "4: 100 B request/response", 5: "5: peak RSS, 1,000 idle sessions and scenario 3"}
    units = {1: "Mbit/s", 2: "Mbit/s", 3: "Mbit/s", 4: "µs (p50; p99 line)", 5: "MiB (VmHWM)"}
    figure, axes = plt.subplots(len(panels), 1, figsize=(11, 3.4 * len(panels)), squeeze=False)
    for axis, scenario in zip(axes[:, 0], panels):
        rows = [r for r in bench.rows if r["scenario"] == scenario]
        if scenario == 5:  # with the peaks of scenario 3's runs
            rows += [{"label": "scenario 3: " + r["label"], "kind": r.get("kind"), "hwm_client_mib": r.get("rss_client_mib"),
                      "hwm_server_mib": r.get("rss_server_mib")} for r in bench.rows
                     if r["scenario"] == 3 and r.get("kind") == "tcsplitter"]
        labels, values, colors, extras = [], [], [], []
        for row in rows:
            kind = row.get("kind", "")
            color = {"direct": "#888888", "iperf3": "#4477aa", "iperf3-slow": "#88aadd", "relay-nio": "#999933",
                     "relay-socat": "#ddcc77", "direct-bbr": "#aaaaaa"}.get(kind, "#cc6677")
            if scenario == 4:
                value, extra = row.get("p50_us"), row.get("p99_us")
            elif scenario == 5:
                value, extra = row.get("hwm_client_mib"), row.get("hwm_server_mib")
            else:
                value, extra = row.get("goodput_mbit"), None
            if value is None:
                continue
            labels.append(row["label"].replace("tcsplitter ", "tcs ").replace(", ", "\n", 1))
            values.append(value)
            colors.append(color)
            extras.append(extra)
        positions = range(len(values))
        if scenario == 5:
            axis.bar([p - 0.2 for p in positions], values, 0.4, color="#cc6677", label="client RSS")
            axis.bar([p + 0.2 for p in positions], [e or 0 for e in extras], 0.4, color="#4477aa", label="server RSS")
            axis.legend(fontsize=7)
        else:
            axis.bar(positions, values, color=colors)
            if scenario == 4:
                axis.plot(positions, [e or 0 for e in extras], "k_", markersize=14)
                axis.set_yscale("log")
        if scenario == 2:
            axis.axhline(100, color="black", linewidth=0.8, linestyle="--")
        axis.set_xticks(list(positions))
        axis.set_xticklabels(labels, fontsize=6, rotation=35, ha="right")
        axis.set_title(titles[scenario], fontsize=9)
        axis.set_ylabel(units[scenario], fontsize=8)
        axis.tick_params(axis="y", labelsize=7)
    figure.suptitle("tcsplitter utils/bench: grey direct TCP, blue iperf3 -P N, red tcsplitter, olive/yellow relays",
                    fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.985))
    path = os.path.join(bench.out_dir, "results.png")
    figure.savefig(path, dpi=110)
    return path


def replot(args):
    """Merges results.csv files by scenario and draws their chart (no root, nothing started)."""
    merged = {}
    for path in args.replot:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        by_scenario = {}
        for row in rows:
            clean = {}
            for key, value in row.items():
                if value in ("", None):
                    continue
                try:
                    clean[key] = int(value) if key in ("scenario", "n", "count") else float(value)
                except ValueError:
                    clean[key] = value
            by_scenario.setdefault(clean["scenario"], []).append(clean)
        merged.update(by_scenario)
    holder = argparse.Namespace(rows=[row for scenario in sorted(merged) for row in merged[scenario]],
                                out_dir=args.out or ".")
    os.makedirs(holder.out_dir, exist_ok=True)
    with open(os.path.join(holder.out_dir, "results.csv"), "w", newline="") as handle:
        keys = []
        for row in holder.rows:
            keys += [key for key in row if key not in keys]
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(holder.rows)
    path = chart(holder)
    print("chart: %s" % path)
    return 0
