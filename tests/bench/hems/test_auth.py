"""Tests for bench/httpauth.py in the HeMS: Basic and Digest with real HTTP clients, success and failure."""

from __future__ import annotations

import asyncio
import base64
import http.cookiejar
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest

from bench import cwmp
from bench.hems import Hems
from bench.httpauth import Authenticator, digest_response, parse_auth_params
from bench.timeline import Timeline
from tests.bench.hems.cpe import NS1, SERIAL, Cpe, serve

USERS = {"unit-a": "secret-a", "unit-b": 's3cr"t,b'}


def inform_body(serial: str = SERIAL) -> bytes:
    dev = cwmp.DeviceId("Acme", "00259E", "FAP-1", serial)
    return cwmp.inform(NS1, "1", dev, [("1 BOOT", "")], [], "2024-05-01T12:00:00Z")


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


def served(timeline: Timeline, scheme: str, **kw: float) -> tuple[Hems, int]:
    return serve(timeline, auth=Authenticator(scheme, USERS, **kw))  # type: ignore[arg-type]


@pytest.fixture
def digest(timeline: Timeline) -> Iterator[tuple[Hems, int]]:
    h, port = served(timeline, "digest")
    yield h, port
    h.stop()


@pytest.fixture
def basic(timeline: Timeline) -> Iterator[tuple[Hems, int]]:
    h, port = served(timeline, "basic")
    yield h, port
    h.stop()


def urllib_session(port: int, handler: urllib.request.BaseHandler) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        handler, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def post(opener: urllib.request.OpenerDirector, port: int, body: bytes) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/acs", data=body, method="POST")
    try:
        with opener.open(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.parametrize("user", sorted(USERS))
def test_digest_with_urllib_client_and_cookie_session(
    digest: tuple[Hems, int], timeline: Timeline, user: str
):
    h, port = digest
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, f"http://127.0.0.1:{port}/", user, USERS[user])  # type: ignore[arg-type]
    opener = urllib_session(port, urllib.request.HTTPDigestAuthHandler(mgr))
    call = h.queue_rpc(SERIAL, "Reboot", command_key="r1")
    status, data = post(opener, port, inform_body())
    assert status == 200 and cwmp.parse_envelope(data).method == "InformResponse"
    # The rest of the session rides on the cookie.
    status, data = post(opener, port, b"")
    env = cwmp.parse_envelope(data)
    assert env.method == "Reboot"
    assert post(opener, port, cwmp.response(NS1, env.id, "Reboot")) == (204, b"")
    assert call.result(1) == cwmp.Done("Reboot")
    kinds = [e.kind for e in timeline]
    assert kinds == ["auth-challenge", "inform", "rpc-sent", "rpc-response", "session-end"]
    assert timeline.find(lambda e: e.kind == "inform")[0].data["user"] == user


def test_digest_with_aiohttp_client(digest: tuple[Hems, int], timeline: Timeline):
    async def run() -> list[int]:
        mw = aiohttp.DigestAuthMiddleware("unit-a", USERS["unit-a"])
        async with aiohttp.ClientSession(middlewares=(mw,), cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.post(f"http://127.0.0.1:{digest[1]}/", data=inform_body()) as r:
                first = r.status
            async with s.post(f"http://127.0.0.1:{digest[1]}/", data=b"") as r:
                return [first, r.status]

    assert asyncio.run(run()) == [200, 204]


@pytest.mark.parametrize(
    ("user", "password", "reason"),
    [
        ("unit-a", "wrong", "wrong digest response for user 'unit-a'"),
        ("nobody", "x", "unknown user 'nobody'"),
    ],
)
def test_digest_failure(digest: tuple[Hems, int], timeline: Timeline, user: str, password: str, reason: str):
    h, port = digest
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, f"http://127.0.0.1:{port}/", user, password)  # type: ignore[arg-type]
    status, _ = post(urllib_session(port, urllib.request.HTTPDigestAuthHandler(mgr)), port, inform_body())
    assert status == 401
    failed = timeline.find(lambda e: e.kind == "auth-failed")
    assert failed and failed[0].data["reason"].startswith(reason)
    assert not timeline.find(lambda e: e.kind == "inform")


