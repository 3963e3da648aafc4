"""File transfers of the mock unit (Download, Upload, PM files) over HTTP, HTTPS, FTP and SFTP, with the
TR-069 TransferComplete fault code for every way a transfer fails."""

from __future__ import annotations

import asyncio
import ftplib
import io
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from bench.mock.http import Client, HttpError, basic_auth

# TR-069 (Amendment 4 onward, the codes bench.cwmp knows) TransferComplete faults the mock reports.
TRANSFER_FAILURE = 9010
UPLOAD_FAILURE = 9011
SERVER_AUTH_FAILURE = 9012
UNSUPPORTED_PROTOCOL = 9013
CANNOT_CONTACT = 9015
CANNOT_ACCESS_FILE = 9016
INCOMPLETE = 9017
FILE_CORRUPTED = 9018

# curl's exit codes (libcurl's CURLcode): how an SFTP transfer failed.
CURL_LOGIN_DENIED = 67
CURL_NO_CONTACT = (6, 7, 28, 35)  # no such host, no connection, timed out, no SSH/TLS handshake
CURL_NO_FILE = (9, 78)  # access denied, no such remote file
CURL_BROKE_OFF = (18, 56)  # partial file, receive failure

Resolver = Callable[[str], Awaitable[str]]
TIMEOUT = 15.0


class TransferError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


def _tls(ca: Path | None, verify: bool = True) -> ssl.SSLContext:
    """What the unit trusts for HTTPS: the operator CA, the name in the URL; with `verify` False (knob
    accept_untrusted_file_server) any certificate at all."""
    ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx


async def _target(url: str, resolve: Resolver) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ftp", "sftp"):
        raise TransferError(UNSUPPORTED_PROTOCOL, f"unsupported protocol {scheme!r} in {url}")
    host = parts.hostname or ""
    try:
        ip = await resolve(host)
    except LookupError:
        raise TransferError(CANNOT_CONTACT, f"cannot resolve {host}") from None
    port = parts.port or {"http": 80, "https": 443, "ftp": 21, "sftp": 22}[scheme]
    return scheme, ip, port, unquote(parts.path or "/")


def _http_fault(status: int, upload: bool) -> TransferError:
    if status in (401, 403):
        return TransferError(SERVER_AUTH_FAILURE, f"HTTP {status}: file server authentication failure")
    if status == 404 and not upload:
        return TransferError(CANNOT_ACCESS_FILE, "HTTP 404: no such file")
    return TransferError(UPLOAD_FAILURE if upload else TRANSFER_FAILURE, f"HTTP {status}")


async def fetch(
    url: str, user: str, password: str, resolve: Resolver, ca: Path | None, verify: bool = True
) -> bytes:
    """Download `url`; TransferError with the TR-069 fault code on any failure. `verify` False: accept any
    HTTPS certificate (knob accept_untrusted_file_server)."""
    return await _transfer(url, user, password, resolve, ca, None, verify)


async def put(
    url: str, user: str, password: str, data: bytes, resolve: Resolver, ca: Path | None, verify: bool = True
) -> None:
    """Upload `data` to `url` (HTTP(S) PUT, FTP STOR, SFTP put); TransferError on failure."""
    await _transfer(url, user, password, resolve, ca, data, verify)


async def _transfer(
    url: str,
    user: str,
    password: str,
    resolve: Resolver,
    ca: Path | None,
    upload: bytes | None,
    verify: bool = True,
) -> bytes:
    """A download (`upload` None: the file's bytes) or an upload of `upload` (b"" back)."""
    scheme, ip, port, path = await _target(url, resolve)
    host = urlsplit(url).hostname or ""
    try:
        if scheme in ("http", "https"):
            return await _http(scheme, ip, port, url, user, password, _tls(ca, verify), upload)
        if scheme == "ftp" and upload is None:
            return await asyncio.to_thread(_ftp_get, ip, port, path, user, password)
        if scheme == "ftp":
            await asyncio.to_thread(_ftp_put, ip, port, path, user, password, upload or b"")
            return b""
        return await _sftp(ip, port, path, user, password, upload)
    except TransferError:
        raise
    except ssl.SSLError as exc:
        # The unit refuses the file server (an untrusted CA, an expired certificate, another name): TR-069's
        # "file transfer server authentication failure". asyncio raises an SSLCertVerificationError, or (when the
        # server's close comes with its flight) a plain SSLError with the same reason.
        if getattr(exc, "reason", None) != "CERTIFICATE_VERIFY_FAILED":
            raise TransferError(CANNOT_CONTACT, f"cannot contact {host}:{port}: {exc}") from None
        why = getattr(exc, "verify_message", None) or str(exc)
        raise TransferError(
            SERVER_AUTH_FAILURE, f"TLS: the certificate of {host}:{port} is refused: {why}"
        ) from None
    except (TimeoutError, OSError) as exc:
        raise TransferError(CANNOT_CONTACT, f"cannot contact {host}:{port}: {exc}") from None
    except HttpError as exc:
        if upload is not None:
            raise TransferError(UPLOAD_FAILURE, f"upload broke off: {exc}") from None
        raise TransferError(INCOMPLETE, f"transfer broke off: {exc}") from None


