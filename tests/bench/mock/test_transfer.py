"""Tests for bench/mock/transfer.py against the bench's file server on 127.0.0.1: a download and an upload over
HTTP, FTP and SFTP, and the TR-069 fault code for a wrong password and a missing file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.mock import transfer
from bench.services.fileserver import FileServer
from bench.timeline import Timeline
from tests.bench.services.test_fileserver import free_ports

PROTOCOLS = ("http", "ftp", "sftp")


async def loopback(host: str) -> str:
    return "127.0.0.1"


@pytest.fixture(scope="module")
def fs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    http, ftp, sftp = free_ports(3)
    server = FileServer("", "127.0.0.1", tmp_path_factory.mktemp("fs"), Timeline(), ports={"http": http, "ftp": ftp, "sftp": sftp})  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_download_and_upload(fs: FileServer, proto: str) -> None:
    path = fs.add_file(f"/cm/{proto}.xml", b"<config/>", user="unit", password="pw")
    got = asyncio.run(transfer.fetch(fs.url(proto, path), "unit", "pw", loopback, None))
    assert got == b"<config/>"
    # the operator's upload folder, as 5.4.2 makes it
    fs.local("unit", "/pm").mkdir(parents=True, exist_ok=True)
    asyncio.run(transfer.put(fs.url(proto, f"/pm/{proto}-up.xml"), "unit", "pw", b"<pm/>", loopback, None))
    stored = list(fs.local("unit", "/pm").glob(f"{proto}-up*.xml"))
    assert [p.read_bytes() for p in stored] == [b"<pm/>"]


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_a_wrong_password_is_9012_and_a_missing_file_is_named(fs: FileServer, proto: str) -> None:
    path = fs.add_file(f"/cm/secret-{proto}.xml", b"x", user="unit", password="pw")
    with pytest.raises(transfer.TransferError) as refused:
        asyncio.run(transfer.fetch(fs.url(proto, path), "unit", "wrong", loopback, None))
    assert refused.value.code == transfer.SERVER_AUTH_FAILURE
    with pytest.raises(transfer.TransferError) as up_refused:
        asyncio.run(transfer.put(fs.url(proto, "/pm/x.xml"), "unit", "wrong", b"x", loopback, None))
    assert up_refused.value.code == transfer.SERVER_AUTH_FAILURE
    with pytest.raises(transfer.TransferError) as missing:
        asyncio.run(transfer.fetch(fs.url(proto, "/cm/none.xml"), "unit", "pw", loopback, None))
    assert missing.value.code in (transfer.CANNOT_ACCESS_FILE, transfer.TRANSFER_FAILURE), missing.value


def test_an_unknown_scheme_and_an_unreachable_server(fs: FileServer, tmp_path: Path) -> None:
    with pytest.raises(transfer.TransferError) as scheme:
        asyncio.run(transfer.fetch("tftp://files.example/x", "", "", loopback, None))
    assert scheme.value.code == transfer.UNSUPPORTED_PROTOCOL
    (closed,) = free_ports(1)
    with pytest.raises(transfer.TransferError) as down:
        asyncio.run(transfer.put(f"http://files.example:{closed}/x", "", "", b"x", loopback, None))
    assert down.value.code == transfer.CANNOT_CONTACT


def test_sftp_credentials_with_quotes_and_backslashes_reach_the_server(fs: FileServer) -> None:
    password = 'p"w\\x y'
    path = fs.add_file("/cm/quoted.xml", b"<q/>", user="unit", password=password)
    assert asyncio.run(transfer.fetch(fs.url("sftp", path), "unit", password, loopback, None)) == b"<q/>"


@pytest.fixture(scope="module")
def tls_fs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FileServer, Timeline, Path]]:
    """A file server with HTTPS from the operator CA and a second HTTPS port whose certificate, for the same
    name, comes from a CA the unit does not trust."""
    from bench.pki import CertificateAuthority, rogue_ca

    work = tmp_path_factory.mktemp("tls-fs")
    ca, rogue = CertificateAuthority(work / "pki"), rogue_ca(work / "rogue")
    http, https, untrusted, ftp, sftp = free_ports(5)
    ports = {"http": http, "https": https, "https-untrusted": untrusted, "ftp": ftp, "sftp": sftp}
    tl = Timeline()
    server = FileServer("", "127.0.0.1", work / "fs", tl, tls=ca.issue("127.0.0.1"), ports=ports,
                        untrusted=rogue.issue("127.0.0.1", file="untrusted"))  # fmt: skip
    server.start()
    try:
        yield server, tl, ca.files.cert
    finally:
        server.stop()


def test_a_file_server_with_an_untrusted_certificate_is_refused_with_9012(
    tls_fs: tuple[FileServer, Timeline, Path],
) -> None:
    fs, tl, ca = tls_fs
    path = fs.add_file("/cm/untrusted.xml", b"<config/>", user="unit", password="pw")
    assert asyncio.run(transfer.fetch(fs.url("https", path), "unit", "pw", loopback, ca)) == b"<config/>"
    mark = tl.mark()
    with pytest.raises(transfer.TransferError) as refused:
        asyncio.run(transfer.fetch(fs.untrusted_url(path), "unit", "pw", loopback, ca))
    assert refused.value.code == transfer.SERVER_AUTH_FAILURE and refused.value.text.startswith("TLS:")
    with pytest.raises(transfer.TransferError) as up:
        asyncio.run(transfer.put(fs.untrusted_url("/pm/x.xml"), "unit", "pw", b"<pm/>", loopback, ca))
    assert up.value.code == transfer.SERVER_AUTH_FAILURE
    # The file server saw each refusal (the client broke the handshake off), and served nothing.
    first = tl.wait_for(lambda e: e.kind == "tls-handshake-failed", 5, "the refused download", mark)
    tl.wait_for(lambda e: e.kind == "tls-handshake-failed", 5, "the refused upload", first.seq + 1)
    failed = [e for e in tl.events(mark) if e.kind == "tls-handshake-failed"]
    assert [(e.data["peer"], e.data["port"]) for e in failed] == [
        ("127.0.0.1", fs.ports["https-untrusted"])
    ] * 2
    assert not [e for e in tl.events(mark) if e.kind in ("download", "upload")]
    # A unit that checks nothing (knob accept_untrusted_file_server) fetches it: the event says from where.
    got = asyncio.run(transfer.fetch(fs.untrusted_url(path), "unit", "pw", loopback, ca, verify=False))
    assert got == b"<config/>"
    fetched = tl.wait_for(lambda e: e.kind == "download", 5, "the download", mark)
    assert fetched.data["cert"] == "untrusted" and fetched.data["path"] == path
