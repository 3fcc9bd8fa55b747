"""The report: one logged line per row, one markdown table per scenario (stdout and
DIR/report.md), every row in DIR/results.csv, and the header line describing the machine."""
import csv
import os
import platform
import re
import sys

from harness import REPO, log, run


class ReportMixin:
    """Bench's rows and tables (self.rows, self.tables, self.header, self.out_dir)."""

    def record(self, scenario, label, **values):
        row = {"scenario": scenario, "label": label}
        row.update(values)
        self.rows.append(row)
        shown = {k: v for k, v in row.items() if k not in ("scenario", "label")}
        log("  %-58s %s" % (label, " ".join("%s=%s" % (k, fmt(v)) for k, v in shown.items() if k != "flags")))
        return row

    def table(self, scenario, title, rows, columns):
        lines = ["### Scenario %d: %s" % (scenario, title), "",
                 "| " + " | ".join(name for name, _ in columns) + " |",
                 "|" + "|".join("---" if key == "label" else "---:" for _, key in columns) + "|"]
        for row in rows:
            cells = []
            for _, key in columns:
                if key == "rss_start":
                    a, b = row.get("rss_client_start_mib"), row.get("rss_server_start_mib")
                    cells.append("%s / %s" % (fmt(a), fmt(b)) if a is not None else "")
                elif key in ("ratio", "ratio_to_link", "ratio_to_uncapped"):
                    value = row.get(key)
                    cells.append("%.0f%%" % (100 * value) if isinstance(value, (int, float)) else "")
                else:
                    cells.append(fmt(row.get(key)))
            lines.append("| " + " | ".join(cells) + " |")
        text = "\n".join(lines) + "\n"
        self.tables.append(text)
        print(text, flush=True)
        self.write_outputs()

    def write_outputs(self):
        keys = []
        for row in self.rows:
            for key in row:
                if key not in keys:
                    keys.append(key)
        with open(os.path.join(self.out_dir, "results.csv"), "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            for row in self.rows:
                writer.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
        with open(os.path.join(self.out_dir, "report.md"), "w") as handle:
            handle.write(self.header + "\n" + "\n".join(self.tables))

    def machine(self):
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as handle:
                cpu = re.search(r"model name\s*:\s*(.*)", handle.read()).group(1)
        except (OSError, AttributeError):
            pass
        describe = run(["git", "-C", REPO, "describe", "--always", "--dirty"], check=False, quiet=True).stdout.strip()
        return ("machine: %d cores (%s), Linux %s, load average at start %s; tcsplitter %s (git %s); iperf3 %s; "
                "command: %s" % (os.cpu_count(), cpu, platform.release(), " ".join("%.2f" % x for x in os.getloadavg()),
                                  self.tcsplitter, describe,
                                  run(["iperf3", "--version"], check=False, quiet=True).stdout.split("\n")[0],
                                  " ".join(["utils/bench"] + sys.argv[1:])))


def fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        if abs(value) >= 100:
            return "%.0f" % value
        if abs(value) >= 10:
            return "%.1f" % value
        return "%.2f" % value
    return str(value)
