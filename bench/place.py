"""A unit's labgrid place: found and acquired through labgrid's coordinator (its gRPC client session), its exported
resources mapped to the bench's drivers, released on every exit path; places a killed run held are recorded in the
state dir, where `henb-bench clean` finds them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.errors import ConfigError, InfraError
from bench.inventory import PLACE_PARTS, Inventory, LabgridPlace, parse_inventory

EXTRA = "a requirement of henb-bench: `make venv`"
# Place tags that say which unit is in the place: they replace the inventory's units.NAME.identity keys.
IDENTITY_TAGS = ("manufacturer", "oui", "product_class", "serial_number")
POLL = 1.0  # seconds between looks at the coordinator while waiting for a place
CALL_TIMEOUT = 15.0


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


_LOOPS = threading.local()


def _loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop for coordinator sessions, never closed: grpc.aio's poller thread calls into the
    loop a channel was made on even after the channel is closed ("Event loop is closed" otherwise)."""
    if getattr(_LOOPS, "loop", None) is None:
        _LOOPS.loop = asyncio.new_event_loop()
    return _LOOPS.loop  # type: ignore[no-any-return]


def _own_connection(session: Any) -> None:
    """The session's channel on a TCP connection of its own. gRPC shares connections between a process's
    channels to one target (its global subchannel pool): a session opened just after another one closed could
    ride the old connection while the coordinator still holds that peer as a client, and labgrid's coordinator
    then fails the new stream (`assert peer not in self.clients`: "Could not connect to coordinator")."""
    import grpc
    from labgrid.remote.generated import labgrid_coordinator_pb2_grpc

    shared = session.channel
    options = [
        ("grpc.keepalive_time_ms", 7500),  # labgrid's own ClientSession options
        ("grpc.keepalive_timeout_ms", 10000),
        ("grpc.http2.ping_timeout_ms", 10000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.use_local_subchannel_pool", 1),
    ]
    session.channel = grpc.aio.insecure_channel(target=session.address, options=options)
    session.stub = labgrid_coordinator_pb2_grpc.CoordinatorStub(session.channel)
    del shared  # never connected (grpc channels connect on their first call)


class Coordinator:
    """One labgrid client session (labgrid.remote.client.ClientSession) on an event loop of its own; it sees every
    place and resource the coordinator knows, kept up to date by the session."""

    def __init__(self, address: str, timeout: float = CALL_TIMEOUT) -> None:
        try:
            from labgrid.remote.client import ClientSession
            from labgrid.util.proxy import proxymanager
        except ImportError as exc:
            raise ConfigError(f"a labgrid place needs labgrid ({exc}): {EXTRA}") from None
        self.address, self.timeout = address, timeout
        self.loop = _loop()
        asyncio.set_event_loop(self.loop)  # grpc.aio binds the channel to the current loop
        try:
            self.session = ClientSession(
                proxymanager.get_grpc_address(address, default_port=20408), self.loop
            )
            _own_connection(self.session)
            self._run(self.session.start())
        except Exception as exc:
            self._close_loop()
            raise InfraError(
                f"labgrid coordinator {address} does not answer ({type(exc).__name__}: {exc}); is "
                "labgrid-coordinator running there?"
            ) from None

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, self.timeout))

    @property
    def me(self) -> str:
        """Who this bench is to the coordinator: host/user (LG_HOSTNAME and LG_USERNAME, as labgrid-client)."""
        return f"{self.session.gethostname()}/{self.session.getuser()}"

    def places(self) -> dict[str, Any]:
        self._run(self.session.sync_with_coordinator())
        return dict(self.session.places)

    def acquire(self, name: str) -> bool:
        """True if this session got the place; False when someone else was first (or it is reserved)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        try:
            self._run(self.session.stub.AcquirePlace(pb.AcquirePlaceRequest(placename=name)))
        except Exception:  # noqa: BLE001  # grpc's AioRpcError: taken meanwhile, reserved, or gone
            return False
        return bool(self.places()[name].acquired == self.me)

    def release(self, name: str, holder: str) -> bool:
        """Release the place if `holder` still holds it (labgrid-client release-from); True if it did."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        place = self.places().get(name)
        if place is None or place.acquired != holder:
            return False
        self._run(self.session.stub.ReleasePlace(pb.ReleasePlaceRequest(placename=name, fromuser=holder)))
        return True

    def resources(self, name: str) -> dict[str, tuple[dict[str, Any], bool]]:
        """The acquired place's resources: class -> (parameters, available)."""
        place = self.places()[name]
        found: dict[str, tuple[dict[str, Any], bool]] = {}
        for exporter, group, cls, res in place.acquired_resources:
            try:
                entry = self.session.resources[exporter][group][res]
            except KeyError:
                raise InfraError(
                    f"labgrid place {name}: resource {exporter}/{group}/{cls}/{res} is gone (exporter "
                    f"{exporter} disconnected?)"
                ) from None
            found.setdefault(entry.cls, (dict(entry.args), bool(entry.avail)))
        return found

    def nic_hosts(self, place: Any) -> set[str]:
        """The hosts of the network interfaces the place matches (acquired or not)."""
        hosts = set()
        for exporter, groups in self.session.resources.items():
            for group, entries in groups.items():
                for name, entry in entries.items():
                    if entry.cls == "RemoteNetworkInterface" and place.hasmatch(
                        (exporter, group, entry.cls, name)
                    ):
                        hosts.add(str(entry.args.get("host", "")))
        return hosts

    def _close_loop(self) -> None:
        asyncio.set_event_loop(None)  # the loop stays open: grpc's poller may still call into it

    def close(self) -> None:
        try:
            self._run(self.session.stop())
            self._run(self.session.close())
        except Exception:  # noqa: BLE001  # closing a session whose coordinator went away
            pass
        finally:
            self._close_loop()

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _matching(coord: Coordinator, cfg: LabgridPlace, tags: dict[str, str], where: str) -> list[Any]:
    """The named place, or the places with the tags whose NIC is on this host (the bench moves it)."""
    places = coord.places()
    if cfg.place is not None and not tags:
        found = [p for p in places.values() if p.name == cfg.place or cfg.place in p.aliases]
        if not found:
            raise ConfigError(
                f"{where}: no place {cfg.place!r} on labgrid coordinator {cfg.coordinator}; places there: "
                f"{', '.join(sorted(places)) or 'none'}"
            )
        return found
    found = [p for p in places.values() if all(p.tags.get(k) == v for k, v in tags.items())]
    if not found:
        shown = "; ".join(f"{n} ({_tags(p.tags) or 'no tags'})" for n, p in sorted(places.items()))
        raise ConfigError(
            f"{where}: no place on labgrid coordinator {cfg.coordinator} has the tags {_tags(tags)}; places "
            f"there: {shown or 'none'}"
        )
    here = [p for p in found if all(local_host(h) for h in coord.nic_hosts(p))]
    if not here:
        elsewhere = "; ".join(f"{p.name} on {', '.join(sorted(coord.nic_hosts(p)))}" for p in found)
        raise ConfigError(
            f"{where}: every place with the tags {_tags(tags)} has its network interface on another host "
            f"({elsewhere}); the bench moves the unit's WAN NIC, so it runs where the NIC is (this is "
            f"{socket.gethostname()})"
        )
    return here


