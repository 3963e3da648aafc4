"""TLS for the HeMS: a server context from the operator PKI's PEM files, a check that the certificate names
exactly the configured FQDN or IP, a key log (NSS SSLKEYLOGFILE format) so Wireshark can decrypt CWMP, and an
accept loop that sees each handshake a client aborts (a unit refusing the HeMS's certificate, 5.1.2.3), and the
choice of certificate per peer (PeerCertificates: a unit shown a bad one while the others see the right one).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from bench.errors import ConfigError


def _describe(name: x509.GeneralName) -> str:
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    return f"{type(name).__name__}:{name.value}"


def _expected(identity: str) -> str:
    try:
        return f"IP:{ipaddress.ip_address(identity)}"
    except ValueError:
        return f"DNS:{identity}"


def identity_mismatches(cert_pem: Path, identity: str) -> list[str]:
    """What in the certificate does not name exactly `identity` (an FQDN or IP); empty when all matches.

    The subject CN must be `identity`, and the SubjectAltName must hold it, in the right form (an IP as an
    iPAddress entry, an FQDN as a dNSName entry), and nothing else.
    """
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    problems = []
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if cns != [identity]:
        problems.append(f"subject CN is {cns or 'absent'}, expected [{identity!r}]")
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        problems.append(f"no SubjectAltName extension, expected exactly [{_expected(identity)}]")
        return problems
    entries = [_describe(n) for n in san]
    if entries != [_expected(identity)]:
        problems.append(f"SubjectAltName is {entries}, expected exactly [{_expected(identity)}]")
    return problems


def server_context(
    cert: Path, key: Path, identity: str | None = None, keylog: Path | None = None
) -> ssl.SSLContext:
    """A TLS server context; with `identity`, refuse a certificate that does not name it exactly.

    With `keylog`, every session's secrets are appended to that file in the format Wireshark reads
    (Preferences > Protocols > TLS > (Pre)-Master-Secret log filename).
    """
    if identity is not None:
        problems = identity_mismatches(cert, identity)
        if problems:
            raise ConfigError(f"HeMS certificate {cert} does not name {identity!r}: " + "; ".join(problems))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"HeMS certificate {cert} / key {key}: {exc}") from None
    if keylog is not None:
        keylog.parent.mkdir(parents=True, exist_ok=True)
        ctx.keylog_filename = str(keylog)
    return ctx


# The TLS context a peer's handshake gets, and the name of the certificate in it ('' = the HeMS's own).
CertChoice = Callable[[str], tuple[ssl.SSLContext, str]]


class PeerCertificates:
    """Which certificate the HeMS shows each peer, chosen by the client's address when it connects (not by SNI:
    a unit given an IP sends none): its own, or one the bench shows a unit (`show`), the other units still
    seeing the HeMS's own. Callable as a CertChoice; thread-safe (the bench shows, the HeMS's loop chooses)."""

    def __init__(self, own: ssl.SSLContext) -> None:
        self.own = own
        self._shown: dict[str, tuple[Callable[[str], bool], ssl.SSLContext, str]] = {}
        self._lock = threading.Lock()

    def show(self, key: str, owns: Callable[[str], bool], ctx: ssl.SSLContext, name: str) -> None:
        """From now on a peer `owns(address)` says is `key`'s (a unit) is shown `ctx`, named `name`."""
        with self._lock:
            self._shown = {**self._shown, key: (owns, ctx, name)}

    def withdraw(self, key: str) -> None:
        """`key`'s peers see the HeMS's own certificate again."""
        with self._lock:
            self._shown = {k: v for k, v in self._shown.items() if k != key}

    def __call__(self, peer: str) -> tuple[ssl.SSLContext, str]:
        with self._lock:
            shown = list(self._shown.values())
        for owns, ctx, name in shown:  # nothing to look up while no unit is shown another certificate
            if owns(peer):
                return ctx, name
        return self.own, ""


# How long a client may take over its handshake before the HeMS gives up on the connection.
HANDSHAKE_TIMEOUT = 30.0


def handshake_failure(exc: BaseException) -> tuple[str, str | None]:
    """Why a server-side handshake failed, in words, and the TLS alert the client sent (None when it sent none:
    it closed the connection, or took too long)."""
    if isinstance(exc, ssl.SSLError):
        reason = str(exc.reason or exc)
        for prefix in ("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_"):
            if reason.startswith(prefix):
                alert = reason.removeprefix(prefix).lower().replace("_", " ")
                return f"the client sent TLS alert {alert!r}", alert
        return f"TLS error {reason}", None
    if isinstance(exc, ConnectionAbortedError | TimeoutError):
        return f"no completed handshake within {HANDSHAKE_TIMEOUT:g} s", None
    return f"the client closed the connection during the handshake ({type(exc).__name__})", None


async def serve_tls(
    sock: socket.socket,
    ctx: ssl.SSLContext | CertChoice,
    protocol: Callable[[], asyncio.BaseProtocol],
    failed: Callable[[str, str, str | None, str], None],
) -> None:
    """Accept on a listening socket and do each connection's handshake here (connect_accepted_socket), so a
    handshake that fails is known with its peer: `failed(peer, reason, alert, cert)`, `cert` the name of the
    certificate it was shown ('' = the HeMS's own); a completed one goes to a new `protocol()`. (With a server's
    own ssl=, asyncio and uvloop drop a failed handshake silently.) `ctx` is one context for every peer, or
    chooses one per peer (PeerCertificates). Runs until cancelled."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    pending: set[asyncio.Task[None]] = set()

    choose: CertChoice = (lambda _peer: (ctx, "")) if isinstance(ctx, ssl.SSLContext) else ctx

    async def one(conn: socket.socket, peer: str) -> None:
        try:
            shown, name = choose(peer)
        except Exception as exc:  # noqa: BLE001  # a broken choice closes this connection, not the listener
            conn.close()
            failed(peer, f"the HeMS could not choose a certificate for it ({exc!r})", None, "")
            return
        try:
            await loop.connect_accepted_socket(
                protocol, conn, ssl=shown, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
            )
        except OSError as exc:  # ssl.SSLError, ConnectionError and TimeoutError are OSErrors
            conn.close()
            failed(peer, *handshake_failure(exc), name)

    try:
        while True:
            conn, addr = await loop.sock_accept(sock)
            task = loop.create_task(one(conn, str(addr[0])))
            pending.add(task)
            task.add_done_callback(pending.discard)
    finally:
        for task in list(pending):
            task.cancel()
        sock.close()
