"""`henb-bench doctor`: whether this host can run the bench (kernel, Debian packages, charon plugins, Python
modules, state dir, ports) and whether the inventory's devices answer; one line per item, with the fix.

Only the standard library at import time, so `python -m bench.doctor` still speaks when the venv is broken.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ConfigError, InfraError

DEB_LIST = Path(__file__).with_name("deb-packages.txt")
PLUGIN_DIR = Path("/usr/lib/ipsec/plugins")
DIST = "henb-bench"
MAKE_DEPS = "`make deps`"
MAKE_VENV = "`make venv`"
# Every program the bench (or its tests) executes, with the Debian package that ships it on Debian 12.
# tests/test_packages.py checks the package really owns it and that the Makefile installs it.
PROGRAMS: dict[str, str] = {
    "/usr/lib/ipsec/charon": "strongswan-charon",  # bench/services/charon.py
    "dnsmasq": "dnsmasq-base",  # bench/services/dns.py
    "chronyd": "chrony",  # bench/services/ntp.py
    "ip": "iproute2",  # bench/services/process.py (ip netns exec), bench/network/state.py, this doctor
    "sh": "dash",  # bench/services/process.py (the private /run of each charon), bench/lab/sim/ssh_server.py
    "mount": "mount",  # bench/services/process.py
    "curl": "curl",  # bench/mock/transfer.py (the mock unit's SFTP transfers, libcurl over libssh2)
    "git": "git",  # bench/run.py (revision in run.json)
    "chromium": "chromium",  # tests/bench/report/test_html.py
    "tshark": "tshark",  # bench/evidence/tshark.py (henb-bench judge); tests/bench/services/test_mme.py
    "editcap": "wireshark-common",  # tests/testplans/test_judge_from_captures.py (a capture with a frame cut out)
    "runuser": "util-linux",  # tests/bench/history/pgserver.py (PostgreSQL refuses to run as root)
    "dpkg-query": "dpkg",  # this doctor
    "make": "make",  # the Makefile; tests/test_packages.py reads its DEB list through it
}
XFRM_KEY = "0x" + "01" * 16
TESTS_ONLY = "tests only:"  # a deb-packages.txt why that starts so: only the bench's own tests need it


@dataclass
class Item:
    """One line of the doctor's answer: a missing kernel feature the bench does without is ok, said so."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{'ok' if self.ok else 'FAIL':4}  {self.name}: {self.detail}"
        return text + (f"; fix: {self.fix}" if self.fix and not self.ok else "")


def deb_packages(path: Path = DEB_LIST) -> dict[str, str]:
    """The Debian packages the Makefile installs (`bench/deb-packages.txt`): name -> why."""
    packages = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        name, _, why = raw.partition("#")
        if name.strip():
            packages[name.strip()] = why.strip()
    return packages


# -- host ----------------------------------------------------------------------------------------


def check_root() -> Item:
    uid = os.geteuid()
    if uid == 0:
        return Item("root", True, "running as root")
    return Item(
        "root",
        False,
        f"running as uid {uid}: namespaces, daemons and raw sockets need root",
        "run it with sudo",
    )


def check_kernel(prefix: str) -> list[Item]:
    """Make a throwaway namespace `PREFIXdoctor-PID` and try in it what the bench does; remove it."""
    names = ["veth", "TUN", "XFRM", "raw sockets", "kernel SCTP", "kernel ESP"]
    if os.geteuid() != 0:
        return [
            Item(n, False, "not checked: needs root", "run it with sudo")
            for n in ["network namespaces", *names]
        ]
    ns = f"{prefix}doctor-{os.getpid()}"  # `henb-bench clean` removes it too, were the doctor killed
    from pyroute2 import netns

    try:
        netns.create(ns)
    except Exception as exc:  # whatever pyroute2 raises, the answer is the same
        fix = "a kernel with CONFIG_NET_NS, and root (or CAP_SYS_ADMIN)"
        return [
            Item("network namespaces", False, f"cannot create {ns}: {exc}", fix),
            *(Item(n, False, "not checked: no namespace to try it in", fix) for n in names),
        ]
    try:
        return [
            Item("network namespaces", True, f"created {ns} (removed again)"),
            _try("veth", "a veth pair", "a kernel with CONFIG_VETH", _veth, ns, prefix),
            _try("TUN", "/dev/net/tun gives a TUN device", "a kernel with CONFIG_TUN", _tun, ns, prefix),
            _xfrm(ns),
            _try(
                "raw sockets",
                "IP protocol 132 and packet sockets open",
                "run as root (CAP_NET_RAW)",
                _raw,
                ns,
            ),
            _sctp(ns),
            _esp(ns),
            _charon(ns),
        ]
    finally:
        netns.remove(ns)


