"""Every check the TS 32.593 plans make, by clause and step, with the mock knobs that make it fail.

`henb-bench list` prints this table; the negative-twin tests prove each knob fails its check.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    clause: str
    step: str
    what: str
    knobs: tuple[str, ...]


CLAUSES = {
    "5.1.2.2": "Serving HeMS discovery via an Initial HeMS in the operator's private network (Figure 5-3)",
    "5.1.3": "Registration with the Serving HeMS (Figure 5-5)",
    "5.2.4": "IPsec tunnel IP address change notification (Figure 5-8)",
}

CHECKS = [
    Check("5.1.2.2", "1.1", "the Initial SeGW's FQDN asked of the public DNS before IKE", ("segw_by_ip",)),
    Check(
        "5.1.2.2",
        "1.3",
        "an IKE SA at the Initial SeGW with a certificate from the operator CA",
        ("untrusted_cert",),
    ),  # fmt: skip
    Check(
        "5.1.2.2",
        "1.4",
        "the Initial HeMS's FQDN asked of the private DNS (learned over IKE), not the public",
        ("hems_by_ip", "hems_dns_public"),
    ),  # fmt: skip
    Check(
        "5.1.2.2",
        "2.1",
        "an Inform from the inner address with the unit's DeviceId and 0 BOOTSTRAP",
        ("wrong_device_id", "no_bootstrap"),
    ),  # fmt: skip
    Check(
        "5.1.2.2",
        "3.2",
        "SetParameterValuesResponse to the Serving SeGW/HeMS assignment",
        ("reject_serving_assignment",),
    ),  # fmt: skip
    Check("5.1.2.2", "6.1", "the Serving SeGW's FQDN asked of the public DNS", ("serving_segw_by_ip",)),
    Check(
        "5.1.2.2",
        "6.3",
        "an IKE SA at the Serving SeGW after the session ends",
        ("ignore_serving_assignment",),
    ),
    Check("5.1.2.2", "security", "only DHCP, DNS and IKE/ESP on the unit's outer link", ("leak_cleartext",)),
    Check(
        "5.1.3",
        "1.1",
        "an Inform to the Serving HeMS with the unit's DeviceId",
        ("wrong_device_id_at_registration",),
    ),  # fmt: skip
    Check(
        "5.1.3",
        "2.2",
        "SetParameterValuesResponse to the S1 far-end address and IPsec indicator",
        ("reject_s1_config",),
    ),  # fmt: skip
    Check(
        "5.1.3",
        "S1",
        "S1 setup (SCTP INIT) toward the given address and port 36412, after the response",
        ("no_s1_init", "s1_wrong_port", "s1_before_registration"),
    ),  # fmt: skip
    Check(
        "5.2.4",
        "1",
        "an Inform with 4 VALUE CHANGE within the bound after the address change, not before",
        ("no_inform_after_address_change", "inform_before_change"),
    ),  # fmt: skip
    Check(
        "5.2.4",
        "1",
        "the Inform carries the new inner address and the unit's DeviceId, sent from it",
        ("old_address_in_inform", "wrong_device_id_on_address_change"),
    ),  # fmt: skip
]


def table() -> str:
    """The clauses and their checks, as `henb-bench list` prints them."""
    lines = []
    for clause, title in CLAUSES.items():
        lines.append(f"{clause}  {title}")
        for c in (c for c in CHECKS if c.clause == clause):
            lines.append(f"    step {c.step:8} {c.what}  [knobs: {', '.join(c.knobs)}]")
    return "\n".join(lines)
