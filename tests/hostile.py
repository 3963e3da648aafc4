"""Hostile inputs for the fuzz tests and the fuzz benchmarks: valid CWMP messages of every kind to start from,
and mutations of their bytes, XML and HTTP headers, each driven by a random.Random (hypothesis's or a seeded one).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import http.client
import os
import random
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator

from hypothesis import HealthCheck, settings

from bench import cwmp

NS0, NS1, NS2 = cwmp.CWMP_NAMESPACES
DEVICE = cwmp.DeviceId("Acme", "00259E", "FAP-1", "SN-FUZZ")
T = "2024-05-01T12:00:00Z"


def seeds() -> dict[str, bytes]:
    """One valid message of every kind either side sends, in every namespace it exists in."""
    out: dict[str, bytes] = {}
    params = [
        ("Device.DeviceInfo.SoftwareVersion", "1.0", "xsd:string"),
        ("Device.ManagementServer.ConnectionRequestURL", "http://10.0.0.1:7547/cr", "xsd:string"),
        ("Device.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt"),
    ]
    events = [("0 BOOTSTRAP", ""), ("1 BOOT", ""), ("M Download", "ck-1")]
    for ns in cwmp.CWMP_NAMESPACES:
        out[f"inform-{ns[-3:]}"] = cwmp.inform(ns, "1", DEVICE, events, params, T)
        out[f"fault-{ns[-3:]}"] = cwmp.fault(ns, "2", 9003, "Invalid arguments", [("Device.X", 9007, "bad")])
        out[f"gpv-response-{ns[-3:]}"] = cwmp.get_parameter_values_response(ns, "3", params)
    out["inform-1.4"] = cwmp.inform(NS2, "1", DEVICE, events, params, T, supported_versions="1.0,1.2,1.4")
    out["inform-response-1.3"] = cwmp.inform_response(
        NS2, "1", 1, True, session_timeout=30, use_version="1.3"
    )
    results: dict[str, dict[str, object]] = {
        "GetRPCMethods": {"methods": ["GetParameterValues", "Download"]},
        "GetParameterNames": {"params": {"Device.": False, "Device.X": True}},
        "SetParameterValues": {"status": 0},
        "GetParameterAttributes": {"attributes": {"Device.X": (2, ["Subscriber"])}},
        "AddObject": {"instance": 3, "status": 0},
        "DeleteObject": {"status": 1},
        "Download": {"status": 1},
        "Upload": {"status": 0, "start_time": T, "complete_time": T},
    }
    for method, fields in results.items():
        out[f"{method}Response"] = cwmp.response(NS1, "4", method, **fields)
    for method in ("SetParameterAttributes", "Reboot", "FactoryReset", "ScheduleInform"):
        out[f"{method}Response"] = cwmp.empty_response(NS1, "5", f"{method}Response")
    out["TransferComplete"] = cwmp.transfer_complete(NS1, "6", "ck-1", 9010, "failed", T, T)
    out["AutonomousTransferComplete"] = cwmp.autonomous_transfer_complete(
        NS1,
        "7",
        cwmp.AutonomousTransferComplete(
            "", "http://f/x", True, "3 Vendor Configuration File", 10, "x", 0, "", T, T
        ),  # fmt: skip
    )
    out["RequestDownload"] = cwmp.request_download(NS1, "8", "3 Vendor Configuration File", {"Version": "2"})
    out["GetRPCMethods"] = cwmp.get_rpc_methods(NS1, "9")
    args: dict[str, dict[str, object]] = {
        "GetParameterNames": {"parameter_path": "Device.", "next_level": True},
        "GetParameterValues": {"names": ["Device.DeviceInfo."]},
        "SetParameterValues": {"params": params, "parameter_key": "k"},
        "SetParameterAttributes": {"attributes": [("Device.X", 2, ["Subscriber"])]},
        "AddObject": {"object_name": "Device.X."},
        "Download": {"file_type": "1 Firmware Upgrade Image", "url": "http://f/x", "file_size": 9},
        "Upload": {"file_type": "3 Vendor Configuration File", "url": "http://f/y"},
        "ScheduleInform": {"delay_seconds": 5},
    }
    for method, a in args.items():
        out[f"{method}-request"] = cwmp.request(NS1, "10", method, a, hold_requests=False)
    return out


SEEDS = seeds()
SEED_NAMES = sorted(SEEDS)

# Element texts that trip parsers: huge and odd numbers, digits that are not ASCII, markup, bad characters.
NASTY_TEXT = [
    "", " ", "-1", "0", "1", "true", "2", "9" * 5000, "-" + "9" * 30, "1e9", "0x10", "1_000", "NaN", "inf",
    "\u00b2", "\u0661\u0662", "\uff11\uff12", "\u2167", "\u00bd", "x" * 70000, "\t\r\n", "]]>", "&amp;", "&lt;",
    "&#0;", "&#x110000;", "&#xD800;", "&nope;", "<![CDATA[7]]>", "<x/>", "<!--c-->", "\u202e", "\ufeff1",
    "\x00", "\x1b[31m", "%s%s%n", "${jndi:x}", "1.4,1.3,,,", "urn:dslforum-org:cwmp-1-2", "\udcff",
]  # fmt: skip
WRONG_NAMESPACES = [
    b"urn:dslforum-org:cwmp-1-9", b"urn:dslforum-org:cwmp-1-3", b"", b"http://www.w3.org/2003/05/soap-envelope",
    b"urn:dslforum-org:cwmp-1-0", b"urn:dslforum-org:cwmp-1-2", b"URN:DSLFORUM-ORG:CWMP-1-0",
]  # fmt: skip
TAGS = sorted({m.group(1) for body in SEEDS.values() for m in re.finditer(rb"</([\w:.-]+)>", body)})
ENCODINGS = [
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "latin-1",
    "cp037",
    "shift_jis",
    "utf-8-sig",
    "ascii",
]
INSERTS = [
    b"<!DOCTYPE Envelope>", b'<!DOCTYPE e [<!ENTITY x "y">]>', b"&x;", b"<?pi data?>", b"<!--c-->",
    b"<![CDATA[<Inform>]]>", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"<a>" * 300, b"</soap-env:Body>",
    b'xmlns:cwmp="urn:dslforum-org:cwmp-1-0"', b"soap-enc:arrayType=\"x[99999999999]\"", b"\r\n\r\n",
]  # fmt: skip
_TEXT = re.compile(rb">([^<]*)<")
_TAG = re.compile(rb"<(/?)([\w:.-]+)")
_ELEMENT = re.compile(rb"<([\w:.-]+)[^>]*>[^<]*</\1>")


def _span(rnd: random.Random, n: int) -> tuple[int, int]:
    a = rnd.randrange(n + 1)
    return a, min(n, a + rnd.choice([1, 2, 4, 16, 64, 1024]))


def _set_text(body: bytes, rnd: random.Random) -> bytes:
    spans = [m.span(1) for m in _TEXT.finditer(body)]
    if not spans:
        return body
    a, b = rnd.choice(spans)
    text = rnd.choice(NASTY_TEXT).encode("utf-8", "surrogatepass")
    return body[:a] + text + body[b:]


def _rename_tag(body: bytes, rnd: random.Random) -> bytes:
    tags = list(_TAG.finditer(body))
    if not tags:
        return body
    m = rnd.choice(tags)
    new = rnd.choice([*TAGS, b"x:" + m.group(2), b"", m.group(2).upper(), b"cwmp:Inform"])
    return body[: m.start(2)] + new + body[m.end(2) :]


def _element(body: bytes, rnd: random.Random, op: str) -> bytes:
    found = list(_ELEMENT.finditer(body))
    if not found:
        return body
    m = rnd.choice(found)
    if op == "drop":
        return body[: m.start()] + body[m.end() :]
    # A huge count of one element, still under the codec's size limit most of the time.
    times = min(rnd.choice([2, 10, 1000, 20000]), max(2, 2 * cwmp.MAX_BODY // len(m.group(0))))
    return body[: m.start()] + m.group(0) * times + body[m.end() :]


def _namespace(body: bytes, rnd: random.Random) -> bytes:
    old = rnd.choice([NS0.encode(), NS1.encode(), NS2.encode(), cwmp.SOAP_ENV.encode()])
    return body.replace(old, rnd.choice(WRONG_NAMESPACES), rnd.choice([1, -1]))


def _encode(body: bytes, rnd: random.Random) -> bytes:
    enc = rnd.choice(ENCODINGS)
    text = body.decode("utf-8", "replace")
    if rnd.random() < 0.5:
        text = text.replace(
            'encoding="UTF-8"', f'encoding="{rnd.choice([enc, "bogus", "utf-16", "UTF-8"])}"', 1
        )
    return text.encode(enc, "replace")


def _bytes_op(body: bytes, rnd: random.Random, op: str) -> bytes:
    a, b = _span(rnd, len(body))
    if op == "truncate":
        return body[: rnd.randrange(len(body) + 1)]
    if op == "flip":
        return body[:a] + bytes(rnd.randrange(256) for _ in range(b - a)) + body[b:]
    if op == "delete":
        return body[:a] + body[b:]
    if op == "duplicate":
        return body[:b] + body[a:b] * rnd.choice([2, 3, 100]) + body[b:]
    return body[:a] + rnd.choice(INSERTS) + body[a:]


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "text": _set_text,
    "rename-tag": _rename_tag,
    "drop-element": lambda b, r: _element(b, r, "drop"),
    "repeat-element": lambda b, r: _element(b, r, "repeat"),
    "namespace": _namespace,
    "encoding": _encode,
    "truncate": lambda b, r: _bytes_op(b, r, "truncate"),
    "flip": lambda b, r: _bytes_op(b, r, "flip"),
    "delete": lambda b, r: _bytes_op(b, r, "delete"),
    "duplicate": lambda b, r: _bytes_op(b, r, "duplicate"),
    "insert": lambda b, r: _bytes_op(b, r, "insert"),
    "splice": lambda b, r: b[: r.randrange(len(b) + 1)] + (s := SEEDS[r.choice(SEED_NAMES)])[r.randrange(len(s)) :],
}  # fmt: skip
MUTATION_NAMES = sorted(MUTATIONS)


def mutate(body: bytes, rnd: random.Random, rounds: int | None = None) -> bytes:
    """`body` after 1-4 random mutations (or `rounds`)."""
    for _ in range(rounds if rounds is not None else rnd.choice([1, 1, 2, 3, 4])):
        body = MUTATIONS[rnd.choice(MUTATION_NAMES)](body, rnd)
    return body


def message(rnd: random.Random) -> bytes:
    """A fuzz input: mostly a mutated seed, sometimes a valid one or raw random bytes."""
    roll = rnd.random()
    if roll < 0.05:
        return rnd.randbytes(rnd.choice([0, 1, 16, 300, 5000]))
    body = SEEDS[rnd.choice(SEED_NAMES)]
    return body if roll < 0.1 else mutate(body, rnd)


# ---- HTTP ----

CONTENT_TYPES = [
    "text/xml", 'text/xml; charset="utf-8"', "text/xml; charset=utf-16", "application/soap+xml",
    "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "", ";;;", "text/xml; charset=bogus",
    "application/json", "text/xml; charset=\u00e9",
]  # fmt: skip
CONTENT_ENCODINGS = ["gzip", "deflate", "br", "identity", "x-gzip", "compress", "zstd", "gzip, gzip", "bogus"]
SOAP_ACTIONS = ['""', "", '"urn:dslforum-org:cwmp-1-0#Inform"', "Inform", '"' * 3, "x" * 5000]


def digest_header(
    rnd: random.Random, realm: str, nonce: str, user: str, password: str, uri: str, valid: bool = False
) -> str:
    """A Digest Authorization header: a correct one (`valid`, or by chance), or one with a field mutated or
    missing."""
    from bench.httpauth import digest_response

    fields = {
        "username": user,
        "realm": realm,
        "nonce": nonce,
        "uri": uri,
        "qop": "auth",
        "nc": "00000001",
        "cnonce": "abc",
        "algorithm": "MD5",
        "response": digest_response(user, password, realm, "POST", uri, nonce, "00000001", "abc", "auth"),
        "opaque": "x",
    }
    if not valid and rnd.random() < 0.7:
        key = rnd.choice(sorted(fields))
        if rnd.random() < 0.3:
            del fields[key]
        else:
            fields[key] = rnd.choice(NASTY_TEXT[:40] + ["\u00e9", "\\", '"', "a,b=c", "=", base64.b64encode(
                rnd.randbytes(20)).decode()])  # fmt: skip
    if valid:
        return "Digest " + ", ".join(f'{k}="{v}"' for k, v in fields.items())
    parts = [f'{k}="{v}"' if rnd.random() < 0.8 else f"{k}={v}" for k, v in fields.items()]
    return "Digest " + rnd.choice([", ", ",", " ", ",,"]).join(parts)


def auth_header(rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.3:
        raw = rnd.choice([b"unit:secret", b"unit", b":", rnd.randbytes(12), b"\xc3\xa9:\xff"])
        return "Basic " + rnd.choice([base64.b64encode(raw).decode(), "!!!", "", "dW5pdA"])
    if roll < 0.6:
        return rnd.choice(["Digest ", "Digest", "digest username=unit", 'Digest username="unit", response="\u00e9"',
                           'Digest nonce="' + "A" * 5000 + '"', "Bearer x", "", " ", "Basic", "Digest ,,,,="])  # fmt: skip
    return rnd.choice(NASTY_TEXT[:40])


def cookie_header(rnd: random.Random, good: str | None = None) -> str:
    token = good or rnd.choice(["", "0" * 32, "x", '"', "\u00e9", "a" * 4000])
    return rnd.choice(
        [
            f"hems_session={token}",
            f'hems_session="{token}"',
            f"a=b, hems_session={token}",
            f"hems_session=stale; hems_session={token}",
            "hems_session",
            ";;;,,,",
            "=" * 10,
            f"hems_session={token}; " * 50,
        ]
    )


def headers(rnd: random.Random, body: bytes, **good: str) -> list[tuple[str, str]]:
    """Request headers for `body`, each present or not, right or wrong; Content-Length is set by the caller
    when absent here. `good` gives a valid Authorization or Cookie value to use some of the time."""
    out: list[tuple[str, str]] = []
    if rnd.random() < 0.8:
        out.append(("Content-Type", rnd.choice(CONTENT_TYPES)))
    if rnd.random() < 0.2:
        out.append(("SOAPAction", rnd.choice(SOAP_ACTIONS)))
    if rnd.random() < 0.3:
        out.append(("Authorization", good.get("authorization") or auth_header(rnd)))
    if rnd.random() < 0.3:
        out.append(("Cookie", cookie_header(rnd, good.get("cookie"))))
    if rnd.random() < 0.05:
        out.append(("Content-Encoding", rnd.choice(CONTENT_ENCODINGS)))
    if rnd.random() < 0.03:
        out.append(("Expect", rnd.choice(["100-continue", "x"])))
    if rnd.random() < 0.05:
        out.append((rnd.choice(["X-\u00e9", "X-Long", "Host", "Connection"]), rnd.choice(NASTY_TEXT[:30])))
    return out


def read_all(body: bytes) -> object:
    """What the HeMS and the mock unit do with a body: parse it, then read it as the message it says it is.
    Returns the typed message; raises CwmpParseError for a bad one (anything else is a bug)."""
    env = cwmp.parse_envelope(body)
    readers: dict[str, Callable[[cwmp.Envelope], object]] = {
        "Inform": cwmp.read_inform,
        "TransferComplete": cwmp.read_transfer_complete,
        "AutonomousTransferComplete": cwmp.read_autonomous_transfer_complete,
        "RequestDownload": cwmp.read_request_download,
    }
    if env.method in readers:
        return readers[env.method](env)
    method = env.method.removesuffix("Response")
    if env.method == "Fault":
        return cwmp.read_fault(env)
    if method in cwmp.ACS_RPCS and env.method.endswith("Response"):
        return cwmp.read_result(env, method)
    return env


def http_request(
    body: bytes, head: list[tuple[str, str]], method: str = "POST", path: str = "/cwmp"
) -> bytes:
    """The request's bytes exactly as given: no header is added, checked or fixed (bytes that are not UTF-8
    travel as surrogate escapes)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in head)]
    return "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body


