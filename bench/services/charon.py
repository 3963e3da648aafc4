"""strongSwan charon, one per namespace, with kernel-libipsec (no kernel ESP here) and controlled over VICI."""

from __future__ import annotations

import contextlib
import socket
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import vici

from bench.errors import InfraError
from bench.services.process import Daemon, netns_command

CHARON = "/usr/lib/ipsec/charon"
# kdf is needed for PRF_HMAC_SHA2_256; kernel-libipsec must come before kernel-netlink (else no SAD entries).
PLUGINS = (
    "random nonce openssl pem pkcs1 pkcs8 x509 pubkey kdf constraints resolve "
    "kernel-libipsec kernel-netlink socket-default vici"
)


def strongswan_conf(workdir: Path, retransmit_timeout: float = 2.0, retransmit_tries: int = 3) -> str:
    return f"""charon {{
  load_modular = no
  load = {PLUGINS}
  retransmit_timeout = {retransmit_timeout}
  retransmit_base = 1.4
  retransmit_tries = {retransmit_tries}
  install_virtual_ip = yes
  syslog {{
    daemon {{
      default = -1
    }}
  }}
  filelog {{
    log {{
      path = {workdir}/charon.log
      time_format = %F %T
      default = 1
      flush_line = yes
    }}
  }}
  plugins {{
    vici {{
      socket = unix://{workdir}/charon.vici
    }}
    resolve {{
      file = {workdir}/resolv.conf
    }}
  }}
}}
"""


def close_session(session: Any) -> None:
    """Close a VICI session's socket; a listener blocked on it wakes up and ends."""
    with contextlib.suppress(OSError, AttributeError):
        session.handler.transport.socket.close()


class Charon:
    """A charon daemon in `netns` with its own /run, config and VICI socket under `workdir`.

    With netns None the caller is already inside the namespace and a private /run (the mock unit).
    """

    def __init__(
        self,
        name: str,
        workdir: Path,
        netns: str | None,
        retransmit_timeout: float = 2.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.env = env or {}
        self.workdir = workdir
        self.netns = netns
        self.retransmit_timeout = retransmit_timeout
        self.vici_path = workdir / "charon.vici"
        self.resolv_path = workdir / "resolv.conf"
        self.daemon: Daemon | None = None
        self._sock: socket.socket | None = None
        self.session: Any = None

    @property
    def pid(self) -> int | None:
        return self.daemon.pid if self.daemon else None

    def start(self, timeout: float = 10.0) -> None:
        run = self.workdir / "run"
        run.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "strongswan.conf"
        conf.write_text(strongswan_conf(self.workdir, self.retransmit_timeout))
        self.vici_path.unlink(missing_ok=True)
        argv = netns_command(self.netns, [CHARON], private_run=run if self.netns else None)
        self.daemon = Daemon(
            self.name,
            argv,
            self.workdir / "charon.out",
            env={"STRONGSWAN_CONF": str(conf), **self.env},
            comm="charon",
        )
        self.daemon.start()
        self.session = self.connect(timeout)

    def connect(self, timeout: float = 10.0) -> Any:
        """A new VICI session (one per thread that uses it: event listening blocks its session)."""

        def connect_once() -> Any:
            if self.daemon is not None:
                self.daemon.check_alive()  # a daemon that died is not waited for
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(self.vici_path))
            except OSError:
                s.close()
                raise
            return vici.Session(s)

        # Tried every 20 ms while it refuses, up to `timeout` (a plain loop, not tenacity: every mock unit's
        # process starts a charon, and tenacity's import was a twentieth of that process's start).
        began = time.monotonic()
        while True:
            try:
                return connect_once()
            except OSError as exc:
                if time.monotonic() - began >= timeout:
                    raise InfraError(
                        f"{self.name}: VICI socket {self.vici_path} did not answer in {timeout:g} s ({exc}); "
                        f"log {self.workdir / 'charon.log'}"
                    ) from None
            time.sleep(0.02)

    def load_ca(self, pem: bytes) -> None:
        self.call("load_cert", {"type": "X509", "flag": "CA", "data": pem})

    def load_identity(self, cert_pem: bytes, key_pem: bytes) -> None:
        self.call("load_cert", {"type": "X509", "flag": "NONE", "data": cert_pem})
        self.call("load_key", {"type": "ecdsa", "data": key_pem})

    def load_pool(self, name: str, addrs: str, dns: list[str]) -> None:
        self.call("load_pool", {name: {"addrs": addrs, "dns": dns}})

    def load_conn(self, name: str, conn: dict[str, Any]) -> None:
        self.call("load_conn", OrderedDict({name: conn}))

    def call(self, command: str, args: dict[str, Any]) -> Any:
        fn = getattr(self.session, command)
        try:
            result = fn(args)
        except Exception as exc:  # vici raises CommandException with charon's own message
            raise InfraError(f"{self.name}: VICI {command} failed: {exc}") from exc
        return result

    def stop(self) -> None:
        if self.session is not None:
            close_session(self.session)
            self.session = None
        if self.daemon is not None:
            self.daemon.stop()