def _tags(tags: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _held(places: list[Any]) -> str:
    return "; ".join(
        f"{p.name} by {p.acquired} since {_when(p.changed)}"
        if p.acquired
        else f"{p.name} reserved ({p.reservation})"
        for p in places
    )


def acquire(
    coord: Coordinator,
    cfg: LabgridPlace,
    tags: dict[str, str],
    where: str,
    record: Callable[[str, bool], None],
    say: Callable[[str], None],
) -> str:
    """Acquire the named place, or any free place with the tags, waiting up to `cfg.wait` seconds while others
    hold them; InfraError naming who holds them and since when. `record(name, True)` runs before each try (so a
    kill -9 in between still leaves the record `clean` reads), `record(name, False)` after a failed one."""
    deadline = time.monotonic() + cfg.wait
    said = False
    while True:
        candidates = _matching(coord, cfg, tags, where)
        for place in candidates:
            if not place.acquired:
                record(place.name, True)
                if coord.acquire(place.name):
                    return str(place.name)
                record(place.name, False)
        left = deadline - time.monotonic()
        candidates = _matching(coord, cfg, tags, where)
        what = f"place {cfg.place}" if cfg.place and not tags else f"every place with {_tags(tags)}"
        if left <= 0:
            raise InfraError(
                f"labgrid {what} on coordinator {cfg.coordinator} is held: {_held(candidates)} (waited "
                f"{cfg.wait:g} s, {where}.wait)"
            )
        if not said:
            say(f"waiting up to {cfg.wait:g} s for labgrid {what}: held {_held(candidates)}")
            said = True
        time.sleep(min(POLL, left))


# -- what the place's resources are to the bench --------------------------------------------------


def local_host(host: str) -> bool:
    return host in {"localhost", "127.0.0.1", "::1", socket.gethostname(), socket.getfqdn()}


def unit_parts(
    resources: dict[str, tuple[dict[str, Any], bool]], cfg: LabgridPlace, place: str
) -> dict[str, Any]:
    """The unit's power, console and wan entries from the place's NetworkPowerPort, NetworkSerialPort and
    (Remote)NetworkInterface."""
    shown = ", ".join(sorted(resources)) or "none"
    for cls, (_, avail) in resources.items():
        if not avail:
            raise InfraError(f"labgrid place {place}: its {cls} is not available (the exporter says so)")

    def need(*classes: str) -> dict[str, Any]:
        for cls in classes:
            if cls in resources:
                return resources[cls][0]
        raise ConfigError(
            f"labgrid place {place} has no {' or '.join(classes)} (its resources: {shown}); a unit's place "
            "needs a NetworkPowerPort, a NetworkSerialPort and a NetworkInterface"
        )

    power = need("NetworkPowerPort")
    serial = need("NetworkSerialPort")
    nic = need("RemoteNetworkInterface", "NetworkInterface")
    host = nic.get("host", "localhost")
    if not local_host(host):
        raise ConfigError(
            f"labgrid place {place}: its network interface {nic.get('ifname')} is on host {host}, and the bench "
            f"moves the unit's WAN NIC into its own namespaces: run the bench on {host} (this is "
            f"{socket.gethostname()})"
        )
    scheme = "rfc2217" if serial.get("protocol", "rfc2217") == "rfc2217" else "socket"
    console: dict[str, Any] = {
        "driver": "serial",
        "url": f"{scheme}://{serial['host']}:{serial['port']}",
        "baudrate": int(serial.get("speed", 115200)),
    }
    if cfg.boot_banner:
        console["boot_banner"] = cfg.boot_banner
    return {
        "power": {
            "driver": "labgrid",
            "model": power["model"],
            "host": power["host"],
            "index": int(power["index"]),
        },
        "console": console,
        "wan": {"driver": "nic", "ifname": nic["ifname"]},
    }


# -- the record `clean` reads ----------------------------------------------------------------------


@dataclass
class Held:
    coordinator: str
    place: str
    holder: str
    since: float
    pid: int
    ifname: str | None = None


def record_path(state_dir: Path, prefix: str) -> Path:
    return state_dir / f"{prefix}places.json"


def _load(path: Path) -> list[Held]:
    try:
        return [Held(**h) for h in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return []


def _save(path: Path, held: list[Held]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(h) for h in held], indent=1))
    os.replace(tmp, path)


