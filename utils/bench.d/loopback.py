"""Scenario 3 of utils/bench: one session on clean loopback against a plain two-hop TCP relay
(CPU seconds per GiB, peak RSS), the repeated rows run --rounds times interleaved."""
import statistics

from harness import IPERF_PORT, log


def scenario_3(bench):
    seconds, omit = (4, 1) if bench.quick else (8, 1)
    rounds = bench.rounds or (1 if bench.quick else 3)
    # The rows the targets are judged on run `rounds` times, interleaved (relays, then the
    # tunnel, then again), and report their median: the hypervisor steals CPU in bursts of
    # seconds, so one sample per row can put a stolen second into any one row.
    repeated = ["defaults", "event+frags64KiB"] if bench.quick else ["defaults", "event+frags64KiB", "bulk"]
    once = ["event", "bulk"] if bench.quick else \
        ["event", "event+retries", "event+budget1024", "bulk+retries", "bulk+key"]
    ns = bench.add_namespace("l")
    rows = []
    mbit, received, error = bench.iperf(ns, ns, "127.0.0.1", IPERF_PORT, 1, seconds, omit, server_bind="127.0.0.1")
    rows.append(bench.record(3, "direct TCP on loopback (one hop)", kind="direct", n=1, goodput_mbit=mbit, note=error or ""))
    relays = [("NIO relay (tcsplitter chaos-proxy --kill-percent 0) x2", "nio")]
    if bench.have_socat:
        relays.append(("socat relay x2", "socat"))
    samples = {}
    for number in range(rounds):
        if rounds > 1:
            log("scenario 3: round %d of %d" % (number + 1, rounds))
        for label, kind in relays:
            samples.setdefault(label, []).append(bench.relay_sample(ns, kind, seconds, omit))
        for preset in repeated:
            samples.setdefault(preset, []).append(
                bench.tunnel_iperf(ns, ns, "127.0.0.1", 4, preset, seconds, omit, "s3-%s" % preset))
    for preset in once:
        samples.setdefault(preset, []).append(
            bench.tunnel_iperf(ns, ns, "127.0.0.1", 4, preset, seconds, omit, "s3-%s" % preset))
    relay_rows = [(label, "relay-" + kind, combine_samples(samples[label])) for label, kind in relays]
    best_relay = max([row["goodput_mbit"] or 0.0 for _, _, row in relay_rows] + [0.0])
    for label, kind, row in relay_rows:
        row["ceiling_mbit"] = best_relay
        row["ratio"] = row["goodput_mbit"] / best_relay if best_relay else None
        rows.append(bench.record(3, label, kind=kind, n=1, **row))
    for preset in repeated + once:
        row = combine_samples(samples[preset])
        row["ceiling_mbit"] = best_relay
        row["ratio"] = row["goodput_mbit"] / best_relay if best_relay else None
        rows.append(bench.record(3, "tcsplitter --conns 4, %s" % preset, kind="tcsplitter", **row))
    bench.cleanup()
    bench.table(3, "Clean loopback: one session (iperf3 -P 1) vs a plain two-hop TCP relay on the same path"
                + (" (medians of %d interleaved runs where a row shows several samples; each column's median on its own)" % rounds
                   if rounds > 1 else ""), rows,
                [("run", "label"), ("Mbit/s", "goodput_mbit"), ("samples Mbit/s", "samples_mbit"),
                 ("ratio to best relay", "ratio"),
                 ("CPU s/GiB (both ends)", "cpu_s_per_gib"), ("peak RSS client/first MiB", "rss_client_mib"),
                 ("peak RSS server/second MiB", "rss_server_mib"), ("CPU stolen %", "steal_pct"),
                 ("note", "note")])


def combine_samples(samples):
    """One table row from several runs of the same row: the median goodput (the samples listed
    beside it) and the median CPU per GiB (each median on its own: they may come from different
    runs), the highest peak RSS, the mean stolen CPU, the notes of every run. A single sample is
    returned as it is."""
    if len(samples) == 1:
        return dict(samples[0])
    def median(values):
        values = [v for v in values if isinstance(v, (int, float))]
        return statistics.median(values) if values else None
    row = {key: value for key, value in samples[0].items()
           if key in ("preset", "n", "flags")}
    row["goodput_mbit"] = median(s.get("goodput_mbit") for s in samples)
    row["samples_mbit"] = " / ".join("%.0f" % (s.get("goodput_mbit") or 0.0) for s in samples)
    row["cpu_s_per_gib"] = median(s.get("cpu_s_per_gib") for s in samples)
    row["cpu_s"] = median(s.get("cpu_s") for s in samples)
    for key in ("rss_client_mib", "rss_server_mib"):
        values = [s[key] for s in samples if isinstance(s.get(key), (int, float))]
        row[key] = max(values) if values else None
    steals = [s["steal_pct"] for s in samples if isinstance(s.get("steal_pct"), (int, float))]
    row["steal_pct"] = sum(steals) / len(steals) if steals else None
    row["note"] = "; ".join(sorted(set(s["note"] for s in samples if s.get("note"))))
    return row
