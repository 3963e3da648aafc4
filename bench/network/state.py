"""What a run created (namespaces, links, PIDs), recorded as it goes, so `henb-bench clean` can undo a killed run."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pyroute2 import IPRoute, netns

from bench.network.netns import netns_inode, pids_in_netns
from bench.services.process import comm_of, kill_pid

_SAVING = threading.Lock()


@dataclass
class RunState:
    path: Path
    prefix: str
    namespaces: list[str] = field(default_factory=list)
    pids: list[dict[str, object]] = field(default_factory=list)

    def save(self) -> None:
        # Several units power on at once (their threads record their mocks' PIDs): one writer at a time.
        with _SAVING:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            data = asdict(self)
            data["path"] = str(self.path)
            tmp.write_text(json.dumps(data, indent=1))
            os.replace(tmp, self.path)

    def add_namespace(self, name: str) -> None:
        self.namespaces.append(name)
        self.save()

    def add_pid(self, pid: int | None, comm: str, what: str) -> None:
        if pid is not None:
            self.pids.append({"pid": pid, "comm": comm, "what": what})
            self.save()

    @classmethod
    def load(cls, path: Path) -> RunState:
        data = json.loads(path.read_text())
        return cls(path=path, prefix=data["prefix"], namespaces=data["namespaces"], pids=data["pids"])


def state_path(state_dir: Path, prefix: str) -> Path:
    return state_dir / f"{prefix}state.json"


def leftovers(prefix: str) -> dict[str, list[str]]:
    """Namespaces and host links carrying `prefix`."""
    ns = [n for n in netns.listnetns() if n.startswith(prefix)]
    with IPRoute() as ipr:
        links = [lk.get_attr("IFLA_IFNAME") for lk in ipr.get_links()]
    return {"namespaces": ns, "links": [n for n in links if n and n.startswith(prefix)]}


def clean(state_dir: Path, prefix: str) -> list[str]:
    """Remove everything a run with `prefix` left behind; return what was removed, one line each."""
    done: list[str] = []
    path = state_path(state_dir, prefix)
    known: list[str] = []
    if path.exists():
        st = RunState.load(path)
        known = st.namespaces
        for rec in reversed(st.pids):
            pid, comm = int(rec["pid"]), str(rec["comm"])  # type: ignore[call-overload]
            if kill_pid(pid, comm):
                done.append(f"killed {rec['what']} (pid {pid}, {comm})")
    for name in sorted(set(known) | set(leftovers(prefix)["namespaces"])):
        inode = netns_inode(name)
        if inode is not None:
            # Whatever still runs in our namespace keeps it (and its veths, its TUN) alive after deletion.
            for pid in pids_in_netns(inode):
                comm = comm_of(pid) or "?"
                if kill_pid(pid):
                    done.append(f"killed pid {pid} ({comm}) in namespace {name}")
            try:
                netns.remove(name)
                done.append(f"removed namespace {name}")
            except OSError:
                pass
    for link in leftovers(prefix)["links"]:
        subprocess.run(["ip", "link", "del", link], check=False, capture_output=True)
        done.append(f"removed link {link}")
    if path.exists():
        path.unlink()
    return done
