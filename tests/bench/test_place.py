"""Tests for bench/place.py and `henb-bench run` in a labgrid place: a real labgrid-coordinator and labgrid-exporter
on 127.0.0.1 (a free port each run, stopped by PID), exporting a simulated PDU through labgrid's `rest` power
backend, a console port and a NIC; places acquired, waited for, released, and released by `clean` after kill -9."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.errors import ConfigError, InfraError
from bench.inventory import LabgridPlace, load_inventory, parse_inventory
from bench.lab.sim.http_pdu import HttpPduServer
from bench.place import held_inventory, held_places, probe_place, release_recorded
from drivers.config import build_power
from drivers.errors import SettingsError
from drivers.power.labgrid_pdu import LabgridPowerConfig
from tests.labgrid_support import Lab, free_port
from tests.support import PREFIX, ROOT, henb_bench, write_inventory

pytest.importorskip("labgrid")


@pytest.fixture(scope="module")
def pdu() -> Iterator[HttpPduServer]:
    with HttpPduServer(user="admin", password="pdu-secret") as server:
        yield server


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, pdu: HttpPduServer) -> Iterator[Lab]:
    """Three places of one exporter: p1 (untagged), f1 and f2 (product_class=FAP-200), each a power port of the
    simulated PDU (through labgrid's `rest` backend), a console port and a NIC."""
    lab = Lab(tmp_path_factory.mktemp("labgrid"))
    try:
        host = pdu.url.replace("http://", "http://admin:pdu-secret@") + "/api/outlets/{index}/value"
        groups = {
            f"g{i}": {
                "NetworkPowerPort": {"model": "rest", "host": host, "index": i},
                "NetworkSerialPort": {
                    "host": "127.0.0.1",
                    "port": 7000 + i,
                    "protocol": "rfc2217",
                    "speed": 57600,
                },
                "NetworkInterface": {"ifname": f"{PREFIX}lgn{i}"},
            }
            for i in (1, 2, 3)
        }
        groups["g4"] = {
            "NetworkPowerPort": groups["g1"]["NetworkPowerPort"]
        }  # a place with no console, no NIC
        lab.export(groups)
        lab.place(f"{PREFIX}p1", "g1")
        lab.place(f"{PREFIX}f1", "g2", product_class="FAP-200")
        lab.place(f"{PREFIX}f2", "g3", product_class="FAP-200", serial_number="ACME0042")
        lab.place(f"{PREFIX}bare", "g4")
        # a place of another bench host: its NIC is there
        lab.export({"far": groups["g1"]}, name="farexp", hostname="far-bench.lab.example")
        lab.place(f"{PREFIX}far", "far", exporter="farexp", product_class="FAP-300")
        yield lab
    finally:
        lab.close()


def place_inventory(path: Path, lab: Lab, **labgrid: Any) -> Path:
    write_inventory(path)
    data = yaml.safe_load(path.read_text())
    unit = next(iter(data["units"].values()))
    for key in ("power", "console", "wan", "mock"):
        unit.pop(key, None)
    unit["labgrid"] = {"coordinator": lab.address, "wait": 1, **labgrid}
    data["bench"]["state_dir"] = str(path.parent / "state")
    path.write_text(yaml.safe_dump(data))
    return path


def _held(path: Path, tags: dict[str, str] | None = None, said: list[str] | None = None) -> Any:
    inv = load_inventory(path)
    name = next(iter(inv.units))
    return held_inventory(
        path, inv, name, tags or {}, path.parent / "run", (said if said is not None else []).append
    )


def refused(path: Path, tags: dict[str, str] | None = None, said: list[str] | None = None) -> BaseException:
    """What acquiring the inventory's place raises."""
    with pytest.raises((ConfigError, InfraError)) as err, _held(path, tags, said):
        pass
    return err.value


pytestmark = pytest.mark.xdist_group("labgrid-place")


def test_a_place_is_acquired_mapped_to_drivers_and_released(
    lab: Lab, tmp_path: Path, pdu: HttpPduServer
) -> None:
    path = place_inventory(tmp_path / "inv.yaml", lab, place=f"{PREFIX}p1", boot_banner="booting")
    inv = load_inventory(path)
    with _held(path) as run_inv:
        assert lab.holder(f"{PREFIX}p1"), "the place is not acquired"
        [held] = held_places(inv.bench.state_dir, PREFIX)  # recorded for `clean`, with the NIC it moves
        assert (held.place, held.ifname) == (f"{PREFIX}p1", f"{PREFIX}lgn1")
        unit = next(iter(load_inventory(run_inv).units.values()))
        assert unit.labgrid is None and unit.kind == "physical"
        assert unit.console.driver == "serial" and unit.console.url == "rfc2217://127.0.0.1:7001"
        assert unit.console.baudrate == 57600 and unit.console.boot_banner == "booting"
        assert unit.wan.driver == "nic" and unit.wan.ifname == f"{PREFIX}lgn1"
        assert isinstance(unit.power, LabgridPowerConfig) and unit.power.model == "rest"
        # labgrid's NetworkPowerDriver and its rest backend switch the simulated PDU's outlet
        power = build_power(unit.power, unit="u")
        power.on()
        assert pdu.outlets[1] is True and power.state() is True
        power.off()
        assert pdu.outlets[1] is False and power.state() is False
        assert "pdu-secret" not in repr(power)
        assert (tmp_path / "run" / "place.json").is_file()
    assert lab.holder(f"{PREFIX}p1") is None, "the place was not released"
    assert held_places(inv.bench.state_dir, PREFIX) == []


def test_a_held_place_is_waited_for_then_named_with_its_holder(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = place_inventory(tmp_path / "inv.yaml", lab, place=f"{PREFIX}p1", wait=1.5)
    lab.client("-p", f"{PREFIX}p1", "acquire", env={"LG_USERNAME": "bench-a"})
    try:
        monkeypatch.setenv("LG_USERNAME", "bench-b")
        said: list[str] = []
        err = refused(path, said=said)
        assert isinstance(err, InfraError), err
        assert f"place {PREFIX}p1" in str(err) and "/bench-a since 20" in str(err), err
        assert "waited 1.5 s, units.henb-01.labgrid.wait" in str(err), err
        assert said and said[0].startswith("waiting up to 1.5 s for labgrid place"), said
    finally:
        lab.client("-p", f"{PREFIX}p1", "release", env={"LG_USERNAME": "bench-a"})


def test_place_tags_take_any_free_place_with_them(lab: Lab, tmp_path: Path) -> None:
    path = place_inventory(tmp_path / "inv.yaml", lab, tags={"product_class": "FAP-200"})
    nic = {f"{PREFIX}lgn2": f"{PREFIX}f1", f"{PREFIX}lgn3": f"{PREFIX}f2"}
    with _held(path) as first, _held(path) as second:  # the two places with the tag, one each
        got = {next(iter(load_inventory(p).units.values())).wan.ifname for p in (first, second)}  # type: ignore[union-attr]
        assert got == set(nic), got
        serials = {
            next(iter(load_inventory(p).units.values())).identity.serial_number for p in (first, second)
        }
        assert serials == {"MOCK0001", "ACME0042"}, "the place's serial_number tag is not the unit's"
        assert lab.holder(f"{PREFIX}f1") and lab.holder(f"{PREFIX}f2") and not lab.holder(f"{PREFIX}p1")
        err = refused(path)
        assert isinstance(err, InfraError), err
        assert f"every place with product_class=FAP-200 on coordinator {lab.address} is held: " in str(err)
        assert f"{PREFIX}f1 by " in str(err) and f"{PREFIX}f2 by " in str(err), err
    assert lab.holder(f"{PREFIX}f1") is None and lab.holder(f"{PREFIX}f2") is None
    # --place-tag overrides the inventory's tags; tags no place has are the user's mistake
    err = refused(path, {"product_class": "FAP-999"})
    assert isinstance(err, ConfigError) and "has the tags product_class=FAP-999; places there: " in str(err)
    err = refused(path, {"product_class": "FAP-300"})
    assert isinstance(err, ConfigError), err
    assert f"has its network interface on another host ({PREFIX}far on far-bench.lab.example)" in str(err)
    err = refused(place_inventory(tmp_path / "unknown.yaml", lab, place="no-such-place"))
    assert isinstance(err, ConfigError) and "no place 'no-such-place' on labgrid coordinator" in str(err)
    assert f"{PREFIX}p1" in str(err), err


def test_clean_releases_a_place_recorded_as_held(lab: Lab, tmp_path: Path) -> None:
    path = place_inventory(tmp_path / "inv.yaml", lab, place=f"{PREFIX}p1")
    inv = load_inventory(path)
    # A process that acquires the place as a run does, and is killed with -9 while it holds it.
    code = (
        "import os, signal, sys; from pathlib import Path; from bench.inventory import load_inventory; "
        "from bench.place import held_inventory; p = Path(sys.argv[1]); inv = load_inventory(p); "
        "cm = held_inventory(p, inv, 'henb-01', {}, p.parent / 'run', print); cm.__enter__(); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    killed = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert lab.holder(f"{PREFIX}p1")
    done = release_recorded(inv.bench.state_dir, PREFIX)
    assert any(f"released labgrid place {PREFIX}p1" in line for line in done), done
    assert lab.holder(f"{PREFIX}p1") is None and held_places(inv.bench.state_dir, PREFIX) == []
    # someone else's hold is not released: only the holder recorded
    lab.client("-p", f"{PREFIX}p1", "acquire", env={"LG_USERNAME": "someone"})
    try:
        assert release_recorded(inv.bench.state_dir, PREFIX) == []
        assert lab.holder(f"{PREFIX}p1").endswith("/someone")  # type: ignore[union-attr]
    finally:
        lab.client("-p", f"{PREFIX}p1", "release", env={"LG_USERNAME": "someone"})


def test_probe_and_doctor_ask_the_coordinator(lab: Lab, tmp_path: Path) -> None:
    path = place_inventory(tmp_path / "inv.yaml", lab, place=f"{PREFIX}p1")
    inv = load_inventory(path)
    cfg = next(iter(inv.units.values())).labgrid
    assert cfg is not None
    assert probe_place(cfg) == f"coordinator answers; place {PREFIX}p1: free"
    res = henb_bench("--inventory", str(path), "check", "--probe")
    assert res.returncode == 0 and "coordinator answers" in res.stdout, res.stdout + res.stderr
    gone = place_inventory(tmp_path / "gone.yaml", lab, place=f"{PREFIX}p1")
    data = yaml.safe_load(gone.read_text())
    next(iter(data["units"].values()))["labgrid"]["coordinator"] = f"127.0.0.1:{free_port()}"
    gone.write_text(yaml.safe_dump(data))
    res = henb_bench("--inventory", str(gone), "check", "--probe")
    assert res.returncode == 3 and "does not answer" in res.stdout, res.stdout + res.stderr


def test_inventory_names_a_place_instead_of_drivers(tmp_path: Path) -> None:
    def unit(**entry: Any) -> dict[str, Any]:
        ident = {"oui": "00D0B7", "product_class": "FAP-200", "serial_number": "S1"}
        return {"units": {"u1": {"identity": ident, **entry}}}

    lg = {"coordinator": "lab.example:20408", "place": "bench-3"}
    u = parse_inventory(unit(labgrid=lg), tmp_path).units["u1"]
    assert (u.power.driver, u.console.driver, u.wan.driver, u.kind) == ("place", "place", "place", "physical")
    with pytest.raises(ConfigError, match="units.u1: .*remove power"):
        parse_inventory(unit(labgrid=lg, power={"driver": "mock"}), tmp_path)
    with pytest.raises(ConfigError, match="units.u1.labgrid: expected either place .* or tags"):
        parse_inventory(unit(labgrid={"coordinator": "lab.example:20408"}), tmp_path)
    with pytest.raises(ConfigError, match="units.u1.labgrid.coordinator"):
        parse_inventory(unit(labgrid={"coordinator": "lab.example", "place": "x"}), tmp_path)
    with pytest.raises(ConfigError, match="driver place .* needs labgrid"):
        parse_inventory(
            unit(power={"driver": "place"}, console={"driver": "place"}, wan={"driver": "place"}), tmp_path
        )
    with pytest.raises(
        SettingsError, match="power model 'nosuch': labgrid has no such power backend; it has .*gude"
    ):
        build_power(LabgridPowerConfig(driver="labgrid", model="nosuch", host="h", index=1))


def test_a_place_without_the_resources_a_unit_needs_is_refused_and_released(lab: Lab, tmp_path: Path) -> None:
    err = refused(place_inventory(tmp_path / "inv.yaml", lab, place=f"{PREFIX}bare"))
    assert isinstance(err, ConfigError), err
    assert f"labgrid place {PREFIX}bare has no NetworkSerialPort (its resources: NetworkPowerPort)" in str(
        err
    )
    assert lab.holder(f"{PREFIX}bare") is None
    assert held_places(tmp_path / "state", PREFIX) == []


def test_doctor_says_whether_the_coordinator_answers(lab: Lab, tmp_path: Path) -> None:
    from bench.doctor import check_inventory

    items, _ = check_inventory(place_inventory(tmp_path / "inv.yaml", lab, place=f"{PREFIX}p1"))
    [item] = [i for i in items if "labgrid place" in i.name]
    assert item.ok and f"place {PREFIX}p1: free" in item.detail, item
    gone = place_inventory(tmp_path / "gone.yaml", lab, place=f"{PREFIX}p1")
    gone.write_text(gone.read_text().replace(lab.address, f"127.0.0.1:{free_port()}"))
    items, _ = check_inventory(gone)
    [item] = [i for i in items if "labgrid place" in i.name]
    assert not item.ok and "does not answer" in item.detail and "labgrid-coordinator running" in item.detail


def test_power_by_hand_acquires_the_place_for_the_command(
    lab: Lab, tmp_path: Path, pdu: HttpPduServer
) -> None:
    path = place_inventory(tmp_path / "inv.yaml", lab, place=f"{PREFIX}p1")
    for action, state in (("on", True), ("status", True), ("off", False)):
        res = henb_bench("--inventory", str(path), "power", "henb-01", action)
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"henb-01: power {'on' if state else 'off'}" in res.stdout and pdu.outlets[1] is state
        assert f"acquired labgrid place {PREFIX}p1" in res.stderr
    assert lab.holder(f"{PREFIX}p1") is None, "the place was not released after the command"


def test_run_refuses_place_tags_it_cannot_use_and_a_silent_coordinator(
    tmp_path: Path, inventory: Path
) -> None:
    out = tmp_path / "captures"
    res = henb_bench(
        "--inventory", str(inventory), "run", "--place-tag", "product_class=FAP-200", "--out", str(out)
    )
    assert res.returncode == 2 and "--place-tag: units.henb-01 names no labgrid place" in res.stderr, (
        res.stderr
    )
    res = henb_bench("--inventory", str(inventory), "run", "--place-tag", "product_class", "--out", str(out))
    assert res.returncode == 2 and "--place-tag 'product_class': expected KEY=VALUE" in res.stderr, res.stderr
    data = yaml.safe_load(inventory.read_text())
    unit = data["units"]["henb-01"]
    for key in ("power", "console", "wan"):
        del unit[key]
    unit["labgrid"] = {"coordinator": f"127.0.0.1:{free_port()}", "place": "p1"}
    inventory.write_text(yaml.safe_dump(data))
    res = henb_bench("--inventory", str(inventory), "check")
    assert res.returncode == 0 and "labgrid place p1 on 127.0.0.1:" in res.stdout, res.stdout + res.stderr
    res = henb_bench("--inventory", str(inventory), "run", "--out", str(out))
    assert res.returncode == 3 and "labgrid coordinator 127.0.0.1:" in res.stderr, res.stderr
    assert "does not answer" in res.stderr and not out.exists()


def test_a_place_taken_between_look_and_acquire_is_tried_again_and_its_record_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The coordinator decides: a free-looking place another client acquires first makes AcquirePlace fail."""
    import types

    import bench.place

    monkeypatch.setattr(bench.place, "POLL", 0.01)
    place = types.SimpleNamespace(
        name="p1", aliases=[], tags={}, acquired=None, changed=0.0, reservation=None
    )
    answers = [False, True]

    class Racing:
        def places(self) -> dict[str, Any]:
            return {"p1": place}

        def acquire(self, name: str) -> bool:
            return answers.pop(0)

    calls: list[tuple[str, bool]] = []
    cfg = LabgridPlace(coordinator="127.0.0.1:1", place="p1", wait=30)
    got = bench.place.acquire(Racing(), cfg, {}, "units.u.labgrid", lambda n, t: calls.append((n, t)), print)  # type: ignore[arg-type]
    assert got == "p1" and calls == [("p1", True), ("p1", False), ("p1", True)]
