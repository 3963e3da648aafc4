"""Authorization header parsing as real units write it: Digest parameters through the stdlib's list and
key=value parsing, Basic credentials (RFC 7617) by bench.httpauth.basic_credentials."""

from __future__ import annotations

import base64

from bench.httpauth import Authenticator, parse_auth_params


def test_digest_parameters_quoted_bare_spaced_escaped_and_stray() -> None:
    text = (
        'Username="hen\\"b", realm="a, b", nonce=abc, QOP=auth, nc = 00000001, cnonce="", uri="/cwmp", '
        "stray, algorithm="
    )
    assert parse_auth_params(text) == {
        "username": 'hen"b',
        "realm": "a, b",
        "nonce": "abc",
        "qop": "auth",
        "nc": "00000001",
        "cnonce": "",
        "uri": "/cwmp",
        "algorithm": "",
    }


def test_an_empty_algorithm_is_refused_not_taken_for_md5() -> None:
    auth = Authenticator("digest", {"u": "p"}, realm="r")
    result = auth.check("POST", "/", 'Digest username="u", realm="r", algorithm=, uri="/"')
    assert result.user is None and result.reason == "algorithm , expected MD5"


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_basic_credentials_good_and_bad() -> None:
    auth = Authenticator("basic", {"henb": "pä:ss"})
    assert auth.check("POST", "/", basic("henb:pä:ss".encode())).user == "henb"
    assert auth.check("POST", "/", basic(b"henb:wrong")).reason == "wrong password for user 'henb'"
    for bad in (basic(b"no-colon"), basic(b"henb:\xff"), "Basic !!!", "Basic"):
        assert auth.check("POST", "/", bad).reason == "Basic credentials are not base64 user:password", bad
    assert auth.check("POST", "/", "Digest x=1").reason == "Digest Authorization, expected Basic"
