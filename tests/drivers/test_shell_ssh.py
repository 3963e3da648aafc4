"""Tests for drivers/shell/ssh.py (asyncssh) against a real SSH server (the simulated lab's) on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.lab.sim.ssh_server import SshServer, write_client_key
from drivers.errors import EquipmentError, UnitError
from drivers.shell import ShellDriver, SshShell


@pytest.fixture
def key(tmp_path: Path) -> tuple[Path, str]:
    return write_client_key(tmp_path)


@pytest.fixture
def server(key: tuple[Path, str]) -> Iterator[SshServer]:
    with SshServer(user="root", client_key=key[1]) as srv:
        yield srv


def shell(server: SshServer, key: Path, **kw: object) -> SshShell:
    return SshShell("127.0.0.1", "root", port=server.port, key_file=key, connect_timeout=3, **kw)  # type: ignore[arg-type]


def test_run_command(server: SshServer, key: tuple[Path, str]) -> None:
    with shell(server, key[0], unit="u1") as sh:
        sh_: ShellDriver = sh
        r = sh_.run("echo hello; echo oops >&2; exit 3", timeout=30)
        assert (r.exit_status, r.stdout, r.stderr, r.ok) == (3, "hello\n", "oops\n", False)
        assert sh.run("printf '%s' \"$((6*7))\"", timeout=30).stdout == "42"
        with pytest.raises(UnitError) as exc:
            sh.run("echo partial; false", timeout=5, check=True)
        assert "exited 1" in str(exc.value) and "partial" in str(exc.value)
        big = sh.run("head -c 300000 /dev/zero | tr '\\0' x", timeout=10)
        assert big.stdout == "x" * 300000


def test_run_timeout_is_device_error_with_last_output(server: SshServer, key: tuple[Path, str]) -> None:
    with shell(server, key[0]) as sh:
        t0 = time.monotonic()
        with pytest.raises(UnitError) as exc:
            sh.run("echo started; sleep 30", timeout=0.5)
        assert time.monotonic() - t0 < 3
        assert "0.5 s" in str(exc.value) and "sleep 30" in str(exc.value) and "started" in str(exc.value)
        assert sh.run("echo still usable", timeout=30).stdout == "still usable\n"


def test_get_and_put_over_sftp(server: SshServer, key: tuple[Path, str], tmp_path: Path) -> None:
    remote = tmp_path / "unit"
    remote.mkdir()
    (remote / "core.fapd").write_bytes(bytes(range(256)) * 100)
    with shell(server, key[0]) as sh:
        sh.get(str(remote / "core.fapd"), tmp_path / "bundle" / "core.fapd")
        assert (tmp_path / "bundle" / "core.fapd").read_bytes() == bytes(range(256)) * 100
        (tmp_path / "fw.img").write_bytes(b"\x00firmware\xff")
        sh.put(tmp_path / "fw.img", str(remote / "fw.img"))
        assert (remote / "fw.img").read_bytes() == b"\x00firmware\xff"
        with pytest.raises(UnitError, match="no-such-file"):
            sh.get(str(remote / "no-such-file"), tmp_path / "x")


def test_get_and_put_without_sftp(key: tuple[Path, str], tmp_path: Path) -> None:
    (tmp_path / "messages").write_text("log line\n")
    with SshServer(client_key=key[1], sftp=False) as srv, shell(srv, key[0]) as sh:
        sh.get(str(tmp_path / "messages"), tmp_path / "got")
        assert (tmp_path / "got").read_text() == "log line\n"
        sh.put(tmp_path / "got", str(tmp_path / "put back"))
        assert (tmp_path / "put back").read_text() == "log line\n"
        with pytest.raises(UnitError, match="No such file"):
            sh.get(str(tmp_path / "nope"), tmp_path / "x")


def test_wrong_key_and_password_are_infra_errors(server: SshServer, tmp_path: Path) -> None:
    other_key, _ = write_client_key(tmp_path / "other" if (tmp_path / "other").mkdir() is None else tmp_path)
    with pytest.raises(EquipmentError) as exc:
        shell(server, other_key, unit="u9").run("true")
    assert f"root@127.0.0.1:{server.port}" in str(exc.value) and "authentication failed" in str(exc.value)
    assert "u9" in str(exc.value)
    bad = SshShell("127.0.0.1", "root", port=server.port, password="pw-never-printed", connect_timeout=3)
    with pytest.raises(EquipmentError) as exc:
        bad.run("true")
    assert "pw-never-printed" not in str(exc.value) + repr(bad) and "(password)" in str(exc.value)


def test_password_login(tmp_path: Path) -> None:
    with SshServer(user="admin", password="letmein") as srv:
        sh = SshShell("127.0.0.1", "admin", port=srv.port, password="letmein", connect_timeout=3)
        assert sh.run("echo ok").stdout == "ok\n"
        sh.close()


def test_pinned_host_key(server: SshServer, key: tuple[Path, str]) -> None:
    with shell(server, key[0], host_key=server.host_key_line) as sh:
        assert sh.run("true").ok
    fingerprint = server.host_key.get_fingerprint("sha256")
    assert fingerprint.startswith("SHA256:")
    with shell(server, key[0], host_key=fingerprint) as sh:
        assert sh.run("true").ok
    with pytest.raises(EquipmentError, match="host key does not match"):
        shell(server, key[0], host_key="SHA256:" + "A" * 43).run("true")
    with pytest.raises(EquipmentError, match="host key does not match"):
        shell(server, key[0], host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKey").run("true")


def test_unreachable_and_server_gone(key: tuple[Path, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EquipmentError, match=rf"ssh root@127.0.0.1:{port}: cannot connect"):
        SshShell("127.0.0.1", "root", port=port, key_file=key[0], connect_timeout=1).run("true")
    srv = SshServer(client_key=key[1]).start()
    sh = shell(srv, key[0])
    assert sh.run("true").ok
    srv.stop()
    with pytest.raises((EquipmentError, UnitError)):
        sh.run("true", timeout=2)
    sh.close()
