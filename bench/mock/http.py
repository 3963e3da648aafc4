"""The mock unit's HTTP/1.1 client on asyncio streams (stdlib only; aiohttp cost the mock process 11 MiB): one
connection per session kept alive between requests (opened again when the server closed it), TLS with the URL's
name, Basic (sent with every request) or Digest (MD5, qop=auth; answered on a 401, then sent ahead with the
next nonce count), the cookies the server sets, Content-Length and chunked bodies.

Connecting fails with OSError (or TimeoutError); an answer that breaks off or is not HTTP raises HttpError."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import secrets
import ssl
from dataclasses import dataclass, field

from bench.httpauth import digest_response

MAX_HEADER = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
# A challenge's auth-params (RFC 9110 11.2); bench.httpauth.parse_auth_params would load urllib.request (3 MiB).
_PARAM = re.compile(r'\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)')


def challenge_params(text: str) -> dict[str, str]:
    """`realm="x", qop="auth", nonce=abc` as {"realm": "x", ...}, names in lower case."""
    return {m[1].lower(): re.sub(r"\\(.)", r"\1", m[2]) if m[2] is not None else m[3]
            for m in _PARAM.finditer(text)}  # fmt: skip


class HttpError(Exception):
    """The server's answer broke off or is not HTTP."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", " (Set-Cookie aside)
    body: bytes
    cookies: list[str] = field(default_factory=list)  # the Set-Cookie values


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class Client:
    """Requests to one server: `host` (an address) and `port`, with `tls` (a context, or None for plain HTTP)
    and `server_hostname` the name TLS checks; `timeout` bounds each request, connecting included."""

    def __init__(
        self,
        host: str,
        port: int,
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        timeout: float = 30.0,
        basic: tuple[str, str] | None = None,
        digest: tuple[str, str] | None = None,
    ) -> None:
        self.host, self.port, self.tls, self.server_hostname = host, port, tls, server_hostname
        self.timeout = timeout
        self.basic, self.digest = basic, digest
        self.challenge: dict[str, str] | None = None  # the last Digest challenge, answered ahead from then on
        self.nc = 0
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        """One request (answering a Digest challenge once); the response with its whole body."""
        async with asyncio.timeout(self.timeout):
            r = await self._send(method, path, body, headers or {})
            challenge = r.headers.get("www-authenticate", "")
            if r.status == 401 and self.digest and challenge.lower().startswith("digest "):
                fresh = challenge_params(challenge.split(" ", 1)[1])
                answered = self.challenge is not None and self.challenge.get("nonce") == fresh.get("nonce")
                self.challenge, self.nc = fresh, 0
                if not answered:  # once per request: a second 401 is the answer (a wrong password)
                    r = await self._send(method, path, body, headers or {})
            return r

    def _authorization(self, method: str, path: str) -> str | None:
        if self.basic:
            return basic_auth(*self.basic)
        if self.digest is None or self.challenge is None:
            return None
        c = self.challenge
        if c.get("algorithm", "MD5").upper() != "MD5":
            raise HttpError(f"Digest algorithm {c.get('algorithm')} not supported (MD5 only)")
        qop = "auth" if "auth" in [q.strip() for q in c.get("qop", "").split(",")] else ""
        self.nc += 1
        nc, cnonce = f"{self.nc:08x}", secrets.token_hex(8)
        user, password = self.digest
        nonce, realm = c.get("nonce", ""), c.get("realm", "")
        resp = digest_response(user, password, realm, method, path, nonce, nc, cnonce, qop)
        parts = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{path}"',
                 "algorithm=MD5", f'response="{resp}"']  # fmt: skip
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        if "opaque" in c:
            parts.append(f'opaque="{c["opaque"]}"')
        return "Digest " + ", ".join(parts)

    async def _send(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
        reused = self.writer is not None
        head = {"Host": f"{self.host}:{self.port}", "User-Agent": "henb-bench-mock", **headers}
        if body or method in ("POST", "PUT"):
            head["Content-Length"] = str(len(body))
        if (auth := self._authorization(method, path)) is not None:
            head["Authorization"] = auth
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = (
            f"{method} {path} HTTP/1.1\r\n".encode("ascii")
            + "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode()  # UTF-8, as aiohttp sends it
            + b"\r\n"
            + body
        )
        try:
            return await self._exchange(data, method)
        except (HttpError, ConnectionResetError, BrokenPipeError) as exc:
            # A kept-alive connection the server closed meanwhile: once more on a new one, as clients do.
            if not reused or (isinstance(exc, HttpError) and str(exc) != "closed before the status line"):
                raise
            return await self._exchange(data, method)

    async def _exchange(self, data: bytes, method: str) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls, server_hostname=self.server_hostname if self.tls else None
            )
        assert self.reader is not None
        try:
            self.writer.write(data)
            await self.writer.drain()
            r, keep = await self._response(self.reader, method)
        except BaseException:
            await self.close()
            raise
        if not keep:
            await self.close()
        for value in r.cookies:
            name, _, rest = value.partition("=")
            val, _, attrs = rest.partition(";")
            if "max-age=0" in attrs.replace(" ", "").lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = val.strip()
        return r

    async def _response(self, reader: asyncio.StreamReader, method: str) -> tuple[Response, bool]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise HttpError(
                "closed before the status line" if not exc.partial else "headers broke off"
            ) from None
        except asyncio.LimitOverrunError:
            raise HttpError("headers too long") from None
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise HttpError(f"not an HTTP status line: {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for line in lines[1:]:
            if not line:
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise HttpError(f"not an HTTP header: {line[:80]!r}")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookies.append(value)
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        status = int(code)
        conn = headers.get("connection", "").lower()
        keep = "close" not in conn and (version != "HTTP/1.0" or "keep-alive" in conn)
        if method == "HEAD" or status in (204, 304) or status < 200:
            return Response(status, headers, b"", cookies), keep
        try:
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = await self._chunked(reader)
            elif "content-length" in headers:
                n = int(headers["content-length"])
                if not 0 <= n <= MAX_BODY:
                    raise HttpError(f"Content-Length {n}")
                body = await reader.readexactly(n)
            else:
                body, keep = await reader.read(MAX_BODY), False
        except asyncio.IncompleteReadError as exc:
            raise HttpError(f"body broke off after {len(exc.partial)} bytes") from None
        except ValueError:
            raise HttpError("unreadable body length") from None
        return Response(status, headers, body, cookies), keep

    async def _chunked(self, reader: asyncio.StreamReader) -> bytes:
        out = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(out)
            out += await reader.readexactly(size)
            if len(out) > MAX_BODY:
                raise HttpError("chunked body too long")
            await reader.readexactly(2)
