"""CPU and memory of processes and of the machine, read from /proc: what the rows report as CPU
seconds per GiB, stolen CPU and peak RSS."""
import os


def proc_cpu_seconds(pid, children=False):
    """utime + stime (and reaped children's, if asked) of a live process, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    if children:
        total += int(fields[13]) + int(fields[14])
    return total / ticks


def cpu_jiffies():
    """(steal, total) jiffies of the whole machine from /proc/stat: on a virtual machine the
    hypervisor's steal is time the benchmark's processes could not run at all."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0, sum(fields[:8]))


def steal_percent(before, after):
    """Share of the machine's CPU time stolen by the hypervisor between two cpu_jiffies()."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1])


def proc_memory_kib(pid):
    """(VmRSS, VmHWM) in KiB, or (None, None)."""
    values = {}
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    values[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        return None, None
    return values.get("VmRSS"), values.get("VmHWM")