def _try(name: str, good: str, fix: str, fn: Callable[..., object], *args: Any) -> Item:
    try:
        fn(*args)
    except Exception as exc:
        return Item(name, False, f"{type(exc).__name__}: {exc}", fix)
    return Item(name, True, good)


def _veth(ns: str, prefix: str) -> None:
    from bench.network.netns import in_netns

    def add(ipr: Any) -> None:
        ipr.link("add", ifname=f"{prefix}dv0", kind="veth", peer=f"{prefix}dv1")
        ipr.link("del", index=ipr.link_lookup(ifname=f"{prefix}dv0")[0])

    in_netns(ns, add)


def _tun(ns: str, prefix: str) -> None:
    import fcntl
    import struct

    from bench.network.netns import run_in_netns

    def open_tun() -> None:
        tunsetiff, iff_tun, iff_no_pi = 0x400454CA, 0x0001, 0x1000
        fd = os.open("/dev/net/tun", os.O_RDWR)
        try:  # not persistent: the device goes with the descriptor
            fcntl.ioctl(fd, tunsetiff, struct.pack("16sH", f"{prefix}dtun".encode(), iff_tun | iff_no_pi))
        finally:
            os.close(fd)

    run_in_netns(ns, open_tun)


def _ip(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True, timeout=10)


def _xfrm(ns: str) -> Item:
    try:
        done = _ip(ns, "xfrm", "policy", "add", "src", "10.0.0.0/24", "dst", "10.1.0.0/24", "dir", "out")
    except OSError as exc:
        return Item("XFRM", False, f"cannot run ip: {exc}", f"apt-get install iproute2 (or {MAKE_DEPS})")
    if done.returncode:
        return Item(
            "XFRM", False, f"ip xfrm policy add: {done.stderr.strip()}", "a kernel with CONFIG_XFRM_USER"
        )
    return Item("XFRM", True, "an XFRM policy can be added (charon's kernel-netlink installs policies)")


def _esp(ns: str) -> Item:
    try:
        done = _ip(
            ns, "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x100",
            "mode", "tunnel", "enc", "cbc(aes)", XFRM_KEY, "auth", "hmac(sha256)", XFRM_KEY + XFRM_KEY[2:],
        )  # fmt: skip
    except OSError as exc:
        return Item(
            "kernel ESP", False, f"cannot run ip: {exc}", f"apt-get install iproute2 (or {MAKE_DEPS})"
        )
    instead = "the bench does ESP in userspace: charon's kernel-libipsec plugin, over a TUN device"
    if done.returncode == 0:
        return Item("kernel ESP", True, f"present; not used: {instead}, the same on every host")
    return Item("kernel ESP", True, f"absent ({done.stderr.strip()}); not needed: {instead}")


def _raw(ns: str) -> None:
    from bench.network.netns import run_in_netns

    def open_raw() -> None:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, 132).close()
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003)).close()

    run_in_netns(ns, open_raw)


def _sctp(ns: str) -> Item:
    from bench.network.netns import run_in_netns

    try:
        run_in_netns(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_SEQPACKET, 132).close())
    except OSError as exc:
        return Item(
            "kernel SCTP", True, f"absent ({exc.strerror}); not needed: the MME stand-in reads SCTP INITs "
            "from a raw IP-protocol-132 socket and the mock unit sends them the same way",
        )  # fmt: skip
    return Item(
        "kernel SCTP", True, "present (the mock unit uses it; the MME stand-in reads raw IP-protocol-132)"
    )


