"""What utils/bench needs before it starts: the tools (installed with apt-get when missing) and
the tcsplitter / TCSplitterLinkEmulator binaries (built only when .build/release has none)."""
import os
import shutil
import subprocess
import sys

import realclients
from harness import REPO, log

TOOLS = ["ip", "tc", "nft", "iperf3"]
APT_PACKAGES = {"ip": "iproute2", "tc": "iproute2", "nft": "nftables", "iperf3": "iperf3",
                "ethtool": "ethtool", "socat": "socat"}


def ensure_tools(extra=None):
    """Installs missing tools with apt-get; `extra` ({tool: package}) adds a scenario's own
    (those are installed after one `apt-get update`)."""
    extra = extra or {}
    packages_of = dict(APT_PACKAGES, **extra)
    optional = ["ethtool", "socat"] + list(extra)
    missing = [tool for tool in TOOLS + optional if realclients.which(tool) is None]
    if missing and shutil.which("apt-get"):
        packages = sorted({packages_of[tool] for tool in missing})
        log("installing %s with apt-get" % " ".join(packages))
        if any(tool in extra for tool in missing):
            subprocess.run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"] + packages,
                       stdout=subprocess.DEVNULL, timeout=600)
    still = [tool for tool in TOOLS if shutil.which(tool) is None]
    if still:
        log("utils/bench: missing %s; install them (Debian: apt-get install %s)"
            % (" ".join(still), " ".join(sorted({APT_PACKAGES[t] for t in still}))))
        sys.exit(1)


def ensure_binary(path, product):
    if path and os.access(path, os.X_OK):
        return path
    default = os.path.join(REPO, ".build", "release", product)
    if not os.access(default, os.X_OK):
        log("building %s: swift build -c release --product %s" % (product, product))
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO, check=True, timeout=3600)
    return default
