"""The mock unit's check of an HTTPS HeMS's certificate (5.1.2.3's Initial HeMS on the internet, 5.1.3's Serving HeMS
with operator.serving_hems_tls) before its session: the operator CA, the dates and the exact name, each refusal a
TLS alert in the handshake; the knobs that make it accept what it must refuse (accept_any_cert, ...)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bench.knobs import Knob

# A refused HeMS certificate is tried again soon (the bench presents several in turn, 5.1.2.3 and 5.1.3).
TLS_RETRY_WAIT = 0.1

NO_CHECK_TIME = 0x200000  # OpenSSL's X509_V_FLAG_NO_CHECK_TIME (knob accept_expired_hems_cert)


class HemsTrust:
    """The unit's trust in a HeMS: `ca` the operator CA it holds (PEM file), its `knobs`, its console `log`."""

    def __init__(
        self, ca: str, knobs: set[str], log: Callable[[str], None], set_state: Callable[[str], None]
    ) -> None:
        self.ca, self.knobs, self.log, self.set_state = ca, knobs, log, set_state
        self.refused: set[str] = set()  # the HeMS certificates refused before (accept_cert_on_retry)

    async def trusted(self, url: str, ip: str, which: str) -> None:
        """Returns once the HeMS at `url` (`which`: Initial HeMS, Serving HeMS) shows a certificate the unit
        trusts; each refused one is tried again as a unit retries a failed session (TR-069 3.2.1.1), with the
        mock's short waits."""
        retries = 0
        while not await self.check(url, ip, which):
            self.set_state("stuck")
            retries += 1
            wait = min(TLS_RETRY_WAIT * 2**retries, 10.0)
            self.log(f"tls: trying the {which} again in {wait:g} s")
            await asyncio.sleep(wait)

    async def check(self, url: str, ip: str, which: str) -> bool:
        """An HTTPS HeMS's certificate (5.1.2.3's Initial HeMS, 5.1.3's Serving HeMS over HTTPS) must chain to the
        operator CA, be valid now and name exactly the FQDN or IP of its URL; a careful unit refuses anything
        else, with a TLS alert in the handshake."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or 443
        if Knob.ACCEPT_ANY_CERT in self.knobs:
            self.log(f"tls: not checking the certificate of {host} ({Knob.ACCEPT_ANY_CERT})")
            return True

        def handshake() -> str | None:
            ctx = ssl.create_default_context(cafile=self.ca)
            if Knob.ACCEPT_EXPIRED_HEMS_CERT in self.knobs:
                ctx.verify_flags |= NO_CHECK_TIME  # bug: the dates are not checked
            if Knob.ACCEPT_UNTRUSTED_HEMS_CA in self.knobs:
                # bug: whatever CA issued it; the name and dates still checked (the leaf as its own anchor).
                ctx.load_verify_locations(cadata=ssl.get_server_certificate((ip, port), timeout=5))
                ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            try:
                with (
                    socket.create_connection((ip, port), timeout=5) as raw,
                    ctx.wrap_socket(raw, server_hostname=host) as tls,
                ):
                    cert = tls.getpeercert() or {}
            except ssl.SSLCertVerificationError as exc:
                return exc.verify_message or str(exc)
            except OSError as exc:
                return f"TLS to {ip}: {exc}"
            raw_sans: Any = cert.get("subjectAltName", ())
            sans = [str(entry[1]) for entry in raw_sans]
            if host not in sans:
                return f"SubjectAltName {sans} does not hold exactly {host!r}"
            return None

        seen = ""
        if Knob.ACCEPT_CERT_ON_RETRY in self.knobs:
            # bug: a certificate refused before is taken when it comes again (looked at without a check first).
            seen = await asyncio.to_thread(ssl.get_server_certificate, (ip, port), timeout=5)
            if seen in self.refused:
                self.log(f"tls: bug: accepting the certificate of {host} refused before")
                return True
        problem = await asyncio.to_thread(handshake)
        if problem is not None:
            self.refused.add(seen)
            self.log(f"tls: refusing the {which} certificate for {host}: {problem}")
            return False
        self.log(f"tls: certificate of {host} verified against the operator CA")
        return True
