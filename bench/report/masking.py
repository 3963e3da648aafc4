"""Masking secrets in bytes, length kept: HTTP Basic credentials and Digest responses, FTP's PASS, CWMP
parameter values whose names say Password/Key/Secret, RPC passwords, credentials in URLs, and every known
secret (the inventory's and those found in the run) wherever it appears, plain or encoded. Each masked byte
becomes '*', so offsets, HTTP Content-Length and TCP sequence numbers stay true. `scan` looks for what
must not be left, in every encoding the masking knows."""

from __future__ import annotations

import base64
import html
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from bench.report.redact import MASK as REDACTED
from bench.report.redact import WORD_ONLY_BELOW

MASK = ord("*")
# A value found in the run (not the inventory) shorter than this is masked where it stands (the parameter's
# value, the PASS argument) but not searched for elsewhere: "1" or "true" would mask half the capture.
HARVEST_MIN = 4

_PARAM = re.compile(
    rb"<(?:\w+:)?Name>([^<]*)</(?:\w+:)?Name>\s*<(?:\w+:)?Value(?:\s[^>]*)?>([^<]*)</(?:\w+:)?Value>"
)
# The last part of a parameter's name: Password, Passphrase, Secret anywhere in it, or ending in Key (not the
# ParameterKey and CommandKey of TR-069, which name a configuration, not a secret).
_SECRET_NAME = re.compile(rb"(?i)password|passphrase|secret|key$")
_NOT_SECRET_NAME = re.compile(rb"(?i)(?:parameter|command)[_-]?key$")
# The same in JSON (a timeline event's SetParameterValues values, run.json): "name": "value".
_JSON_PARAM = re.compile(rb'"([^"\\]{1,200})"\s*:\s*"((?:[^"\\]|\\.){1,1000})"')
_USER_NAME = re.compile(rb"(?i)username$")
# A TR-069 parameter path (the value of a profile's path mapping): a name, never a secret.
_PARAMETER_PATH = re.compile(rb"(?:Device|InternetGatewayDevice)\.(?:[\w{}-]+\.)*[\w{}-]*\Z")
RULES: dict[str, re.Pattern[bytes]] = {
    "http-basic-credentials": re.compile(
        rb"(?im)^(?:proxy-)?authorization:[ \t]*basic[ \t]+([A-Za-z0-9+/=._~-]+)"
    ),
    "http-digest-response": re.compile(
        rb"(?im)^(?:proxy-)?authorization:[ \t]*digest[^\r\n]*?\bresponse=\"?([0-9A-Za-z]+)"
    ),
    "ftp-pass": re.compile(rb"(?m)^PASS ([^\r\n]+)"),
    "cwmp-rpc-password": re.compile(rb"<(?:\w+:)?Password>([^<]+)</(?:\w+:)?Password>"),
    "url-credentials": re.compile(rb"\b[a-z][a-z0-9+.-]*://[^/\s:@<>\"']+:([^@\s/<>\"']+)@"),
}
_FTP_USER = re.compile(rb"(?m)^USER ([^\r\n]+)")
_RPC_USER = re.compile(rb"<(?:\w+:)?Username>([^<]+)</(?:\w+:)?Username>")


def is_secret_name(name: bytes) -> bool:
    """True for a parameter or key whose last part says it holds a secret (Password, Secret, ...Key)."""
    last = name.rsplit(b".", 1)[-1]
    return bool(_SECRET_NAME.search(last)) and not _NOT_SECRET_NAME.search(last)


def _named_values(data: bytes) -> list[re.Match[bytes]]:
    """Name and value pairs: CWMP ParameterValueStructs and JSON members (group 1 the name, 2 the value)."""
    return [*_PARAM.finditer(data), *_JSON_PARAM.finditer(data)]


def _holds_secret(m: re.Match[bytes]) -> bool:
    """A pair whose name says secret and whose value is not a parameter's path: run.json's data model profile
    maps "connection_request_password" to "Device.ManagementServer.ConnectionRequestPassword", a name that
    masked everywhere would hide which parameter a SetParameterValues sets (and change what a judge reads)."""
    return is_secret_name(m.group(1)) and not _PARAMETER_PATH.match(m.group(2))


def _unescape(value: bytes, json_string: bool) -> bytes:
    """A value as it was before XML (or JSON string) escaping: the secret itself, whose escaped forms
    `_variants` makes again."""
    text = value.decode("utf-8", "replace")
    if json_string:
        try:
            return str(json.loads(f'"{text}"')).encode()
        except ValueError:
            return value
    return html.unescape(text).encode()