def connect(port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    # Close with RST: a million connections must not leave a million TIME_WAITs.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return sock


def exchange(
    sock: socket.socket, raw: bytes, method: str = "POST", half_close: bool = False
) -> tuple[int, bytes, http.client.HTTPResponse]:
    """Send `raw`, read one answer: (status, body, response). `half_close` ends our side after sending, so a
    server waiting for bytes that were announced but never come sees the end of the stream."""
    sock.sendall(raw)
    if half_close:
        sock.shutdown(socket.SHUT_WR)
    resp = http.client.HTTPResponse(sock, method=method)
    resp.begin()
    return resp.status, resp.read(), resp


class ExampleHung(Exception):
    """Raised in the test's thread when one example runs past the watchdog's bound."""


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Raise ExampleHung in this thread if the block runs longer than `seconds`: the test fails where it hung,
    with its traceback (a wait in C code is interrupted when it returns to Python). A generous bound that
    catches hangs, never a timing assertion."""
    target = threading.get_ident()
    done = threading.Event()

    def fire() -> None:
        if not done.wait(seconds):
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(ExampleHung))

    timer = threading.Thread(target=fire, daemon=True, name="example-watchdog")
    timer.start()
    try:
        yield
    finally:
        done.set()
        timer.join()


# Every property test in `make test`: a modest number of examples (HB_FUZZ_EXAMPLES for more), no deadline
# (a loaded CI machine is slow, not hung: the watchdog bounds each example instead).
EXAMPLES = int(os.environ.get("HB_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
