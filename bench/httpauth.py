"""HTTP Basic (RFC 7617) and Digest (RFC 7616, MD5, qop=auth) authentication: of units at the HeMS, of the HeMS
at a unit's connection-request server (the mock's), and the mock's own Digest answers (stdlib only).

The HeMS challenges; each unit has its own user name and password (from the inventory).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

Scheme = Literal["basic", "digest"]


def basic_credentials(value: str) -> tuple[str, str] | None:
    """(user, password) of a `Basic` Authorization value (RFC 7617, UTF-8), None when it is not one: another
    scheme, not base64, not UTF-8, no colon. (aiohttp 3.14 deprecates BasicAuth and offers only the encoder.)"""
    word, _, rest = value.strip().partition(" ")
    if word.lower() != "basic":
        return None
    try:
        text = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = text.partition(":")
    return (user, password) if colon else None


def _raw(text: str) -> bytes:
    """The bytes a header value came as (aiohttp keeps bytes that are not UTF-8 as surrogate escapes)."""
    return text.encode("utf-8", "surrogateescape")


def _md5(text: str) -> str:
    return hashlib.md5(_raw(text), usedforsecurity=False).hexdigest()


def parse_auth_params(text: str) -> dict[str, str]:
    """The key=value pairs of an Authorization or WWW-Authenticate header after the scheme word (the stdlib's
    list and key=value parsing); keys in lower case, spaces around `=` allowed, a word without `=` skipped."""
    pairs = []
    from urllib.request import parse_http_list, parse_keqv_list  # 3 MiB: loaded only once a header is read

    for item in parse_http_list(text):
        key, eq, value = item.partition("=")
        if eq:
            value = value.strip() or '""'  # parse_keqv_list needs a value to look at
            pairs.append(f"{key.strip().lower()}={value}")
    return parse_keqv_list(pairs)


def digest_response(
    user: str, password: str, realm: str, method: str, uri: str, nonce: str, nc: str, cnonce: str, qop: str
) -> str:
    """The Digest `response` value (MD5; RFC 2069 form when qop is empty)."""
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True)
class AuthResult:
    user: str | None
    reason: str
    stale: bool = False


class Authenticator:
    """Checks Authorization headers against per-unit credentials (user name -> password)."""

    def __init__(
        self,
        scheme: Scheme,
        users: dict[str, str],
        realm: str = "henb-bench HeMS",
        nonce_lifetime: float = 300.0,
    ) -> None:
        if scheme not in ("basic", "digest"):
            raise ValueError(f"auth scheme {scheme!r}: expected basic or digest")
        self.scheme = scheme
        self.users = dict(users)
        self.realm = realm
        self.nonce_lifetime = nonce_lifetime
        self._secret = secrets.token_bytes(16)
        self._opaque = secrets.token_hex(8)

    def _nonce(self) -> str:
        stamp = f"{time.time():.3f}"
        mac = hmac.new(self._secret, stamp.encode(), "sha256").hexdigest()[:32]
        return base64.b64encode(f"{stamp}:{mac}".encode()).decode()

    def _nonce_age(self, nonce: str) -> float | None:
        """Seconds since we issued `nonce`, or None when we did not issue it."""
        try:
            stamp, mac = base64.b64decode(nonce, validate=True).decode().split(":")
            good = hmac.new(self._secret, stamp.encode(), "sha256").hexdigest()[:32]
            return time.time() - float(stamp) if hmac.compare_digest(_raw(mac), good.encode()) else None
        except (ValueError, UnicodeDecodeError):
            return None

    def challenge(self, stale: bool = False) -> str:
        """The WWW-Authenticate header value for a 401."""
        if self.scheme == "basic":
            return f'Basic realm="{self.realm}"'
        return (
            f'Digest realm="{self.realm}", qop="auth", algorithm=MD5, nonce="{self._nonce()}", '
            f'opaque="{self._opaque}"' + (", stale=true" if stale else "")
        )

    def check(self, method: str, path: str, header: str | None) -> AuthResult:
        """Who the Authorization header proves to be, or None and why not."""
        if not header:
            return AuthResult(None, "no Authorization header")
        word, _, rest = header.strip().partition(" ")
        if word.lower() != self.scheme:
            return AuthResult(None, f"{word or 'empty'} Authorization, expected {self.scheme.title()}")
        if self.scheme == "basic":
            creds = basic_credentials(f"Basic {rest.strip()}")
            if creds is None:  # not base64, not UTF-8, no colon
                return AuthResult(None, "Basic credentials are not base64 user:password")
            user, password = creds
            if user not in self.users:
                return AuthResult(None, f"unknown user {user!r}")
            if not hmac.compare_digest(self.users[user].encode(), password.encode()):
                return AuthResult(None, f"wrong password for user {user!r}")
            return AuthResult(user, "ok")
        p = parse_auth_params(rest)
        user = p.get("username", "")
        if user not in self.users:
            return AuthResult(None, f"unknown user {user!r}")
        if p.get("realm") != self.realm:
            return AuthResult(None, f"realm {p.get('realm')!r}, expected {self.realm!r}")
        if p.get("algorithm", "MD5").upper() != "MD5":
            return AuthResult(None, f"algorithm {p.get('algorithm')}, expected MD5")
        uri = p.get("uri", "")
        # Some CPEs put the absolute URL in `uri`; the digest is computed over what they sent.
        if uri != path and not uri.endswith(path):
            return AuthResult(None, f"digest uri {uri!r} is not the request path {path!r}")
        age = self._nonce_age(p.get("nonce", ""))
        if age is None:
            return AuthResult(None, "nonce was not issued by this HeMS")
        qop = p.get("qop", "")
        if qop not in ("", "auth"):
            return AuthResult(None, f"qop {qop!r}, expected auth")
        expected = digest_response(
            user,
            self.users[user],
            self.realm,
            method,
            uri,
            p["nonce"],
            p.get("nc", ""),
            p.get("cnonce", ""),
            qop,
        )
        # Bytes: compare_digest refuses str with characters beyond ASCII, which a hostile unit may send.
        if not hmac.compare_digest(expected.encode(), _raw(p.get("response", ""))):
            return AuthResult(None, f"wrong digest response for user {user!r} (wrong password?)")
        if age > self.nonce_lifetime:
            return AuthResult(None, "nonce is stale", stale=True)
        return AuthResult(user, "ok")