async def _http(
    scheme: str,
    ip: str,
    port: int,
    url: str,
    user: str,
    password: str,
    ctx: ssl.SSLContext,
    upload: bytes | None,
) -> bytes:
    """GET (or PUT `upload`) to the address DNS gave, with the URL's name as Host and as the TLS name."""
    headers = {"Host": urlsplit(url).netloc}
    if upload is not None:
        headers["Content-Type"] = "application/xml"
    if user:  # preemptive Basic
        headers["Authorization"] = basic_auth(user, password)
    tls, name = (ctx, urlsplit(url).hostname or "") if scheme == "https" else (None, None)
    async with Client(ip, port, tls, name, TIMEOUT) as http:
        method = "GET" if upload is None else "PUT"
        r = await http.request(method, urlsplit(url).path or "/", upload or b"", headers)
    if upload is not None:
        if r.status not in (200, 201, 204):
            raise _http_fault(r.status, upload=True)
        return b""
    if r.status != 200:
        raise _http_fault(r.status, upload=False)
    return r.body


def _ftp_login(ip: str, port: int, user: str, password: str) -> ftplib.FTP:
    ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect(ip, port)
    try:
        ftp.login(user or "anonymous", password)
    except ftplib.error_perm as exc:
        ftp.close()
        raise TransferError(SERVER_AUTH_FAILURE, f"FTP login refused: {exc}") from None
    return ftp


def _ftp_get(ip: str, port: int, path: str, user: str, password: str) -> bytes:
    ftp = _ftp_login(ip, port, user, password)
    buf = io.BytesIO()
    try:
        ftp.retrbinary(f"RETR {path}", buf.write)
    except ftplib.error_perm as exc:
        raise TransferError(CANNOT_ACCESS_FILE, f"FTP: {exc}") from None
    finally:
        ftp.close()
    return buf.getvalue()


def _ftp_put(ip: str, port: int, path: str, user: str, password: str, data: bytes) -> None:
    ftp = _ftp_login(ip, port, user, password)
    try:
        ftp.storbinary(f"STOR {path}", io.BytesIO(data))
    except ftplib.error_perm as exc:
        raise TransferError(UPLOAD_FAILURE, f"FTP: {exc}") from None
    finally:
        ftp.close()


async def _sftp(ip: str, port: int, path: str, user: str, password: str, data: bytes | None) -> bytes:
    """SFTP with curl (libcurl over libssh2, as many units do) in a process of its own: asyncssh would cost the
    mock process 17 MiB for good. Credentials go to curl on stdin (not in its argv); the host key is not checked
    (the unit knows no host keys)."""
    quoted = "".join("\\" + c if c in '"\\' else c for c in f"{user}:{password}")
    argv = ["curl", "--silent", "--show-error", "--insecure", "--config", "-", "--max-time", str(TIMEOUT)]
    with tempfile.TemporaryDirectory(prefix="sftp-") as tmp:
        local = Path(tmp) / "file"
        if data is not None:
            local.write_bytes(data)
        argv += ["--upload-file" if data is not None else "--output", str(local)]
        argv.append(f"sftp://{ip}:{port}{quote(path)}")
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise TransferError(UNSUPPORTED_PROTOCOL, f"SFTP: no curl to run ({exc})") from None
        _, err = await proc.communicate(f'user = "{quoted}"\n'.encode())
        if proc.returncode == 0:
            return local.read_bytes() if data is None else b""
    said = f"SFTP: {err.decode(errors='replace').strip()} (curl exit {proc.returncode})"
    if proc.returncode == CURL_LOGIN_DENIED:
        raise TransferError(SERVER_AUTH_FAILURE, "SFTP: authentication failed")
    if proc.returncode in CURL_NO_CONTACT:
        raise TransferError(CANNOT_CONTACT, said)
    if data is not None:
        raise TransferError(UPLOAD_FAILURE, said)
    if proc.returncode in CURL_BROKE_OFF:
        raise TransferError(INCOMPLETE, said)
    raise TransferError(CANNOT_ACCESS_FILE if proc.returncode in CURL_NO_FILE else TRANSFER_FAILURE, said)
