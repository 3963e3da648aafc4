"""Run code and open sockets inside a named network namespace from a thread (pyroute2's setns), so the
caller's thread stays where it is: the WAN port driver moves NICs with it, and the bench's services build on it."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from pyroute2 import netns

NETNS_DIR = "/run/netns"
T = TypeVar("T")


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def run_in_netns(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call `fn` in a short-lived thread that has entered namespace `name`; return its result.

    setns(CLONE_NEWNET) changes only the calling thread, so the caller stays where it is, and sockets made
    inside keep their namespace for life. A missing namespace is FileNotFoundError (flags=0: never created).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            netns.setns(name, flags=0)
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

    pyroute2's NetNS forks a helper process; forking once the bench has threads can deadlock, so the
    namespace is entered in a thread instead (an IPRoute works only in the thread that made it).
    """

    def work() -> T:
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            return fn(ipr, *args)

    return run_in_netns(name, work)


def socket_in_netns(name: str, family: int, type_: int, proto: int = 0) -> socket.socket:
    """A socket that lives in namespace `name`, usable from any thread."""
    return run_in_netns(name, socket.socket, family, type_, proto)
