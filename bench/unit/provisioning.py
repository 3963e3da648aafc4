"""The operator's provisioning of one unit, a part the lifecycle (bench/unit/lifecycle.py) calls for every
boot: what the Initial HeMS assigns (the Serving SeGW and HeMS), what the Serving HeMS sets at registration (S1,
IPsec usage, the cell's identity, the unlock, the connection-request credentials), queued on the HeMSs before
the unit is switched on; and what the unit refused of it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.cwmp import CwmpFault
from bench.errors import DeviceError
from bench.hems.server import RpcCall

if TYPE_CHECKING:
    from bench.unit.lifecycle import BenchUnit

Values = list[tuple[str, str, str]]


@dataclass
class Boot:
    """One boot: where it starts on the timeline and the RPCs the HeMSs were primed with for it."""

    mark: int
    initial_spv: RpcCall
    serving_spv: RpcCall
    serving_values: Values
    registration_values: Values
    cr_spv: RpcCall | None = None  # the connection-request credentials, set in the registration session


def assignment(unit: BenchUnit) -> Values:
    """What the Initial HeMS sets in discovery: the Serving SeGW and HeMS."""
    op, p = unit.run.inv.operator, unit.paths
    return [
        (p.serving_segw, op.serving_segw, "xsd:string"),
        (p.serving_hems, op.serving_hems_url, "xsd:string"),
    ]


def registration(unit: BenchUnit) -> Values:
    """What the Serving HeMS sets at registration: the S1 far end and IPsec usage, what S1 Setup carries (so
    the MME sees whether the configuration took effect), and the cell unlocked (TR-196 AdminState) last: a
    unit locked after a factory reset starts S1 only then."""
    op, p = unit.run.inv.operator, unit.paths
    values: Values = [(p.ipsec_usage, "true" if op.ipsec_usage else "false", "xsd:boolean")]
    if op.s1_far_end is not None:
        values.insert(0, (p.s1_far_end, str(op.s1_far_end), "xsd:string"))
    values += [
        (p.tac, str(op.tac), "xsd:unsignedInt"),
        (p.plmn, op.plmn, "xsd:string"),
        (p.cell_identity, str(op.cell_identity), "xsd:unsignedInt"),
    ]
    if unit.cfg.unlock_at_registration and p.admin_state is not None:
        values.append((p.admin_state, "true", "xsd:boolean"))
    return values


def prime(unit: BenchUnit, mark: int) -> Boot:
    """Both HeMSs primed for a boot starting at timeline `mark`: what they held for the unit is dropped, the
    Initial HeMS will assign the Serving SeGW/HeMS, the Serving HeMS configure the unit at registration."""
    hemss = unit.run.topology.hems
    for hems in hemss.values():
        hems.drop_queued(unit.device)
    serving, values = assignment(unit), registration(unit)
    initial = hemss["initial-hems"].queue_rpc(
        unit.device, "SetParameterValues", params=serving, parameter_key="discovery"
    )
    serving_call = hemss["serving-hems"].queue_rpc(
        unit.device, "SetParameterValues", params=values, parameter_key="registration"
    )
    boot = Boot(mark, initial, serving_call, serving, values)
    prime_cr(unit, boot)
    return boot


def prime_cr(unit: BenchUnit, boot: Boot) -> None:
    """With units.NAME.connection_request `set`, the Serving HeMS sets the credentials it will send its
    connection requests with, in the registration session (queued right after the registration values)."""
    if unit.cfg.connection_request.own is not None:
        return
    p, cr = unit.paths, unit.cr_policy
    values = [
        (p.connection_request_username, cr.username, "xsd:string"),
        (p.connection_request_password, cr.password, "xsd:string"),
    ]
    boot.cr_spv = unit.run.topology.hems["serving-hems"].queue_rpc(
        unit.device, "SetParameterValues", params=values, parameter_key="connection-request"
    )


def prime_again(unit: BenchUnit, boot: Boot) -> None:
    """What a configured unit took in one more session before it reset, primed again for the fresh boot: it
    is still in time (discovery and registration follow)."""
    hemss = unit.run.topology.hems
    if boot.initial_spv.done():
        boot.initial_spv = hemss["initial-hems"].queue_rpc(
            unit.device, "SetParameterValues", params=boot.serving_values, parameter_key="discovery"
        )
    if boot.serving_spv.done():
        boot.serving_spv = hemss["serving-hems"].queue_rpc(
            unit.device,
            "SetParameterValues",
            params=boot.registration_values,
            parameter_key="registration",
        )
    if boot.cr_spv is not None and boot.cr_spv.done():
        prime_cr(unit, boot)


def refusals(unit: BenchUnit) -> str:
    """The HeMSs' SetParameterValues of this boot the unit refused: a path the unit does not have names a
    wrong data-model profile (units.NAME.data_model)."""
    boot, said = unit.last_boot, []
    if boot is None:
        return ""
    for call, what in ((boot.initial_spv, "Serving SeGW/HeMS assignment"),
                       (boot.serving_spv, "registration")):  # fmt: skip
        with contextlib.suppress(DeviceError):
            result = call.result(0) if call.done() else None
            if isinstance(result, CwmpFault):
                faults = ", ".join(f"{f.name} {f.code} {f.string}" for f in result.param_faults)
                said.append(
                    f"the unit refused the {what}: fault {result.fault_code} ({faults or result.fault_string})"
                )
    if not said:
        return ""
    return f"{'; '.join(said)} (paths from units.{unit.name}.data_model, profile {unit.profile.name})"


def cr_note(unit: BenchUnit) -> str:
    """Where the credentials a refused connection request carried came from, for its failure message."""
    if unit.cfg.connection_request.own is not None:
        return f"the unit's own credentials (units.{unit.name}.connection_request.own)"
    spv = unit.last_boot.cr_spv if unit.last_boot is not None else None
    if spv is None or not spv.done():
        return ""
    try:
        result = spv.result(0)
    except DeviceError as exc:
        return f"credentials the HeMS set at registration; the unit's answer could not be read: {exc}"
    if isinstance(result, CwmpFault):
        return (
            f"credentials the unit refused at registration (fault {result.fault_code} {result.fault_string})"
        )
    return "credentials the HeMS set at registration, which the unit acknowledged"
