"""Tests for bench/services/fileserver.py on 127.0.0.1: FTP logins as a unit makes them."""

from __future__ import annotations

import ftplib
import io
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bench.services.fileserver import FileServer
from bench.timeline import Timeline


def free_ports(n: int) -> list[int]:
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[FileServer, Timeline]]:
    tl = Timeline()
    http, ftp, sftp = free_ports(3)
    fs = FileServer("", "127.0.0.1", tmp_path, tl, ports={"http": http, "ftp": ftp, "sftp": sftp})
    fs.start()
    try:
        yield fs, tl
    finally:
        fs.stop()


def test_a_failed_ftp_login_is_refused_and_recorded(server: tuple[FileServer, Timeline]) -> None:
    # pyftpdlib answers a failed login from a scheduled call: a server loop that never runs those leaves the
    # unit waiting for its own timeout, and the bench sees no upload and no refused login either.
    fs, tl = server
    fs.add_user("pm", "right")
    client = ftplib.FTP(timeout=20)
    client.connect("127.0.0.1", fs.ports["ftp"])
    try:
        with pytest.raises(ftplib.error_perm, match="^530"):
            client.login("pm", "wrong")
    finally:
        client.close()
    ev = tl.wait_for(
        lambda e: e.source == "fileserver" and e.kind == "auth-failed", 20, "a refused FTP login"
    )
    assert ev.data["proto"] == "ftp" and ev.data["user"] == "pm" and ev.data["status"] == 530
    client = ftplib.FTP(timeout=20)
    client.connect("127.0.0.1", fs.ports["ftp"])
    try:
        client.login("pm", "right")
        client.storbinary("STOR up.xml", io.BytesIO(b"<x/>"))
    finally:
        client.close()
    up = tl.wait_for(lambda e: e.source == "fileserver" and e.kind == "upload", 20, "the FTP upload")
    assert up.data["user"] == "pm" and up.data["path"] == "/up.xml" and up.data["status"] == 226