def _charon(ns: str) -> Item:
    """charon started as the bench starts it (its load list, kernel-libipsec, a private /run), asked over VICI."""
    from bench.errors import BenchError
    from bench.services.charon import Charon

    with tempfile.TemporaryDirectory(prefix="henb-bench-doctor-") as tmp:
        charon = Charon("doctor-charon", Path(tmp), ns)
        try:
            charon.start(timeout=10)
            version = charon.session.version()
        except (BenchError, OSError) as exc:  # OSError: charon exiting right after its VICI socket answered
            # charon listens on VICI before it checks its plugins' dependencies: a connect may get in and be
            # reset when it exits. Whichever way that went, a charon that exited is reported by its exit code.
            failure = _exited(charon) or exc
            log = Path(tmp, "charon.log")
            said = log.read_text(errors="replace").splitlines()[-4:] if log.exists() else []
            fix = f"{MAKE_DEPS} (the packages and plugins above)"
            # The log goes with the temporary folder: its last lines instead of its path.
            detail = str(failure).split("; log ")[0]
            return Item("charon starts", False, " | ".join([detail, *said]), fix)
        finally:
            charon.stop()
    return Item(
        "charon starts",
        True,
        f"strongSwan {version.get('version', b'?').decode()} with every plugin of the load list, answers over VICI",
    )


def _exited(charon: Any, wait: float = 3.0) -> Exception | None:
    """The error naming charon's exit code once it has exited (within `wait` s), or None if it still runs."""
    daemon = charon.daemon
    if daemon is None or daemon.proc is None:
        return None
    try:
        daemon.proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        return None
    try:
        daemon.check_alive()
    except InfraError as exc:
        return exc
    return None


def check_leftovers(prefix: str) -> Item:
    if os.geteuid() != 0:
        return Item(f"leftovers of prefix {prefix}", False, "not checked: needs root", "run it with sudo")
    from bench.network.state import leftovers

    left = leftovers(prefix)
    found = left["namespaces"] + left["links"]
    if not found:
        return Item(f"leftovers of prefix {prefix}", True, "no namespace or link carries it")
    return Item(
        f"leftovers of prefix {prefix}",
        False,
        f"{', '.join(found)} exist (left by a killed run, or a run is going now)",
        "`henb-bench clean` once no run is going (or give this bench another bench.prefix)",
    )


# -- packages, plugins, programs, Python ---------------------------------------------------------


def check_packages(packages: dict[str, str]) -> list[Item]:
    """Each Debian package installed (dpkg-query; honours DPKG_ADMINDIR like dpkg itself)."""
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Package}\t${Status}\t${Version}\n", *packages],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError:
        return [
            Item(
                "Debian packages", False, "no dpkg-query: not a Debian host", f"install: {' '.join(packages)}"
            )
        ]
    found = {}
    for row in done.stdout.splitlines():
        name, status, version = (row.split("\t") + ["", ""])[:3]
        if status.endswith(" installed"):
            found[name] = version
    items = []
    for name, why in packages.items():
        label = f"deb {name}"
        if name in found:
            items.append(Item(label, True, f"{found[name]} ({why})"))
        elif why.startswith(TESTS_ONLY):  # the bench runs without it; `make test` installs it
            items.append(Item(label, True, f"not installed, not needed to run the bench ({why})"))
        else:
            fix = f"apt-get install --no-install-recommends {name} (or {MAKE_DEPS}, which installs them all)"
            items.append(Item(label, False, f"not installed ({why})", fix))
    return items


def check_plugins() -> list[Item]:
    from bench.services.charon import PLUGINS

    items = []
    for name in PLUGINS.split():
        path = PLUGIN_DIR / f"libstrongswan-{name}.so"
        if path.is_file():
            items.append(Item(f"charon plugin {name}", True, str(path)))
        else:
            fix = f"{MAKE_DEPS}: one of the strongSwan packages above ships it"
            items.append(Item(f"charon plugin {name}", False, f"{path} missing: charon will not start", fix))
    return items