def held_places(state_dir: Path, prefix: str) -> list[Held]:
    return _load(record_path(state_dir, prefix))


def release_recorded(state_dir: Path, prefix: str) -> list[str]:
    """Release every place a run with `prefix` recorded as held (after kill -9); one line per place."""
    path = record_path(state_dir, prefix)
    done: list[str] = []
    left: list[Held] = []
    for h in _load(path):
        path.with_name(f"{prefix}place-{h.place}.yaml").unlink(missing_ok=True)  # the run's inventory copy
        try:
            with Coordinator(h.coordinator) as coord:
                released = coord.release(h.place, h.holder)
        except (InfraError, ConfigError) as exc:
            left.append(h)
            done.append(f"could not release labgrid place {h.place}: {exc}")
            continue
        done.append(
            f"released labgrid place {h.place} on {h.coordinator} (held as {h.holder} since {_when(h.since)})"
            if released
            else f"labgrid place {h.place} on {h.coordinator}: no longer held as {h.holder}"
        )
    if left:
        _save(path, left)
    else:
        path.unlink(missing_ok=True)
    return done


# -- a run in a place -----------------------------------------------------------------------------


@contextlib.contextmanager
def held_inventory(
    inv_path: Path,
    inv: Inventory,
    unit: str,
    tags: dict[str, str],
    run_dir: Path,
    say: Callable[[str], None],
) -> Iterator[Path]:
    """The inventory to run with: `inv_path` itself, or for a unit in a labgrid place, with the place acquired,
    a copy whose unit has the place's resources as power, console and wan (in the state dir: it holds the
    inventory's secrets); the place is released when the block ends, however it ends."""
    cfg = inv.units[unit].labgrid
    if cfg is None:
        if tags:
            raise ConfigError(f"--place-tag: units.{unit} names no labgrid place (units.{unit}.labgrid)")
        yield inv_path
        return
    where = f"units.{unit}.labgrid"
    record = record_path(inv.bench.state_dir, inv.bench.prefix)
    held: list[Held] = []  # this run's place, once acquired
    with Coordinator(cfg.coordinator) as coord:

        def recorded(name: str, trying: bool) -> None:
            if trying:
                held.append(Held(cfg.coordinator, name, coord.me, time.time(), os.getpid()))
                _save(record, [*_load(record), held[0]])
            else:
                gone = held.pop()
                _save(record, [h for h in _load(record) if not _same(h, gone)])

        place = acquire(coord, cfg, tags or dict(cfg.tags), where, recorded, say)
        try:
            parts = unit_parts(coord.resources(place), cfg, place)
            # The unit in the place says who it is through the place's tags, as a lab labels its units.
            told = {k: v for k, v in coord.places()[place].tags.items() if k in IDENTITY_TAGS}
        except BaseException:
            _release(coord, held[0], record)
            raise
    mine = held[0]
    try:
        mine.ifname = parts["wan"]["ifname"]  # `clean` gives the NIC back after a killed run
        _save(record, [mine if _same(h, mine) else h for h in _load(record)])
        say(f"acquired labgrid place {place} on {cfg.coordinator} as {mine.holder}")
        data = yaml.safe_load(inv_path.read_text(encoding="utf-8"))
        entry = {k: v for k, v in data["units"][unit].items() if k not in ("labgrid", *PLACE_PARTS)}
        entry["identity"] = {**entry["identity"], **told}
        data["units"] = {unit: {**entry, **parts}}
        out = record.with_name(f"{inv.bench.prefix}place-{place}.yaml")
        parse_inventory(data, out)
        out.write_text(
            f"# Written by `henb-bench run`: {inv_path} with units.{unit} in labgrid place {place}.\n"
            + yaml.safe_dump(data, sort_keys=False)
        )
        out.chmod(0o600)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "place.json").write_text(
            json.dumps(
                {**asdict(mine), "tags": tags or cfg.tags, "identity": entry["identity"], **parts}, indent=1
            )
        )
        yield out
    finally:
        record.with_name(f"{inv.bench.prefix}place-{place}.yaml").unlink(missing_ok=True)
        with Coordinator(cfg.coordinator) as coord:
            _release(coord, mine, record)


def _same(a: Held, b: Held) -> bool:
    return (a.coordinator, a.place, a.pid) == (b.coordinator, b.place, b.pid)


def _release(coord: Coordinator, held: Held, record: Path) -> None:
    """Release the place and drop it from the record (kept there when the coordinator cannot be reached)."""
    coord.release(held.place, held.holder)
    left = [h for h in _load(record) if not _same(h, held)]
    if left:
        _save(record, left)
    else:
        record.unlink(missing_ok=True)


def probe_place(cfg: LabgridPlace) -> str:
    """Whether the coordinator answers and has the place (or places with the tags), and who holds them."""
    with Coordinator(cfg.coordinator) as coord:
        found = _matching(coord, cfg, dict(cfg.tags), "labgrid")
    return "coordinator answers; " + "; ".join(
        f"place {p.name}: " + (f"held by {p.acquired} since {_when(p.changed)}" if p.acquired else "free")
        for p in found
    )
