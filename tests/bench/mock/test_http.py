"""The mock's HTTP client (bench/mock/http.py) against a scripted server on loopback, and its connection-request
server (bench/mock/cr_server.py) against the HeMS's connection-request client: keep-alive, Digest and Basic,
cookies, chunked bodies, answers that break off, a refused connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bench.hems.connreq import connection_request
from bench.httpauth import Authenticator
from bench.knobs import Knob
from bench.mock import cr_server
from bench.mock.http import Client, HttpError, challenge_params
from tests.bench.services.test_fileserver import free_ports

Request = dict[str, Any]  # method, path, headers (lower-case names), body, conn (the connection's number)
Handler = Callable[[Request], Awaitable[bytes | None]]


def reply(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, length: bool = True
) -> bytes:
    fields = {**({"Content-Length": str(len(body))} if length else {}), **(headers or {})}
    head = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return f"HTTP/1.1 {status} X\r\n{head}\r\n".encode() + body


async def scripted(handler: Handler, test: Callable[[int], Awaitable[None]]) -> list[Request]:
    """Serve `handler` (the raw answer, or None to close the connection) while `test(port)` runs."""
    seen: list[Request] = []
    conns = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conns[0] += 1
        conn = conns[0]
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                line, *rest = head.split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in rest if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                req = {"method": line.split()[0], "path": line.split()[1], "headers": headers, "body": body}
                seen.append({**req, "conn": conn})
                out = await handler(req)
                if out is None:
                    break
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        await test(server.sockets[0].getsockname()[1])
    return seen


def test_requests_of_a_session_share_one_connection_and_its_cookies() -> None:
    async def handler(req: Request) -> bytes:
        if req["path"] == "/first":
            return reply(200, b"one", {"Set-Cookie": "session=abc; Path=/; HttpOnly"})
        return reply(200, b"two")

    async def test(port: int) -> None:
        async with Client("127.0.0.1", port) as http:
            r = await http.request("POST", "/first", b"<x/>", {"Host": "hems.example:7547"})
            assert (r.status, r.body, r.cookies) == (200, b"one", ["session=abc; Path=/; HttpOnly"])
            assert (await http.request("POST", "/second")).body == b"two"

    first, second = asyncio.run(scripted(handler, test))
    assert first["conn"] == second["conn"] == 1
    assert first["headers"]["host"] == "hems.example:7547" and first["body"] == b"<x/>"
    assert "cookie" not in first["headers"] and second["headers"]["cookie"] == "session=abc"
    assert second["headers"]["content-length"] == "0"  # the empty POST


def test_a_connection_the_server_closed_is_opened_again() -> None:
    async def handler(req: Request) -> bytes:
        return reply(200, b"ok", {"Connection": "close"} if req["path"] == "/close" else {})

    async def test(port: int) -> None:
        async with Client("127.0.0.1", port) as http:
            for path in ("/close", "/a", "/b"):
                assert (await http.request("GET", path)).body == b"ok"

    seen = asyncio.run(scripted(handler, test))
    assert [r["conn"] for r in seen] == [1, 2, 2]


def test_digest_is_answered_once_then_sent_ahead_and_a_wrong_password_ends_in_401() -> None:
    auth = Authenticator("digest", {"unit": "secret"}, realm="hems")

    async def handler(req: Request) -> bytes:
        result = auth.check(req["method"], req["path"], req["headers"].get("authorization"))
        if result.user is None:
            return reply(401, headers={"WWW-Authenticate": auth.challenge(result.stale)})
        return reply(200, b"in")

    async def test(port: int) -> None:
        async with Client("127.0.0.1", port, digest=("unit", "secret")) as http:
            assert (await http.request("POST", "/cwmp", b"a")).status == 200
            assert (await http.request("POST", "/cwmp")).status == 200
        async with Client("127.0.0.1", port, digest=("unit", "wrong")) as http:
            assert (await http.request("POST", "/cwmp")).status == 401

    seen = asyncio.run(scripted(handler, test))
    assert ["authorization" in r["headers"] for r in seen] == [False, True, True, False, True]
    assert "nc=00000002" in seen[2]["headers"]["authorization"]  # the same nonce, counted on


def test_basic_goes_with_every_request() -> None:
    async def handler(req: Request) -> bytes:
        return reply(200)

    async def test(port: int) -> None:
        async with Client("127.0.0.1", port, basic=("unit", "pw")) as http:
            await http.request("POST", "/")
            await http.request("POST", "/")

    seen = asyncio.run(scripted(handler, test))
    assert [r["headers"]["authorization"] for r in seen] == ["Basic dW5pdDpwdw=="] * 2


def test_chunked_and_unframed_bodies_are_read_whole() -> None:
    async def handler(req: Request) -> bytes:
        if req["path"] == "/chunked":
            return reply(
                200, b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", {"Transfer-Encoding": "chunked"}, False
            )
        return reply(200, b"till the end", {"Connection": "close"}, length=False)

    async def test(port: int) -> None:
        async with Client("127.0.0.1", port) as http:
            assert (await http.request("GET", "/chunked")).body == b"abcde"
            assert (await http.request("GET", "/unframed")).body == b"till the end"

    asyncio.run(scripted(handler, test))


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",  # the body breaks off
        b"SSH-2.0-OpenSSH\r\n\r\n",  # not HTTP
        b"HTTP/1.1 200 OK\r\nContent-Len",  # the headers break off
    ],
)
def test_an_answer_that_breaks_off_or_is_not_http_is_an_http_error(answer: bytes) -> None:
    async def raw() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        async with server, Client("127.0.0.1", server.sockets[0].getsockname()[1], timeout=5) as http:
            with pytest.raises(HttpError):
                await http.request("GET", "/")

    asyncio.run(raw())


def test_a_refused_connection_is_an_os_error() -> None:
    (port,) = free_ports(1)

    async def test() -> None:
        async with Client("127.0.0.1", port, timeout=5) as http:
            with pytest.raises(OSError):
                await http.request("GET", "/")

    asyncio.run(test())


def test_challenge_params_read_quoted_and_bare_values() -> None:
    got = challenge_params('realm="a, b", qop="auth", algorithm=MD5, nonce="n\\"1", stale=TRUE')
    assert got == {"realm": "a, b", "qop": "auth", "algorithm": "MD5", "nonce": 'n"1', "stale": "TRUE"}


class Model:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str:
        return self.values[name]


@pytest.mark.parametrize("knobs", [set(), {Knob.CR_RATE_LIMIT}])
def test_connection_request_server_answers_the_hems_client(knobs: set[str]) -> None:
    ms = "Device.ManagementServer."
    model = Model({ms + "ConnectionRequestUsername": "acs", ms + "ConnectionRequestPassword": "cr-secret"})
    notified: list[dict[str, str]] = []
    logged: list[str] = []
    (port,) = free_ports(1)

    async def test() -> list[Any]:
        server = await cr_server.serve(lambda: model, ms, knobs, logged.append, notified.append, port)  # type: ignore[arg-type, return-value]
        async with server:
            url = f"http://127.0.0.1:{port}/cr"
            return [
                await connection_request(url, "acs", "cr-secret", timeout=5),
                await connection_request(url, "acs", "wrong", timeout=5),
                await connection_request(url, "acs", "cr-secret", timeout=5),
                await connection_request(f"http://127.0.0.1:{port}/other", "acs", "cr-secret", timeout=5),
            ]

    ok, wrong, again, other = asyncio.run(test())
    assert (ok.status, ok.auth, wrong.status, other.status) == (200, "digest", 401, 404)
    if knobs:
        assert (again.status, again.retry_after) == (503, "3") and len(notified) == 1
        assert any("rate limit" in line for line in logged)
    else:
        assert again.status == 200 and notified == [{"6 CONNECTION REQUEST": ""}] * 2
    assert any("cr: refused from 127.0.0.1" in line for line in logged)


def test_digest_with_a_password_set_to_anything_unicode() -> None:
    auth = Authenticator("digest", {"unit": "pässwörd-€"}, realm="hems")

    async def handler(req: Request) -> bytes:
        result = auth.check(req["method"], req["path"], req["headers"].get("authorization"))
        return reply(200) if result.user else reply(401, headers={"WWW-Authenticate": auth.challenge()})

    async def test(port: int) -> None:
        async with Client("127.0.0.1", port, digest=("unit", "pässwörd-€")) as http:
            assert (await http.request("POST", "/cwmp")).status == 200

    asyncio.run(scripted(handler, test))