def check_programs(programs: dict[str, str]) -> list[Item]:
    items = []
    for name, package in programs.items():
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and os.access(path, os.X_OK):
            items.append(Item(f"program {os.path.basename(name)}", True, path))
        else:
            where = name if os.path.isabs(name) else f"{name} on PATH ({os.environ.get('PATH', '')})"
            fix = f"apt-get install --no-install-recommends {package} (or {MAKE_DEPS})"
            items.append(Item(f"program {os.path.basename(name)}", False, f"no {where}", fix))
    return items


def requirements() -> list[str]:
    """What henb-bench needs at run time, from its installed metadata (pyproject.toml's dependencies)."""
    import importlib.metadata  # here, not for `henb-bench`'s parser (built at every start, whatever the command)

    reqs = importlib.metadata.requires(DIST) or []
    return [r for r in reqs if "extra ==" not in r]


# What a `henb-bench run` imports only when its inventory or options use it (a lab place, the history's
# migrations or PostgreSQL): the host check inside a run (`run --doctor`) finds them without importing them.
IMPORTED_WHEN_USED = frozenset({"labgrid", "alembic", "psycopg"})


def check_python(reqs: list[str], spec_only: frozenset[str] = frozenset()) -> list[Item]:
    """Each requirement installed in this Python at a fitting version, and its modules importable (those in
    `spec_only` found, not imported)."""
    import importlib.metadata
    import importlib.util

    modules: dict[str, list[str]] = {}
    for module, dists in importlib.metadata.packages_distributions().items():
        for dist in dists:
            modules.setdefault(_norm(dist), []).append(module)
    items = []
    for req in reqs:
        name = re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0]
        fix = f"{sys.executable} -m pip install '{req}' (or {MAKE_VENV})"
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            items.append(Item(f"python {name}", False, f"not installed in {sys.prefix}", fix))
            continue
        if not _fits(req, version):
            items.append(Item(f"python {name}", False, f"{version} installed, {req} needed", fix))
            continue
        broken = []
        for module in sorted(m for m in modules.get(_norm(name), []) if not m.startswith("_")):
            try:
                if module in spec_only:
                    if importlib.util.find_spec(module) is None:
                        broken.append(f"import {module}: not found")
                else:
                    importlib.import_module(module)
            except Exception as exc:  # an install broken in any way
                broken.append(f"import {module}: {type(exc).__name__}: {exc}")
        if broken:
            items.append(Item(f"python {name}", False, "; ".join(broken), fix))
        else:
            items.append(Item(f"python {name}", True, version))
    return items


