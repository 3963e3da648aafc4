"""IKEv2 as the operator configures it: the proposal lists both SeGWs accept, and how a unit's expected
IKE identity (exact, or a glob pattern such as a certificate subject) matches what charon reports."""

from __future__ import annotations

from fnmatch import fnmatchcase

# TS 33.210 / TS 33.310 profiles: AES-CBC with SHA-1 or SHA-256 integrity, AES-GCM, MODP-2048 and ECP-256.
IKE_PROPOSALS = [
    "aes128-aes256-sha256-sha1-ecp256-modp2048",
    "aes128gcm16-aes256gcm16-prfsha256-prfsha1-ecp256-modp2048",
    "aes256-sha384-ecp384",
]
ESP_PROPOSALS = ["aes128gcm16-aes256gcm16", "aes128-aes256-sha256-sha1"]


def ike_id_matches(expected: str, remote_id: str | None) -> bool:
    """True when charon's remote identity is `expected` exactly or matches it as a glob (`*`, `?`, `[...]`)."""
    return remote_id is not None and (remote_id == expected or fnmatchcase(remote_id, expected))
