"""Network namespaces as the bench sees them: entering one (drivers/netns.py, re-exported), its inode, and the
processes still inside it (what keeps a deleted namespace alive)."""

from __future__ import annotations

import os

# Entering a namespace lives with the drivers (the WAN port driver needs it); re-exported for the bench.
from drivers.netns import NETNS_DIR, in_netns, netns_path, run_in_netns, socket_in_netns

__all__ = [
    "NETNS_DIR",
    "in_netns",
    "netns_inode",
    "netns_path",
    "pids_in_netns",
    "run_in_netns",
    "socket_in_netns",
]


def netns_inode(name: str) -> int | None:
    try:
        return os.stat(netns_path(name)).st_ino
    except FileNotFoundError:
        return None


def pids_in_netns(inode: int) -> list[int]:
    """Every process whose network namespace is `inode` (what keeps a deleted namespace alive)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                pids.append(int(entry))
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return pids
