"""An HTTP PDU simulator on 127.0.0.1: the NETIO JSON API (/netio.json), a plain REST API (/api/outlets/N), and
/api/outlets/N/value, "0" or "1" as text, as labgrid's `rest` power backend reads and writes it.

Both behind HTTP Basic auth, as on real PDUs; every request is logged for the tests.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: HttpPduServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _reply(self, status: int, doc: Any = None) -> None:
        body = json.dumps(doc).encode() if doc is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return json.loads(raw) if raw else None

    def _authorized(self) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.server.user}:{self.server.password}".encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="pdu"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _handle(self) -> None:
        srv = self.server
        try:
            body = self._body()
        except json.JSONDecodeError:
            self._reply(400, {"error": "bad JSON"})
            return
        srv.requests.append((self.command, self.path, body))
        if not self._authorized():
            return
        with srv.lock:
            if self.path == "/netio.json":
                self._netio(body)
            elif self.path.startswith("/api/outlets/") and self.path.endswith("/value"):
                self._value(self.path.removeprefix("/api/outlets/").removesuffix("/value"), body)
            elif self.path.startswith("/api/outlets/"):
                self._rest(self.path.removeprefix("/api/outlets/"), body)
            else:
                self._reply(404, {"error": "not found"})

    def _netio(self, body: Any) -> None:
        srv = self.server
        if self.command == "POST":
            for out in (body or {}).get("Outputs", []):
                n, action = out.get("ID"), out.get("Action")
                if n not in srv.outlets or action not in (0, 1, 2, 3, 4, 5):
                    self._reply(400)
                    return
                # 0 off, 1 on, 2 short off (ends on), 3 short on (ends off), 4 toggle, 5 no change
                srv.switch(
                    n,
                    {0: False, 1: True, 2: True, 3: False, 4: not srv.outlets[n]}.get(action, srv.outlets[n]),
                )
        elif self.command != "GET":
            self._reply(405)
            return
        self._reply(200, {
            "Agent": {"Model": "henb-bench NETIO sim", "JSONVer": "2.1"},
            "Outputs": [{"ID": n, "State": int(on), "Action": 6} for n, on in srv.outlets.items()],
        })  # fmt: skip

    def _outlet(self, rest: str) -> int | None:
        """The outlet number `rest` names, or None after answering 404."""
        if not rest.isdigit() or int(rest) not in self.server.outlets:
            self._reply(404, {"error": f"no outlet {rest}"})
            return None
        return int(rest)

    def _rest(self, rest: str, body: Any) -> None:
        srv = self.server
        if (n := self._outlet(rest)) is None:
            return
        if self.command == "PUT":
            state = (body or {}).get("state")
            if state not in ("on", "off"):
                self._reply(422, {"error": "state must be on or off"})
                return
            srv.switch(n, state == "on")
        self._reply(200, {"data": {"outlet": n, "state": "on" if srv.outlets[n] else "off"}})

    def _value(self, rest: str, body: Any) -> None:
        srv = self.server
        if (n := self._outlet(rest)) is None:
            return
        if self.command == "PUT":
            if body not in (0, 1):
                self._reply(422, {"error": "the body must be 0 or 1"})
                return
            srv.switch(n, body == 1)
        text = b"1" if srv.outlets[n] else b"0"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_GET = do_POST = do_PUT = _handle


class HttpPduServer(ThreadingHTTPServer):
    """`with HttpPduServer() as pdu:` serves on `pdu.url`; `outlets` maps outlet number to on/off.

    `on_switch(outlet, on)` is called when an outlet changes state (the load plugged into it), before the reply."""

    daemon_threads = True

    def __init__(
        self,
        outlets: int = 4,
        user: str = "admin",
        password: str = "admin",
        on_switch: Callable[[int, bool], None] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.outlets = dict.fromkeys(range(1, outlets + 1), False)
        self.on_switch = on_switch
        self.user, self.password = user, password
        self.requests: list[tuple[str, str, Any]] = []
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.05,), name="http-pdu-sim", daemon=True
        )

    def switch(self, outlet: int, on: bool) -> None:
        changed = self.outlets[outlet] != on
        self.outlets[outlet] = on
        if changed and self.on_switch is not None:
            self.on_switch(outlet, on)

    def __enter__(self) -> HttpPduServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()
