"""Per-device Inform hooks (bench/hems/hooks.py) on a HeMS serving several units over real HTTP on 127.0.0.1:
each unit's hook runs on its own Informs only, after the HeMS's own hook; one unit's hook neither replaces nor
clears another's; a hook that raises is a HeMS error event, and the session goes on."""

from __future__ import annotations

from bench import cwmp
from bench.hems import DeviceKey, Hems
from bench.hems.hooks import EVERY, InformHooks
from bench.timeline import Timeline
from tests.bench.hems.cpe import Cpe, serve


def key(serial: str) -> DeviceKey:
    return DeviceKey("00259E", "FAP-1", serial)


def test_each_units_hook_runs_on_its_own_informs_after_the_hems_own(timeline: Timeline) -> None:
    seen: list[tuple[str, str, list[str]]] = []

    def own(h: Hems, device: DeviceKey, events: list[str], params: dict[str, str]) -> None:
        seen.append(("hems", device.serial_number, events))

    def hook(name: str):  # type: ignore[no-untyped-def]
        def run(h: Hems, device: DeviceKey, events: list[str], params: dict[str, str]) -> None:
            seen.append((name, device.serial_number, events))

        return run

    h, port = serve(timeline, on_inform=own)
    try:
        a, b = hook("a"), hook("b")
        with h.inform_hooks.registered(key("SN-A"), a):
            with h.inform_hooks.registered(key("SN-B"), b):
                Cpe(port, "SN-A").inform(events=("2 PERIODIC",))
                Cpe(port, "SN-B").inform(events=("1 BOOT",))
            # B's block ended: A's hook stays (B's never replaced it, nor did its end clear it).
            Cpe(port, "SN-A").inform(events=("6 CONNECTION REQUEST",))
            Cpe(port, "SN-B").inform(events=("2 PERIODIC",))
        Cpe(port, "SN-A").inform(events=("2 PERIODIC",))
    finally:
        h.stop()
    assert seen == [
        ("hems", "SN-A", ["2 PERIODIC"]),
        ("a", "SN-A", ["2 PERIODIC"]),
        ("hems", "SN-B", ["1 BOOT"]),
        ("b", "SN-B", ["1 BOOT"]),
        ("hems", "SN-A", ["6 CONNECTION REQUEST"]),
        ("a", "SN-A", ["6 CONNECTION REQUEST"]),
        ("hems", "SN-B", ["2 PERIODIC"]),
        ("hems", "SN-A", ["2 PERIODIC"]),
    ]


def test_a_hook_that_raises_is_a_hems_error_and_the_inform_is_answered(timeline: Timeline) -> None:
    def broken(h: Hems, device: DeviceKey, events: list[str], params: dict[str, str]) -> None:
        raise RuntimeError("hook broke")

    h, port = serve(timeline)
    try:
        with h.inform_hooks.registered(key("SN-A"), broken):
            env = Cpe(port, "SN-A").inform()
    finally:
        h.stop()
    assert env.method == "InformResponse" and env.ns in cwmp.CWMP_NAMESPACES
    (error,) = [e for e in timeline if e.kind == "hems-error"]
    assert "hook broke" in error.data["reason"]


def test_two_registrations_of_one_device_both_run_and_leave_one_by_one() -> None:
    hooks = InformHooks()
    first, second = print, repr  # any two distinct callables stand for hooks here
    hooks.add(key("SN-A"), first)  # type: ignore[arg-type]
    hooks.add(key("SN-A"), second)  # type: ignore[arg-type]
    assert hooks.of(key("SN-A"), None) == [first, second]
    hooks.remove(key("SN-A"), first)  # type: ignore[arg-type]
    assert hooks.of(key("SN-A")) == [second]
    hooks.remove(key("SN-A"), second)  # type: ignore[arg-type]
    hooks.remove(key("SN-A"), second)  # type: ignore[arg-type]  # twice: nothing left, no error
    assert hooks.of(key("SN-A")) == [] and hooks.of(key("SN-B"), first) == [first]  # type: ignore[arg-type]


def test_a_units_hooks_run_on_what_the_bench_attributed_to_it_and_every_hooks_on_all() -> None:
    """A unit's hooks run on the Informs the run's attribution names it for, whatever DeviceId they carry (a
    configured unit's factory reset, bench/unit/reset.py `armed`); EVERY's on every Inform (a run of one)."""
    hooks = InformHooks()
    calls: list[str] = []

    def mark(name: str):  # type: ignore[no-untyped-def]
        def run(h: Hems, device: DeviceKey, events: list[str], params: dict[str, str]) -> None:
            calls.append(name)

        return run

    dev, by_unit, every = mark("device"), mark("unit"), mark("every")
    hooks.add(key("SN-A"), dev)
    with hooks.registered("henb-a", by_unit), hooks.registered(EVERY, every):
        assert hooks.of(key("SN-AX"), unit="henb-a") == [by_unit, every]  # a wrong DeviceId, attributed
        assert hooks.of(key("SN-A"), unit="henb-a") == [dev, by_unit, every]
        assert hooks.of(key("SN-B"), unit="henb-b") == [every]
        assert hooks.of(key("SN-C")) == [every]  # not attributed (a run of one)
    assert hooks.of(key("SN-AX"), unit="henb-a") == [] and hooks.of(key("SN-A")) == [dev]
