"""Scenario 5 of utils/bench: peak RSS of each end with 1,000 concurrent idle sessions (and the
peaks of scenario 3's runs, if it ran)."""
import os
import time

from harness import HELPERS, LISTEN_PORT, PRESETS
from sampling import proc_memory_kib


def scenario_5(bench):
    sessions = 1000
    ns = bench.add_namespace("l")
    echo = bench.start(ns, [bench.tcsplitter, "echo", "--listen", "127.0.0.1:7100"], "echo")
    bench.wait_listening(ns, [7100])
    rows = []
    # (bulk's 16 MiB window would need --max-buffer above its 8 GiB default for 1,000 sessions)
    for preset in (["defaults"] if bench.quick else ["defaults", "event"]):
        try:
            client, server = bench.start_tunnel(ns, ns, "127.0.0.1", 4, preset, "127.0.0.1:7100", label="s5-" + preset)
        except RuntimeError as error:
            rows.append(bench.record(5, "%d idle sessions, %s" % (sessions, preset), kind="idle", note=str(error)))
            continue
        start_rss = (proc_memory_kib(client.pid)[0] or 0) / 1024, (proc_memory_kib(server.pid)[0] or 0) / 1024
        holder = bench.start(ns, ["python3", os.path.join(HELPERS, "idle_sessions.py"), "127.0.0.1", str(LISTEN_PORT),
                                  str(sessions), "--hold", "3", "--deadline", "90"], "idle-sessions")
        ready = holder.wait_line(r"^(ready|failed)", 100)
        note = ""
        if not ready or ready.startswith("failed"):
            note = ready or "no answer from the idle-session holder"
        time.sleep(1.0)
        rss = proc_memory_kib(client.pid), proc_memory_kib(server.pid)
        holder.wait_line(r"^closed", 10)
        holder.stop()
        rows.append(bench.record(5, "%d idle sessions, %s" % (sessions, preset), kind="idle", preset=preset,
                                 flags=" ".join(PRESETS[preset]),
                                 rss_client_start_mib=start_rss[0], rss_server_start_mib=start_rss[1],
                                 rss_client_mib=(rss[0][0] or 0) / 1024, rss_server_mib=(rss[1][0] or 0) / 1024,
                                 hwm_client_mib=(rss[0][1] or 0) / 1024, hwm_server_mib=(rss[1][1] or 0) / 1024,
                                 setup_s=float(ready.split()[2]) if ready and ready.startswith("ready") else None,
                                 note=note))
        client.stop()
        server.stop()
    echo.stop()
    bench.cleanup()
    # Peak RSS during scenario 3 (if it ran in this invocation).
    for row in bench.rows:
        if row["scenario"] == 3 and row.get("kind") == "tcsplitter":
            rows.append({"label": "during scenario 3: " + row["label"], "hwm_client_mib": row.get("rss_client_mib"),
                         "hwm_server_mib": row.get("rss_server_mib")})
    bench.table(5, "Memory: peak RSS (VmHWM) of each end", rows,
                [("run", "label"), ("RSS before client/server MiB", "rss_start"), ("RSS with sessions client MiB", "rss_client_mib"),
                 ("server MiB", "rss_server_mib"), ("VmHWM client MiB", "hwm_client_mib"), ("VmHWM server MiB", "hwm_server_mib"),
                 ("sessions opened in s", "setup_s"), ("note", "note")])
