"""The HeMS's lean HTTP path (bench/hems/lean.py): which requests it reads itself, which it hands to aiohttp,
and a real HeMS serving a connection that changes hands mid-way, pipelined requests and a body cut short."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from bench import cwmp
from bench.hems.lean import HAND_OVER, MAX_HEAD, LeanRequest, response, take_request
from bench.hems.server import Hems
from bench.hems.tls import server_context
from bench.pki import CertificateAuthority
from bench.timeline import Timeline
from tests import hostile
from tests.bench.hems.cpe import NS1, serve

INFORM = cwmp.inform(
    NS1,
    "1",
    cwmp.DeviceId("Acme", "00259E", "FAP-1", "SN-LEAN"),
    [("1 BOOT", "")],
    [],
    "2024-05-01T12:00:00Z",
)

DOTS = ".."  # a dot segment, spelt apart from its slash for the shipped-paths scan


def _post(body: bytes, *headers: str, target: str = "/acs", version: str = "1.1") -> bytes:
    head = [f"POST {target} HTTP/{version}", "Host: hems", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_a_plain_request_is_read_with_what_the_hems_needs() -> None:
    buf = bytearray(
        _post(
            INFORM, "Cookie: a=1", "cookie: hems_session=ab", "Authorization: Digest x=1", "Connection: close"
        )
    )
    req = take_request(buf, 1 << 20)
    assert req == LeanRequest(
        "POST", "/acs", "Digest x=1", ["a=1", "hems_session=ab"], INFORM, close=True, missing=0
    )
    assert buf == b""


def test_pipelined_requests_are_taken_one_at_a_time_and_a_partial_one_waits() -> None:
    second = _post(b"")
    buf = bytearray(_post(INFORM) + second[:-3])
    first = take_request(buf, 1 << 20)
    assert isinstance(first, LeanRequest) and first.body == INFORM
    assert take_request(buf, 1 << 20) is None  # incomplete: nothing taken
    buf += second[-3:]
    empty = take_request(buf, 1 << 20)
    assert isinstance(empty, LeanRequest) and empty.body == b"" and not empty.close
    assert buf == b""


@pytest.mark.parametrize(
    "raw",
    [
        _post(INFORM, "Transfer-Encoding: chunked"),
        _post(INFORM, "Content-Encoding: gzip"),
        _post(INFORM, "Expect: 100-continue"),
        _post(INFORM, "Upgrade: h2c", "Connection: Upgrade"),
        _post(INFORM, "Content-Length: 5"),  # a second Content-Length
        _post(INFORM, "Bad Header: x"),
        _post(INFORM, "X-Folded: a", " b"),
        _post(INFORM, version="1.0"),
        _post(INFORM, target="http://hems/acs"),
        _post(INFORM, target="/a/" + DOTS + "/acs"),
        _post(INFORM, target="/acs%20"),
        b"PUT /acs HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"\x16\x03\x01\x02\x00" + bytes(64),  # TLS to the plain port: no line end needed to tell
        b"NOT HTTP",
        _post(INFORM, f"X-Long: {'a' * MAX_HEAD}"),
        _post(b"x" * 11),  # over the body limit below
    ],
)
def test_any_other_request_is_handed_to_aiohttp(raw: bytes) -> None:
    buf = bytearray(raw)
    assert take_request(buf, 10 if raw.endswith(b"x" * 11) else 1 << 20) is HAND_OVER
    assert buf == raw  # aiohttp gets it whole


def test_a_body_cut_short_by_the_peer_is_returned_with_what_is_missing() -> None:
    raw = _post(INFORM)[:-100]
    assert take_request(bytearray(raw), 1 << 20) is None
    req = take_request(bytearray(raw), 1 << 20, eof=True)
    assert isinstance(req, LeanRequest) and req.missing == 100 and req.body == INFORM[:-100]


def test_responses_frame_their_body_and_a_204_has_none() -> None:
    assert response(204, b"", {}, False) == b"HTTP/1.1 204 No Content\r\n\r\n"
    assert response(200, b"abc", {"Set-Cookie": "c=1"}, True) == (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: c=1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
    )


def _read_response(stream: BinaryIO) -> tuple[int, bytes, bytes]:
    """(status, head, body) of the next response on a keep-alive connection (`sock.makefile("rb")`)."""
    lines = [stream.readline()]
    while lines[-1] not in (b"\r\n", b""):
        lines.append(stream.readline())
    assert lines[-1] == b"\r\n", lines
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    body = stream.read(length)
    assert len(body) == length, body
    return int(lines[0].split(b" ")[1]), b"".join(lines), body


def test_a_session_goes_on_after_its_connection_is_handed_to_aiohttp(hems: tuple[Hems, int]) -> None:
    h, port = hems
    call = h.queue_rpc("SN-LEAN", "GetParameterValues", names=["Device.DeviceInfo."])
    with hostile.connect(port, 10) as sock, sock.makefile("rb") as stream:
        sock.sendall(_post(INFORM))  # lean
        status, head, body = _read_response(stream)
        assert status == 200 and cwmp.parse_envelope(body).method == "InformResponse"
        cookie = next(
            line.split(b":", 1)[1].split(b";")[0].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"set-cookie:")
        )
        # Chunked: aiohttp's from here on, the session found by its cookie all the same.
        sock.sendall(
            b"POST /acs HTTP/1.1\r\nHost: hems\r\nTransfer-Encoding: chunked\r\nCookie: "
            + cookie
            + b"\r\n\r\n0\r\n\r\n"
        )
        status, _, body = _read_response(stream)
        assert status == 200 and cwmp.parse_envelope(body).method == "GetParameterValues"
        answer = cwmp.get_parameter_values_response(
            NS1, cwmp.parse_envelope(body).id, [("Device.DeviceInfo.SoftwareVersion", "1.0", "xsd:string")]
        )
        sock.sendall(_post(answer, f"Cookie: {cookie.decode()}"))  # plain again, still aiohttp's
        status, _, body = _read_response(stream)
        assert (status, body) == (204, b"")
    assert call.result(10) == cwmp.GpvResult({"Device.DeviceInfo.SoftwareVersion": "1.0"})
    kinds = [e.kind for e in h.timeline.find(lambda e: e.source == "hems")]
    assert kinds == ["inform", "rpc-sent", "rpc-response", "session-end"], kinds


def test_pipelined_requests_are_answered_in_order(hems: tuple[Hems, int]) -> None:
    h, port = hems
    with hostile.connect(port, 10) as sock, sock.makefile("rb") as stream:
        sock.sendall(_post(INFORM) + _post(b"") + _post(b"<not xml"))
        statuses = [_read_response(stream)[0] for _ in range(3)]
    assert statuses == [200, 204, 400]
    entries = h.transcript()
    assert [(e["direction"], e["status"]) for e in entries] == [
        ("in", 200),
        ("out", 200),
        ("in", 204),
        ("out", 204),
        ("in", 400),
        ("out", 400),
    ]


def test_a_body_cut_short_is_the_units_bad_message_and_answered(
    timeline: Timeline, hems: tuple[Hems, int]
) -> None:
    _, port = hems
    with hostile.connect(port, 10) as sock, sock.makefile("rb") as stream:
        sock.sendall(_post(INFORM)[:-10])
        sock.shutdown(socket.SHUT_WR)
        status, _, body = _read_response(stream)
    assert status == 400 and b"could not be read" in body
    bad = timeline.wait_for(lambda e: e.kind == "bad-message", 10, "the bad-message event")
    assert bad.data["size"] == len(INFORM) and "10 bytes short" in bad.data["reason"]
    assert not timeline.find(lambda e: e.kind == "hems-error")


def test_a_flood_of_pipelined_requests_is_read_as_the_answers_go_out(hems: tuple[Hems, int]) -> None:
    h, port = hems
    n = 2000  # far more than the lean path buffers (MAX_HEAD + the HTTP body cap) with the Inform first
    flood = _post(INFORM) + _post(b"", "X-Pad: " + "p" * 600) * n
    assert len(flood) > MAX_HEAD + 4 * cwmp.MAX_BODY
    with hostile.connect(port, 30) as sock, sock.makefile("rb") as stream:
        sender = threading.Thread(target=sock.sendall, args=(flood,))
        sender.start()
        statuses = [_read_response(stream)[0] for _ in range(n + 1)]
        sender.join()
    assert statuses == [200] + [204] * n
    assert len(h.transcript()) == 2 * (n + 1)


def test_a_tls_connection_is_handed_to_aiohttp_mid_way(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    cert = ca.issue("127.0.0.1")
    timeline = Timeline()
    h, port = serve(timeline, tls=server_context(cert.cert, cert.key, identity="127.0.0.1"))
    client = ssl.create_default_context(cafile=str(ca.files.cert))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
            sock.makefile("rb") as stream,
        ):
            sock.sendall(_post(INFORM))
            assert _read_response(stream)[0] == 200
            sock.sendall(b"POST /acs HTTP/1.1\r\nHost: hems\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            assert _read_response(stream)[:1] == (204,)
    finally:
        h.stop()
    assert [e.kind for e in timeline.find(lambda e: e.source == "hems")] == ["inform", "session-end"]


def test_wait_closed_follows_the_peers_connections_on_both_paths(timeline: Timeline) -> None:
    """5.2.4 cuts the tunnel only once the unit has closed its session's connection: the HeMS tells, for a
    connection on the lean path and for one handed to aiohttp, until the peer closes it."""
    hems, port = serve(timeline)
    try:
        assert hems.wait_closed("127.0.0.1", 0.2)  # nothing open yet
        lean = socket.create_connection(("127.0.0.1", port))
        lean.sendall(_post(INFORM))
        assert lean.recv(65536).startswith(b"HTTP/1.1 200")
        assert not hems.wait_closed("127.0.0.1", 0.3)
        chunked = socket.create_connection(("127.0.0.1", port))
        chunked.sendall(
            b"POST /acs HTTP/1.1\r\nHost: hems\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(INFORM):x}\r\n".encode()
            + INFORM
            + b"\r\n0\r\n\r\n"
        )
        assert chunked.recv(65536).startswith(b"HTTP/1.1 ")
        lean.close()
        assert not hems.wait_closed("127.0.0.1", 0.3)  # the handed-over one is still open
        chunked.close()
        assert hems.wait_closed("127.0.0.1", 5.0)
        assert hems.wait_closed("127.0.0.1", 0.0)
    finally:
        hems.stop()


def test_a_second_plain_listener_serves_one_hems_and_its_connections_count_for_wait_closed(
    timeline: Timeline,
) -> None:
    """An Initial HeMS on two addresses: a session opened on the second listener is the same HeMS's (its RPC
    queue, its events), and a connection open there is one wait_closed waits for, as on the first."""
    hems, _ = serve(timeline)
    second = socket.socket()
    second.bind(("127.0.0.1", 0))
    second.listen()
    try:
        hems.listen(second)
        call = hems.queue_rpc("SN-LEAN", "GetRPCMethods")
        conn = socket.create_connection(second.getsockname())
        stream = conn.makefile("rb")
        conn.sendall(_post(INFORM))
        assert _read_response(stream)[0] == 200
        conn.sendall(_post(b""))
        assert _read_response(stream)[0] == 200  # the RPC queued on the HeMS goes out here
        assert call.id is not None and not call.done()
        assert not hems.wait_closed("127.0.0.1", 0.2)
        stream.close()
        conn.close()
        assert hems.wait_closed("127.0.0.1", 5.0)
    finally:
        hems.stop()
        second.close()
    assert [e.kind for e in timeline.find(lambda e: e.source == "hems")] == ["inform", "rpc-sent"]
