"""A scripted CPE over real HTTP for the HeMS tests, and a HeMS on 127.0.0.1 to point it at."""

from __future__ import annotations

import http.client
import socket
from typing import Any

from bench import cwmp
from bench.hems import Hems
from bench.timeline import Timeline

NS0, NS1, NS2 = cwmp.CWMP_NAMESPACES
SERIAL = "SN-A"


class Cpe:
    """A scripted CPE: one keep-alive HTTP connection, cookies handled by hand so tests can mangle them."""

    def __init__(self, port: int, serial: str = SERIAL, ns: str = NS1) -> None:
        self.conn: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.auth: str | None = None
        self.serial = serial
        self.ns = ns
        self.cookie: str | None = None
        self.ids = 0

    def post(
        self, body: bytes = b"", cookie: str | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        headers = {}
        if content_type or body:
            headers["Content-Type"] = content_type or "text/xml; charset=utf-8"
        cookie = cookie if cookie is not None else (f"hems_session={self.cookie}" if self.cookie else None)
        if cookie:
            headers["Cookie"] = cookie
        if self.auth:
            headers["Authorization"] = self.auth
        self.conn.request("POST", "/cwmp", body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        set_cookie = resp.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";")[0].split("=", 1)[1]
        return resp.status, data

    def inform(
        self,
        events: tuple[str, ...] = ("1 BOOT",),
        cwmp_id: str | None = "cpe-1",
        params: list[cwmp.ParamValue] | None = None,
        supported_versions: str | None = None,
        expect: int = 200,
    ) -> cwmp.Envelope:
        body = cwmp.inform(
            self.ns,
            cwmp_id,
            cwmp.DeviceId("Acme", "00259E", "FAP-1", self.serial),
            [(e, "") for e in events],
            params if params is not None else [("Device.DeviceInfo.SoftwareVersion", "1.0", "xsd:string")],
            "2024-05-01T12:00:00Z",
            supported_versions=supported_versions,
        )
        status, data = self.post(body)
        assert status == expect, data
        return cwmp.parse_envelope(data)

    def empty(self, **kw: str) -> tuple[int, bytes]:
        return self.post(b"", **kw)


def serve(timeline: Timeline, **kw: Any) -> tuple[Hems, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    hems = Hems("initial-hems", timeline, **kw)
    hems.start(sock)
    return hems, sock.getsockname()[1]
