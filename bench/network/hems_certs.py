"""The HeMSs' TLS certificates: each HTTPS HeMS's own (from the operator PKI, checked against the exact name the
unit is given), and the bad ones the bench shows one unit for it to refuse (5.1.2.3 at the Initial HeMS on the
internet, 5.1.3 at the Serving HeMS over HTTPS): from a CA no unit trusts, expired, for another name. The HeMS
chooses per connection, by the client's address (bench.hems.tls.PeerCertificates); every session's keys go to
that HeMS's key log (`<hems>-tls-keys.log`, NSS format)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from bench.errors import InfraError
from bench.events import BenchKind, Source
from bench.hems.tls import PeerCertificates, server_context
from bench.pki import CertFiles, CertificateAuthority, describe_cert, expired_cert
from bench.timeline import Timeline

TITLES = {"initial-hems": "Initial HeMS", "serving-hems": "Serving HeMS"}
# How the inventory turns each HeMS's HTTPS on: a failure of present() names it.
SETTING = {
    "initial-hems": "some unit's initial_hems_access is public",
    "serving-hems": "operator.serving_hems_tls is true",
}


class HemsCertificates:
    """`serve(hems, ...)` makes a HeMS's HTTPS certificate choice; `bad(hems, kind)` a certificate a careful unit
    refuses, made once per run; `present(hems, unit, kind, owns)` shows it to one unit (None: the HeMS's own)."""

    def __init__(
        self,
        workdir: Path,
        timeline: Timeline,
        names: dict[str, str],
        ca: CertificateAuthority | None,
        rogue_ca: CertificateAuthority | None,
    ) -> None:
        self.workdir, self.timeline, self.names = workdir, timeline, names  # names: hems -> its FQDN or IP
        self.ca, self.rogue_ca = ca, rogue_ca
        self.own: dict[str, CertFiles] = {}
        self.peers: dict[str, PeerCertificates] = {}
        self._lock = threading.Lock()
        self._bad: dict[tuple[str, str], tuple[CertFiles, str, ssl.SSLContext]] = {}

    def keylog(self, hems: str) -> Path:
        """The HeMS's TLS key log (NSS format), for Wireshark and `henb-bench judge`."""
        return self.workdir / f"{hems}-tls-keys.log"

    def serve(self, hems: str, cert: CertFiles, identity: str | None) -> PeerCertificates:
        """HTTPS for `hems` with `cert` (checked to name `identity` exactly, unless None), every unit seeing it
        until one is shown another."""
        ctx = server_context(cert.cert, cert.key, identity=identity, keylog=self.keylog(hems))
        self.own[hems] = cert
        self.peers[hems] = PeerCertificates(ctx)
        return self.peers[hems]

    def bad(self, hems: str, kind: str) -> tuple[CertFiles, str]:
        """A certificate for `hems` that a careful unit refuses, and how a failure describes it: `untrusted-ca`
        (the right name, from a CA no unit trusts), `expired` (the right name, from the operator CA, validity
        ended yesterday), `wrong-name` (from the operator CA, for 'wrong-' + the FQDN)."""
        files, what, _ = self._made(hems, kind)
        return files, what

    def _made(self, hems: str, kind: str) -> tuple[CertFiles, str, ssl.SSLContext]:
        if self.rogue_ca is None or (self.ca is None and kind != "untrusted-ca"):
            raise InfraError(
                f"the {TITLES[hems]}'s {kind} certificate is issued by the operator CA the unit trusts, and there "
                "is no operator.pki.ca_key to issue it (docs/defences-hems.md)"
            )
        with self._lock:
            if (hems, kind) not in self._bad:
                name = self.names[hems]
                if kind == "untrusted-ca":
                    files = self.rogue_ca.issue(name, file=f"untrusted-{hems}")
                    what = "a certificate from an untrusted CA"
                elif kind == "expired" and self.ca is not None:
                    files, what = expired_cert(self.ca, name), "an expired certificate"
                elif kind == "wrong-name" and self.ca is not None:
                    files = self.ca.issue(f"wrong-{name}")
                    what = "a certificate for another name"
                else:
                    raise ValueError(f"no bad HeMS certificate {kind!r}")
                ctx = server_context(files.cert, files.key, keylog=self.keylog(hems))
                self._bad = {**self._bad, (hems, kind): (files, f"{what} ({describe_cert(files.cert)})", ctx)}
            return self._bad[(hems, kind)]

    def present(self, hems: str, unit: str, kind: str | None, owns: Callable[[str], bool]) -> str:
        """From now on `hems` presents to unit `unit` the bad certificate `kind`, or its own again (None);
        returns how a failure describes what it presents. `owns(address)` says whether a connecting peer's
        address is this unit's (its WAN or inner address), so each unit meets its own sequence whatever the
        other units are shown. The kind goes into each `tls-handshake-failed` event, so a refusal is judged by
        the certificate that handshake was shown."""
        peers = self.peers.get(hems)
        if peers is None:
            raise InfraError(f"the {TITLES[hems]} presents certificates only when {SETTING[hems]}")
        # Said after a bad certificate is in place and before the own one is back: a handshake the evidence
        # shows between the two is never judged by a certificate it may not have been shown
        # (bench/evidence/judge_hems_certs.py; the live check asks each handshake's event instead).
        if kind is None:
            what = f"its own certificate ({describe_cert(self.own[hems].cert)})"
            self.timeline.add(
                Source.BENCH, BenchKind.HEMS_CERT, hems=hems, cert="right", name=what, unit=unit
            )
            peers.withdraw(unit)
            return what
        _, what, ctx = self._made(hems, kind)
        peers.show(unit, owns, ctx, kind)
        self.timeline.add(Source.BENCH, BenchKind.HEMS_CERT, hems=hems, cert=kind, name=what, unit=unit)
        return what