def _xml(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _variants(secret: str) -> dict[bytes, str]:
    """The ways a secret is written in a bundle's files, each with the name of its encoding."""
    out: dict[bytes, str] = {}
    for value, kind in (
        (secret, "plain"),
        (_xml(secret), "XML-escaped"),
        (json.dumps(secret)[1:-1], "JSON-escaped"),
        (quote(secret, safe=""), "URL-encoded"),
        (quote_plus(secret), "URL-encoded"),
    ):
        out.setdefault(value.encode(), kind)
    if len(secret) >= 6:  # shorter base64 is too likely to occur by chance in binary data
        out.setdefault(base64.b64encode(secret.encode()).rstrip(b"="), "base64")
    return out


@dataclass
class Secrets:
    """What must not leave: secret values, and user names to pair with them (base64 of user:password)."""

    values: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)

    def patterns(self) -> dict[bytes, str]:
        """Every byte string to find, with its kind (the encoding), longest first."""
        found: dict[bytes, str] = {}
        for s in self.values:
            for v, kind in _variants(s).items():
                found.setdefault(v, kind)
            for u in self.users:
                pair = base64.b64encode(f"{u}:{s}".encode())
                found.setdefault(pair.rstrip(b"="), "base64 of user:password")
        return dict(sorted(found.items(), key=lambda kv: -len(kv[0])))


def _matcher(patterns: Iterable[bytes]) -> re.Pattern[bytes] | None:
    parts = [
        re.escape(p) if len(p) >= WORD_ONLY_BELOW else rb"(?<![\w-])" + re.escape(p) + rb"(?![\w-])"
        for p in patterns
        if p
    ]
    return re.compile(b"|".join(parts)) if parts else None


def harvest(data: bytes, secrets: Secrets) -> None:
    """Add to `secrets` the credentials `data` carries: Basic credentials, FTP USER/PASS, CWMP parameter
    values named like secrets (and user names), RPC passwords, passwords in URLs."""

    def add(value: bytes, into: set[str]) -> None:
        text = value.decode("utf-8", "replace").strip()
        if len(text) >= HARVEST_MIN and "*" * len(text) != text and text != REDACTED:
            into.add(text)

    for m in RULES["http-basic-credentials"].finditer(data):
        try:
            user, _, password = base64.b64decode(m.group(1), validate=True).partition(b":")
        except ValueError:
            continue
        add(user, secrets.users)
        add(password, secrets.values)
    for m in RULES["ftp-pass"].finditer(data):
        add(m.group(1), secrets.values)
    for m in _FTP_USER.finditer(data):
        add(m.group(1), secrets.users)
    for m in _named_values(data):
        value = _unescape(m.group(2), json_string=m.re is _JSON_PARAM)
        if _holds_secret(m):
            add(value, secrets.values)
        elif _USER_NAME.search(m.group(1)):
            add(value, secrets.users)
    for name in ("cwmp-rpc-password", "url-credentials"):
        for m in RULES[name].finditer(data):
            add(m.group(1), secrets.values)
    for m in _RPC_USER.finditer(data):
        add(m.group(1), secrets.users)


class Masker:
    """Masks secrets in bytes; `counts` says how many of each kind it masked (never what)."""

    def __init__(self, secrets: Secrets) -> None:
        self._known = _matcher(secrets.patterns())
        self.counts: Counter[str] = Counter()

    def ranges(self, data: bytes) -> list[tuple[int, int, str]]:
        """Where the secrets are in `data`: (start, end, kind), by rule first, then the known values."""
        found: list[tuple[int, int, str]] = []
        for kind, rx in RULES.items():
            found += [(m.start(1), m.end(1), kind) for m in rx.finditer(data)]
        for m in _named_values(data):
            if _holds_secret(m) and m.end(2) > m.start(2):
                kind = "cwmp-secret-parameter" if m.re is _PARAM else "json-secret-value"
                found.append((m.start(2), m.end(2), kind))
        taken = bytearray(data)
        for start, end, _ in found:
            taken[start:end] = b"*" * (end - start)
        if self._known is not None:
            found += [(m.start(), m.end(), "known-secret") for m in self._known.finditer(bytes(taken))]
        return found

    def mask(self, data: bytes) -> bytes:
        """`data` with every secret replaced by as many '*' (counted in `counts`)."""
        out = bytearray(data)
        for start, end, kind in self.ranges(data):
            if any(b != MASK for b in out[start:end]):
                self.counts[kind] += 1
            out[start:end] = b"*" * (end - start)
        return bytes(out)


@dataclass
class Finding:
    kind: str
    offset: int


def scan(data: bytes, secrets: Secrets) -> list[Finding]:
    """Every place in `data` where a known secret is still readable, in any encoding `Secrets` knows."""
    pats = secrets.patterns()
    rx = _matcher(pats)
    if rx is None:
        return []
    return [Finding(pats.get(m.group(0), "plain"), m.start()) for m in rx.finditer(data)]
