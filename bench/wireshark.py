"""tshark as the bench runs it on its captures (the evidence judges, the shareable bundle's TLS decryption):
where it is, and a Wireshark configuration folder of the bench's own, so what is read depends on the capture,
not on the user's profile or on the port a unit happened to open a connection from."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from bench.errors import InfraError


def tshark_path() -> str:
    found = shutil.which("tshark")
    if found is None:
        raise InfraError(
            "tshark is not installed (Debian package tshark, in bench/deb-packages.txt): make deps"
        )
    return found


# The protocols the bench's links carry that tshark finds by a registered TCP or UDP port at or above
# SQUAT_FLOOR; every other protocol registered there is switched off (profile_settings).
CARRIED = frozenset({"dhcp", "dns", "http", "tls", "ssh", "sctp", "udpencap", "isakmp", "esp", "ntp", "ftp",
                     "ftp-data", "s1ap", "xml", "json", "data-text-lines"})  # fmt: skip
SQUAT_FLOOR = 1024  # every system's ephemeral ports are above it


@functools.cache
def port_squatters() -> tuple[str, ...]:
    """The protocols tshark's dissector tables give a TCP or UDP port at or above SQUAT_FLOOR that the bench's
    links never carry (tshark -G decodes). tshark tries a connection's registered ports before its
    heuristics (the ones HTTP and TLS on the HeMS port are found by): a unit's ephemeral port that is one of
    them (44818: EtherNet/IP) had a whole CWMP session read as that protocol and lost from the evidence."""
    res = subprocess.run(
        [tshark_path(), "-G", "decodes"], capture_output=True, text=True, timeout=120, check=False
    )
    if res.returncode != 0:
        raise InfraError(f"tshark -G decodes failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    found = set()
    for line in res.stdout.splitlines():
        table, _, rest = line.partition("\t")
        port, _, proto = rest.partition("\t")
        if table in ("tcp.port", "udp.port") and port.isdigit() and int(port) >= SQUAT_FLOOR:
            found.add(proto.strip())
    return tuple(sorted(found - CARRIED - {""}))


def profile_settings(folder: Path) -> dict[str, str]:
    """Write tshark's settings for reading the bench's captures into `folder` (a Wireshark configuration
    folder of the caller's): the port squatters switched off. The environment to run tshark with, so the
    user's own Wireshark profile does not change what is read either."""
    (folder / "disabled_protos").write_text("".join(f"{p}\n" for p in port_squatters()))
    return {**os.environ, "WIRESHARK_CONFIG_DIR": str(folder)}