def _norm(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _fits(req: str, version: str) -> bool:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pytest brings packaging; without it, only presence is checked
        return True
    return Requirement(req).specifier.contains(version, prereleases=True)


# -- inventory -----------------------------------------------------------------------------------


def check_state_dir(state_dir: Path) -> Item:
    label = f"state dir {state_dir}"
    fix = f"make {state_dir} a writable folder (or set bench.state_dir in the inventory)"
    if state_dir.exists():
        if not state_dir.is_dir():
            return Item(label, False, "exists and is not a folder", fix)
        try:
            with tempfile.TemporaryFile(dir=state_dir):
                pass
        except OSError as exc:
            return Item(label, False, f"not writable: {exc.strerror}", fix)
        return Item(label, True, "writable")
    parent = next(p for p in state_dir.parents if p.exists())
    if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        return Item(label, True, f"missing; a run makes it (in writable {parent})")
    return Item(label, False, f"missing, and {parent} is not writable", fix)


def check_ports(inv: Any) -> Item:
    """The bench's services listen inside its own namespaces; on the host, only the mock supply's SCPI server,
    on a 127.0.0.1 port the OS picks: that needs a working loopback."""
    op = inv.operator
    inside = (
        f"HeMS {op.hems_port}/tcp, S1 {op.s1_port}/sctp, DNS 53, DHCP 67/udp, IKE 500 and 4500/udp, "
        "file server 21, 22, 80, 443/tcp listen inside the bench's own namespaces, free there by construction"
    )
    try:
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError as exc:
        return Item(
            "ports", False, f"{inside}; but no free port on 127.0.0.1 answers: {exc}", "`ip link set lo up`"
        )
    return Item(
        "ports", True, f"{inside}; the host needs none but a free 127.0.0.1 port (the mock supply): ok"
    )


def check_inventory(path: Path) -> tuple[list[Item], Any]:
    """The inventory loads (a ConfigError names the key), and every device it names answers (check --probe)."""
    from bench.inventory import load_inventory
    from bench.opscli import probe_inventory

    inv = load_inventory(path)  # ConfigError: exit 2, said by the caller
    items = [Item(f"inventory {path}", True, f"valid, {len(inv.units)} unit(s)")]
    for row in probe_inventory(inv):
        where = "" if row.address == "-" else f" {row.address}"
        label = f"{row.unit} {row.resource} ({row.driver}{where})"
        if row.ok is False:
            items.append(
                Item(
                    label,
                    False,
                    row.detail,
                    "see docs/drivers.md; `henb-bench check --probe` shows the table",
                )
            )
        else:
            items.append(Item(label, True, row.detail))
    return items, inv


# -- the command ---------------------------------------------------------------------------------


def run_doctor(
    inventory: Path,
    packages: dict[str, str] | None = None,
    reqs: list[str] | None = None,
    say: Callable[[str], None] = print,
    quiet: bool = False,
    in_run: bool = False,
) -> int:
    """Check everything, print one line per item; 0 all ok, 2 the inventory is wrong, 3 the host needs a fix.

    `packages` and `reqs` default to the Makefile's Debian list and henb-bench's Python requirements; tests
    pass others to see a missing one named. `in_run`: the check a run makes first (`run --doctor`), which finds
    the modules a run imports only when used (IMPORTED_WHEN_USED) without importing them."""
    items: list[Item] = []

    def show(new: list[Item]) -> None:
        items.extend(new)
        for item in new:
            if not (quiet and item.ok):
                say(item.line())

    show([check_root()])
    show(check_packages(deb_packages() if packages is None else packages))
    show(check_programs(PROGRAMS))
    show(
        check_python(requirements() if reqs is None else reqs, IMPORTED_WHEN_USED if in_run else frozenset())
    )
    try:
        show(check_plugins())
    except ImportError as exc:
        show([Item("charon plugins", False, f"not checked: {exc}", MAKE_VENV)])
    try:
        inv_items, inv = check_inventory(inventory)
    except ConfigError as exc:
        # Without a valid inventory there is no prefix: no namespace is made under someone else's.
        say(f"FAIL  inventory {inventory}: {exc}; fix: the inventory (`henb-bench check` says the same)")
        say("henb-bench doctor: the inventory is wrong; the kernel, state dir and devices were not checked")
        return ConfigError.exit_code
    except ImportError as exc:
        inv_items, inv = [Item(f"inventory {inventory}", False, f"not checked: {exc}", MAKE_VENV)], None
    if inv is not None:
        prefix = inv.bench.prefix
        show([check_leftovers(prefix)])  # before the doctor's own namespace, which carries the prefix
        show(check_kernel(prefix))
        show([check_state_dir(inv.bench.state_dir), check_ports(inv)])
    show(inv_items)
    bad = [i for i in items if not i.ok]
    if bad:
        say(
            f"henb-bench doctor: {len(bad)} of {len(items)} items need a fix: "
            + ", ".join(i.name for i in bad)
        )
        return InfraError.exit_code
    say(f"henb-bench doctor: all {len(items)} items ok")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    return run_doctor(Path(args.inventory), quiet=args.quiet)


def add_parser(sub: Any) -> None:
    """`henb-bench doctor` (bench/cli.py calls this)."""
    p = sub.add_parser(
        "doctor",
        help="check this host can run the bench (kernel, Debian packages, charon plugins, Python modules, "
        "state dir, ports) and that the inventory's devices answer; one line per item with the fix",
    )
    # Also after the subcommand, as `power` and `up` take it; SUPPRESS keeps a value given before it.
    p.add_argument("--inventory", default=argparse.SUPPRESS, help="inventory file (default: inventory.yaml)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the items that need a fix")
    p.set_defaults(fn=cmd_doctor)


if __name__ == "__main__":  # python -m bench.doctor [INVENTORY]: works even where bench.cli cannot import
    sys.exit(run_doctor(Path(sys.argv[1] if len(sys.argv) > 1 else "inventory.yaml")))
