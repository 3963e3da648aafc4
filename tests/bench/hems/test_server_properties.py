"""Property tests of the HeMS request handler (bench/hems/server.py) through a real HeMS on 127.0.0.1: any body
and any headers get an answer; a bad CWMP message is a 400 recorded as bad-message on the timeline, never the
HeMS's own error; and the HeMS still serves the next, valid session."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import cwmp
from bench.hems import Hems
from bench.httpauth import Authenticator, digest_response, parse_auth_params
from bench.timeline import Timeline
from tests import hostile
from tests.bench.hems.cpe import NS1, Cpe, serve

BOUND = 60.0
USER, PASSWORD = "unit", "secret"
# The HeMS's answers: a session's 200/204, a refusal (400, 401 challenge, 405 not POST), a CWMP fault in 500;
# and aiohttp's own to what is not HTTP it serves (417 an unknown Expect, 431 headers too large).
ANSWERS = {200, 204, 400, 401, 405, 500, 417, 431}


@pytest.fixture(scope="module")
def open_hems() -> Iterator[tuple[Hems, int, Timeline]]:
    timeline = Timeline()
    hems, port = serve(timeline)
    yield hems, port, timeline
    hems.stop()


@pytest.fixture(scope="module")
def digest_hems() -> Iterator[tuple[Hems, int, Timeline]]:
    timeline = Timeline()
    hems, port = serve(timeline, auth=Authenticator("digest", {USER: PASSWORD}))
    yield hems, port, timeline
    hems.stop()


def _send(port: int, raw: bytes, half_close: bool = False) -> tuple[int, bytes] | None:
    """The answer to `raw` on a fresh connection, or None when the HeMS closed it without one."""
    with hostile.connect(port, BOUND / 2) as sock:
        try:
            status, data, _ = hostile.exchange(sock, raw, half_close=half_close)
        except (ConnectionError, hostile.http.client.RemoteDisconnected):
            return None
    return status, data


def _still_serves(port: int, timeline: Timeline, serial: str = "SN-NEXT") -> None:
    """A whole valid session from another unit: Inform, empty POST, 204."""
    mark = timeline.mark()
    cpe = Cpe(port, serial=serial, ns=NS1)
    cpe.inform()
    assert cpe.empty() == (204, b"")
    assert timeline.first(lambda e: e.kind == "session-end" and e.data["serial"] == serial, since=mark)


def _no_hems_error(timeline: Timeline, since: int) -> None:
    errors = timeline.find(lambda e: e.kind == "hems-error", since=since)
    assert not errors, [e.data["reason"] for e in errors]


@hostile.FUZZ
@given(st.sampled_from(hostile.SEED_NAMES), st.randoms(use_true_random=False), st.booleans())
def test_any_body_is_answered_and_a_bad_one_recorded(
    open_hems: tuple[Hems, int, Timeline], name: str, rnd: random.Random, in_session: bool
) -> None:
    _, port, timeline = open_hems
    body = hostile.mutate(hostile.SEEDS[name], rnd)
    mark = timeline.mark()
    with hostile.watchdog(BOUND):
        cpe = Cpe(port, serial="SN-FUZZ", ns=NS1)
        if in_session:
            cpe.inform()
        status, data = cpe.post(body, content_type="text/xml")
        assert status in ANSWERS, (status, data)
        if status == 400:
            bad = timeline.first(lambda e: e.kind == "bad-message", since=mark)
            assert bad is not None and bad.data["reason"] and bad.data["size"] == len(body)
            assert data.startswith(b"bad CWMP message: ")
        if status == 500:
            assert cwmp.parse_envelope(data).method == "Fault", data  # a CWMP fault, not the HeMS failing
        _no_hems_error(timeline, mark)
        _still_serves(port, timeline)


@hostile.FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_are_answered(open_hems: tuple[Hems, int, Timeline], body: bytes) -> None:
    _, port, timeline = open_hems
    mark = timeline.mark()
    with hostile.watchdog(BOUND):
        answer = _send(port, hostile.http_request(body, [("Content-Length", str(len(body)))]))
        assert answer is not None and answer[0] in ANSWERS, answer
        _no_hems_error(timeline, mark)
        _still_serves(port, timeline)


@hostile.FUZZ
@given(st.randoms(use_true_random=False), st.sampled_from(["valid-inform", "mutated"]))
def test_any_headers_are_answered_by_a_digest_hems(
    digest_hems: tuple[Hems, int, Timeline], rnd: random.Random, body_kind: str
) -> None:
    """Random Content-Type, Content-Encoding, Authorization (mutated Digest fields), Cookie, SOAPAction."""
    hems, port, timeline = digest_hems
    body = hostile.SEEDS["inform-1-1"] if body_kind == "valid-inform" else hostile.message(rnd)
    mark = timeline.mark()
    with hostile.watchdog(BOUND):
        nonce = _nonce(port)
        auth = hostile.digest_header(rnd, hems.auth.realm, nonce, USER, PASSWORD, "/cwmp")  # type: ignore[union-attr]
        head = [*hostile.headers(rnd, body, authorization=auth), ("Content-Length", str(len(body)))]
        answer = _send(port, hostile.http_request(body, head))
        if not any("\r" in v or "\n" in v for _, v in head):  # a header broken in two is aiohttp's to refuse
            assert answer is not None and answer[0] in ANSWERS, answer
        _no_hems_error(timeline, mark)


@hostile.FUZZ
@given(st.randoms(use_true_random=False), st.sampled_from(["chunked-cut", "length-too-long", "deflate"]))
def test_a_body_that_cannot_be_read_is_the_units_fault(
    open_hems: tuple[Hems, int, Timeline], rnd: random.Random, framing: str
) -> None:
    # Regression: a body cut short or a Content-Encoding that does not decode was recorded as hems-error
    # (the bench's own bug) with HTTP 500.
    _, port, timeline = open_hems
    body = hostile.SEEDS[rnd.choice(hostile.SEED_NAMES)]
    if framing == "chunked-cut":
        head = [("Transfer-Encoding", "chunked")]
        payload = b"%x\r\n" % len(body) + body[: rnd.randrange(len(body))]
    elif framing == "length-too-long":
        head = [("Content-Length", str(len(body) + rnd.randrange(1, 10_000)))]
        payload = body
    else:
        head = [("Content-Encoding", "deflate"), ("Content-Length", str(len(body)))]
        payload = body
    mark = timeline.mark()
    with hostile.watchdog(BOUND):
        answer = _send(port, hostile.http_request(payload, head), half_close=framing != "deflate")
        if framing == "deflate":
            assert answer is not None and answer[0] == 400 and b"could not be read" in answer[1], answer
        bad = timeline.wait_for(lambda e: e.kind == "bad-message", 10, "the bad-message event", since=mark)
        assert "the body could not be read" in bad.data["reason"]
        _no_hems_error(timeline, mark)
        _still_serves(port, timeline)


def _nonce(port: int) -> str:
    body = hostile.SEEDS["inform-1-1"]
    with hostile.connect(port, BOUND / 2) as sock:
        status, _, resp = hostile.exchange(
            sock, hostile.http_request(body, [("Content-Length", str(len(body)))])
        )
    assert status == 401
    return parse_auth_params(resp.getheader("WWW-Authenticate", "").partition(" ")[2])["nonce"]


def _digest(port: int, realm: str, cnonce: str, response: str | None = None) -> str:
    nonce = _nonce(port)
    value = response or digest_response(USER, PASSWORD, realm, "POST", "/cwmp", nonce, "1", cnonce, "auth")
    return (
        f'Digest username="{USER}", realm="{realm}", nonce="{nonce}", uri="/cwmp", qop="auth", nc="1", '
        f'cnonce="{cnonce}", response="{value}"'
    )


def test_a_digest_response_beyond_ascii_is_refused_not_an_error(
    digest_hems: tuple[Hems, int, Timeline],
) -> None:
    # Regression: hmac.compare_digest raised TypeError on a non-ASCII response: HTTP 500 and hems-error.
    hems, port, timeline = digest_hems
    mark = timeline.mark()
    body = hostile.SEEDS["inform-1-1"]
    head = [
        ("Content-Length", str(len(body))),
        ("Authorization", _digest(port, hems.auth.realm, "c", "\u00e9")),
    ]  # type: ignore[union-attr]
    answer = _send(port, hostile.http_request(body, head))
    assert answer is not None and answer[0] == 401
    failed = timeline.first(lambda e: e.kind == "auth-failed", since=mark)
    assert failed is not None and "wrong digest response" in failed.data["reason"]
    _no_hems_error(timeline, mark)


def test_a_digest_over_bytes_that_are_not_utf8_is_checked_as_sent(
    digest_hems: tuple[Hems, int, Timeline],
) -> None:
    # Regression: a cnonce with a byte that is not UTF-8 raised UnicodeEncodeError while hashing (HTTP 500).
    hems, port, timeline = digest_hems
    mark = timeline.mark()
    body = hostile.SEEDS["inform-1-1"]
    auth = _digest(port, hems.auth.realm, "\udcff")  # travels as the byte 0xff
    answer = _send(
        port, hostile.http_request(body, [("Content-Length", str(len(body))), ("Authorization", auth)])
    )
    assert answer is not None and answer[0] == 200, answer
    _no_hems_error(timeline, mark)


def test_the_watchdog_bounds_a_hung_exchange() -> None:
    """The bound is real: an exchange with a server that never answers ends with a timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        with hostile.connect(server.getsockname()[1], 0.2) as sock, pytest.raises(TimeoutError):
            hostile.exchange(sock, hostile.http_request(b"", [("Content-Length", "0")]))
    finally:
        server.close()