def test_no_authorization_gets_a_digest_challenge(digest: tuple[Hems, int], timeline: Timeline):
    cpe = Cpe(digest[1])
    status, _ = cpe.post(inform_body())
    assert status == 401
    cpe.conn.request("POST", "/", body=inform_body())
    r = cpe.conn.getresponse()
    r.read()
    challenge = r.getheader("WWW-Authenticate") or ""
    assert challenge.startswith("Digest ")
    p = parse_auth_params(challenge[7:])
    assert (p["realm"], p["qop"], p["algorithm"]) == ("henb-bench HeMS", "auth", "MD5") and p["nonce"]
    assert [e.kind for e in timeline] == ["auth-challenge", "auth-challenge"]


def digest_header(
    challenge: str, user: str, password: str, uri: str = "/cwmp", nonce: str | None = None
) -> str:
    p = parse_auth_params(challenge.split(" ", 1)[1])
    n = nonce or p["nonce"]
    resp = digest_response(user, password, p["realm"], "POST", uri, n, "00000001", "c0ffee", "auth")
    return (
        f'Digest username="{user}", realm="{p["realm"]}", nonce="{n}", uri="{uri}", qop=auth, nc=00000001, '
        f'cnonce="c0ffee", response="{resp}", opaque="{p["opaque"]}"'
    )


def test_forged_and_stale_nonces_are_refused(timeline: Timeline):
    h, port = served(timeline, "digest", nonce_lifetime=0.0)
    try:
        auth = h.auth
        assert auth is not None
        forged = base64.b64encode(b"1.0:" + b"0" * 32).decode()
        cpe = Cpe(port)
        cpe.auth = digest_header(auth.challenge(), "unit-a", USERS["unit-a"], nonce=forged)
        assert cpe.post(inform_body())[0] == 401
        cpe.auth = digest_header(auth.challenge(), "unit-a", USERS["unit-a"])
        time.sleep(0.05)
        cpe.conn.request("POST", "/cwmp", body=inform_body(), headers={"Authorization": cpe.auth})
        r = cpe.conn.getresponse()
        r.read()
        assert r.status == 401 and "stale=true" in (r.getheader("WWW-Authenticate") or "")
        reasons = [e.data["reason"] for e in timeline.find(lambda e: e.kind == "auth-failed")]
        assert reasons == ["nonce was not issued by this HeMS", "nonce is stale"]
    finally:
        h.stop()


def test_a_new_inform_on_an_authenticated_cookie_must_authenticate_again(digest: tuple[Hems, int]):
    h, port = digest
    auth = h.auth
    assert auth is not None
    cpe = Cpe(port)
    cpe.auth = digest_header(auth.challenge(), "unit-a", USERS["unit-a"])
    assert cpe.post(inform_body())[0] == 200
    cpe.auth = None
    assert cpe.empty() == (204, b"")  # within the session: the cookie is enough
    assert cpe.post(inform_body())[0] == 401  # a new session: the cookie is not


def test_basic_success_and_failure(basic: tuple[Hems, int], timeline: Timeline):
    h, port = basic
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, f"http://127.0.0.1:{port}/", "unit-b", USERS["unit-b"])  # type: ignore[arg-type]
    opener = urllib_session(port, urllib.request.HTTPBasicAuthHandler(mgr))
    assert post(opener, port, inform_body())[0] == 200
    assert post(opener, port, b"") == (204, b"")
    cpe = Cpe(port, serial="SN-X")
    cpe.auth = "Basic " + base64.b64encode(b"unit-b:nope").decode()
    assert cpe.post(inform_body("SN-X"))[0] == 401
    cpe.auth = "Digest username=unit-b"
    assert cpe.post(inform_body("SN-X"))[0] == 401
    reasons = [e.data["reason"] for e in timeline.find(lambda e: e.kind == "auth-failed")]
    assert reasons == ["wrong password for user 'unit-b'", "Digest Authorization, expected Basic"]
    assert timeline.find(lambda e: e.kind == "inform")[0].data["user"] == "unit-b"


def test_authenticator_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="expected basic or digest"):
        Authenticator("ntlm", USERS)  # type: ignore[arg-type]
