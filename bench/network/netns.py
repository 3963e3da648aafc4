"""Run code and open sockets inside a named network namespace without moving the calling thread."""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from bench.errors import InfraError

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def _setns(name: str) -> None:
    fd = os.open(netns_path(name), os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise InfraError(f"setns into network namespace {name} failed: {os.strerror(err)}")
    finally:
        os.close(fd)


def run_in_netns(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call `fn` in a short-lived thread that has entered namespace `name`; return its result.

    setns(CLONE_NEWNET) changes only the calling thread, so the bench's main thread stays where it is, and
    sockets made inside keep their namespace for life.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            _setns(name)
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    th = threading.Thread(target=target, name=f"netns-{name}")
    th.start()
    th.join()
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


def in_netns(name: str, fn: Callable[..., T], *args: Any) -> T:
    """Call `fn(ipr, *args)` with a pyroute2 IPRoute opened inside namespace `name`.

    pyroute2's NetNS forks a helper process; forking once the bench has threads can deadlock, so the bench
    enters the namespace in a thread instead (an IPRoute works only in the thread that made it).
    """

    def work() -> T:
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            return fn(ipr, *args)

    return run_in_netns(name, work)


def socket_in_netns(name: str, family: int, type_: int, proto: int = 0) -> socket.socket:
    """A socket that lives in namespace `name`, usable from any thread."""
    return run_in_netns(name, socket.socket, family, type_, proto)


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
