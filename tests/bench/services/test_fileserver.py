"""Tests for bench/services/fileserver.py on 127.0.0.1: FTP logins as a unit makes them."""

from __future__ import annotations

import asyncio
import ftplib
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bench.services.fileserver import FileServer
from bench.timeline import Event, Timeline


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


def uploads(tl: Timeline, since: int, n: int) -> list[Event]:
    seen: list[Event] = []
    for _ in range(n):
        start = seen[-1].seq + 1 if seen else since
        seen.append(
            tl.wait_for(lambda e: e.source == "fileserver" and e.kind == "upload", 20, "an upload", start)
        )
    return seen


def test_an_ftp_upload_began_when_the_unit_connected(server: tuple[FileServer, Timeline]) -> None:
    """A PM schedule is judged by when each upload began: the first file of a session when the unit connected
    (its login may be slow), a later one on the same session when it was sent."""
    fs, tl = server
    fs.add_user("pm", "right")
    mark = tl.mark()
    connected = time.time()
    client = ftplib.FTP(timeout=20)
    client.connect("127.0.0.1", fs.ports["ftp"])
    try:
        client.login("pm", "right")
        time.sleep(0.5)  # a slow login, as seen from the schedule
        client.storbinary("STOR a.xml", io.BytesIO(b"<a/>"))
        time.sleep(0.5)
        second = time.time()
        client.storbinary("STOR b.xml", io.BytesIO(b"<b/>"))
    finally:
        client.close()
    first, later = uploads(tl, mark, 2)
    # By the kernel's clock, to its tick (4 ms at HZ 250): the connection may date from just before `connected`.
    assert -0.01 <= first.data["began"] - connected < 0.3 and first.t - connected >= 0.5, first
    assert 0 <= later.data["began"] - second < 0.3, later


def test_an_sftp_upload_began_when_the_unit_connected(server: tuple[FileServer, Timeline]) -> None:
    import asyncssh

    fs, tl = server
    fs.add_user("pm", "right")
    mark = tl.mark()

    async def session() -> tuple[float, float]:
        connected = time.time()
        async with asyncssh.connect(
            "127.0.0.1", fs.ports["sftp"], username="pm", password="right", known_hosts=None
        ) as conn:
            await asyncio.sleep(0.5)  # the SSH handshake and login of a slow unit
            async with conn.start_sftp_client() as sftp:
                async with sftp.open("a.xml", "wb") as fh:
                    await fh.write(b"<a/>")
                await asyncio.sleep(0.5)
                second = time.time()
                async with sftp.open("b.xml", "wb") as fh:
                    await fh.write(b"<b/>")
        return connected, second

    connected, second = asyncio.run(session())
    first, later = uploads(tl, mark, 2)
    assert first.data["path"] == "/a.xml" and later.data["path"] == "/b.xml"
    # By the kernel's clock, to its tick (4 ms at HZ 250): the connection may date from just before `connected`.
    assert -0.01 <= first.data["began"] - connected < 0.3 and first.t - connected >= 0.5, first
    assert 0 <= later.data["began"] - second < 0.3, later


def test_caught_up_waits_for_an_ftp_download_the_unit_already_has(
    server: tuple[FileServer, Timeline], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyftpdlib answers 226 before its hook records the download: a unit quick to report it (a TransferComplete)
    can reach the HeMS while a busy bench's FTP thread has not recorded it yet, and 5.2.2 judged "fetched" from the
    timeline at once. A slow record (the thread preempted after the 226) forces it; caught_up() waits for it."""
    fs, tl = server
    fs.add_file("/cm/unit.cfg", b"<config/>", "cm", "secret")
    record = fs._event

    def late(kind: str, **data: object) -> None:
        if kind == "download":
            time.sleep(1.0)
        record(kind, **data)  # type: ignore[arg-type]

    monkeypatch.setattr(fs, "_event", late)
    client = ftplib.FTP(timeout=20)
    client.connect("127.0.0.1", fs.ports["ftp"])
    got = io.BytesIO()
    try:
        client.login("cm", "secret")
        client.retrbinary("RETR /cm/unit.cfg", got.write)  # the whole file, and the 226
    finally:
        client.close()
    assert got.getvalue() == b"<config/>"
    fetched = lambda e: e.source == "fileserver" and e.kind == "download"  # noqa: E731
    assert tl.first(fetched) is None  # what a plan asking at once saw
    assert fs.caught_up(20)
    assert tl.first(fetched) is not None


def test_an_ftp_upload_began_when_the_unit_connected_however_late_the_server(
    server: tuple[FileServer, Timeline],
) -> None:
    """The FTP thread got to a new connection late on a busy bench and stamped that as the upload's beginning: the
    PM interval (1 s +- 0.6 s in the suite) is judged by those stamps. A thread held 1 s forces it; the kernel's
    TCP_INFO says when the connection was made."""
    fs, tl = server
    fs.add_user("pm", "right")
    mark = tl.mark()
    client = ftplib.FTP(timeout=20)
    with fs._rounds:  # the FTP thread stops at the end of its round
        time.sleep(0.3)
        connected = time.time()
        banner = threading.Thread(target=client.connect, args=("127.0.0.1", fs.ports["ftp"]))
        banner.start()  # the kernel accepts; the server's greeting waits for its thread
        time.sleep(1.0)
    banner.join(20)
    try:
        client.login("pm", "right")
        client.storbinary("STOR late.xml", io.BytesIO(b"<a/>"))
    finally:
        client.close()
    (up,) = uploads(tl, mark, 1)
    assert -0.01 <= up.data["began"] - connected < 0.3, (up.data["began"] - connected, up)
