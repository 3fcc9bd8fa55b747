"""Starting processes inside a namespace (output to a numbered log file, lines kept for waits on
them), stopping them by PID, and waiting for listening ports."""
import os
import re
import resource
import signal
import subprocess
import threading
import time

from harness import log, run


def raise_file_limit():
    """preexec_fn: enough open files for 1,000 sessions on each end."""
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    except (ValueError, OSError):
        pass


class Process:
    """A started process: output copied to a log file, lines kept for waits on them."""

    def __init__(self, bench, namespace, argv, name):
        self.name = name
        self.argv = argv
        self.log_path = bench.log_path(name + ".log")
        self.log_file = open(self.log_path, "w")
        self.log_file.write("# ip netns exec %s %s\n" % (namespace, " ".join(argv)))
        self.log_file.flush()
        self.lines = []
        self.condition = threading.Condition()
        self.popen = subprocess.Popen(
            ["ip", "netns", "exec", namespace] + argv,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, preexec_fn=raise_file_limit)
        self.pid = self.popen.pid  # `ip netns exec` execs the command: same PID
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.popen.stdout:
            self.log_file.write(line)
            self.log_file.flush()
            with self.condition:
                self.lines.append(line.rstrip("\n"))
                self.condition.notify_all()
        with self.condition:
            self.condition.notify_all()

    def wait_line(self, pattern, timeout):
        """The first output line matching `pattern`, waiting at most `timeout` s (None if none)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.condition:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if regex.search(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not self.reader.is_alive()):
                    return None
                self.condition.wait(min(left, 0.2))

    def alive(self):
        return self.popen.poll() is None

    def tail(self, count=5):
        with self.condition:
            return self.lines[-count:]

    def stop(self, timeout=5.0):
        """SIGTERM by PID, then SIGKILL by PID if it is still there after `timeout`."""
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.reader.join(timeout=2)
        if not self.reader.is_alive():
            self.log_file.close()


class ProcessesMixin:
    """Bench's processes: every started process is stopped by cleanup(), newest first."""

    def log_path(self, name):
        """A new numbered file under logs/, in the order things ran."""
        self.sequence += 1
        return os.path.join(self.log_dir, "%03d-%s" % (self.sequence, name))

    def start(self, namespace, argv, name):
        process = Process(self, namespace, argv, name)
        self.processes.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as error:  # keep cleaning up
                log("cleanup: stopping %s (pid %d): %s" % (process.name, process.pid, error))
        self.processes = []

    def wait_listening(self, ns, ports, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = run(["ip", "netns", "exec", ns, "ss", "-Htln"], check=False, quiet=True).stdout
            if all(re.search(r":%d\b" % port, out) for port in ports):
                return True
            time.sleep(0.1)
        return False
