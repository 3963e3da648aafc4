"""The mock unit's file transfers as the Download and Upload RPCs ask for them: fetch, check and apply a
configuration file (all or nothing), upload its configuration or log, report TransferComplete with the fault
code of the TR-069 amendment it implements."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from bench import configfile, cwmp, transfer_faults
from bench.knobs import Knob
from bench.mock import transfer, vendorfile
from bench.mock.alarms import now_iso
from bench.mock.config import MockConfig
from bench.mock.datamodel import DataModel
from bench.mock.flash import Flash

# Units that fetch and check a configuration file within the Download RPC, answer Status 1 and apply it only at
# their next boot, which the HeMS orders (docs/s1-and-delayed-apply.md).
AT_BOOT = {Knob.DOWNLOAD_APPLIED_AT_REBOOT, Knob.DOWNLOAD_STATUS_1_NEVER_APPLIED, Knob.STATUS_1_NO_M_REBOOT}


class Unit(Protocol):
    """What the transfers need of the unit's core."""

    cfg: MockConfig
    knobs: set[str]
    ns: str
    device_id: cwmp.DeviceId
    model: DataModel
    flash: Flash
    serving: tuple[str, str] | None
    requests: list[dict[str, Any]]
    log_lines: list[str]
    at_boot: list[tuple[dict[str, str], str, str, str]]

    def log(self, msg: str) -> None: ...
    def notify(
        self, events: dict[str, str], params: list[str] | None = None, at_once: bool = True
    ) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...
    def restart(self, kind: str, key: str = "") -> None: ...
    async def resolve_private(self, host: str) -> str: ...


class Transfers:
    """The transfers of `unit`, which keeps their TransferComplete requests until a session carries them."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    @staticmethod
    def transfer_request(key: str, code: int, text: str, start: str) -> dict[str, Any]:
        return {
            "method": "TransferComplete",
            "command_key": key,
            "fault_code": code,
            "fault_string": text,
            "start": start,
            "end": now_iso(),
        }

    def transfer_done(self, method: str, key: str, code: int, text: str, start: str) -> None:
        request = self.transfer_request(key, code, text, start)
        if method == "M Download" and Knob.TRANSFER_COMPLETE_WRONG_KEY in self.unit.knobs:
            request["command_key"] = ""
            self.unit.log(f"bug: TransferComplete for Download {key!r} with an empty CommandKey")
        if method == "M Download" and Knob.TRANSFER_COMPLETE_BAD_TIMES in self.unit.knobs:
            end = datetime.fromisoformat(request["start"].replace("Z", "+00:00")) - timedelta(hours=1)
            request["end"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.unit.log("bug: TransferComplete with CompleteTime an hour before StartTime")
        self.unit.requests.append(request)
        if Knob.NO_M_DOWNLOAD_EVENT in self.unit.knobs and method == "M Download":
            self.unit.log("bug: reporting the Download without M Download in the Inform")
            self.unit.notify({"7 TRANSFER COMPLETE": ""})
            return
        self.unit.notify({"7 TRANSFER COMPLETE": "", method: key})

    def verify_server(self) -> bool:
        """Check the file server's certificate (the operator CA, the name); not with accept_untrusted_file_server."""
        if Knob.ACCEPT_UNTRUSTED_FILE_SERVER in self.unit.knobs:
            self.unit.log("bug: not checking the file server's certificate")
            return False
        return True

    def fault_code(self, code: int, upload: bool = False) -> int:
        """`code` as the TR-069 amendment the unit implements has it (CWMP 1.0: 9010 for most download
        failures); with download_wrong_fault, as the other amendment family has it."""
        amendment = int(self.unit.cfg.cwmp_amendment)
        if Knob.DOWNLOAD_WRONG_FAULT in self.unit.knobs and not upload:
            return code if amendment <= 1 else transfer_faults.for_amendment(code, 1)
        return transfer_faults.for_amendment(code, amendment, upload)

    async def fetch_config(self, a: dict[str, str]) -> dict[str, str]:
        """Fetch a configuration file and check all of it (the bench's XML, or the unit's own format);
        TransferError (code as TR-069 Amendment 2 on has it) on any failure, nothing applied."""
        url = a.get("URL", "")
        self.unit.log(f"download: {url} (user {a.get('Username') or '-'})")
        try:
            data = await transfer.fetch(
                url,
                a.get("Username", ""),
                a.get("Password", ""),
                self.unit.resolve_private,
                Path(self.unit.cfg.ca),
                self.verify_server(),
            )
        except transfer.TransferError as exc:
            refused_tls = exc.code == transfer.SERVER_AUTH_FAILURE and exc.text.startswith("TLS:")
            if refused_tls and Knob.TLS_REFUSAL_AS_CONTACT_FAILURE in self.unit.knobs:
                self.unit.log("bug: reporting a refused file server certificate as 'cannot contact'")
                raise transfer.TransferError(transfer.CANNOT_CONTACT, exc.text) from None
            raise
        size = int(a.get("FileSize") or "0")
        if size and len(data) != size:
            raise transfer.TransferError(transfer.INCOMPLETE, f"got {len(data)} bytes, FileSize {size}")
        try:
            values = vendorfile.parse(data) if data[:2] == vendorfile.MAGIC else configfile.parse(data)
        except ValueError as exc:
            raise transfer.TransferError(
                transfer.FILE_CORRUPTED, f"not a valid configuration file: {exc}"
            ) from None
        faults = self.unit.model.check(values)
        if faults:
            if Knob.PARTIAL_DOWNLOAD in self.unit.knobs:
                bad = {f[0] for f in faults}
                for name, value in values.items():
                    if name not in bad:
                        self.unit.model.params[name].value = value
                self.unit.log(f"bug: applied {len(values) - len(bad)} parameter(s) of a refused file")
            shown = "; ".join(f"{n}: {c} {t}" for n, c, t in faults[:5])
            raise transfer.TransferError(transfer.FILE_CORRUPTED, f"configuration refused: {shown}")
        return values

    def apply_config(self, values: dict[str, str], url: str) -> None:
        for name, value in values.items():
            self.unit.model.params[name].value = value
        self.unit.log(f"download: applied {len(values)} parameter(s) from {url}")

    async def download_now(self, env: cwmp.Envelope, held: bool = False) -> bytes:
        """download_status_0: fetch and apply within the RPC; DownloadResponse Status 0 (applied), or a fault.
        `held` (AT_BOOT): fetched and checked within the RPC, kept for the next boot: Status 1, or a fault."""
        args = {c.tag: (c.text or "") for c in env.body if isinstance(c.tag, str)}
        if args.get("FileType") != "3 Vendor Configuration File":
            return cwmp.fault(
                self.unit.ns, env.id, 9003, f"FileType {args.get('FileType')!r} not supported (only 3)"
            )
        start = now_iso()
        try:
            values = await self.fetch_config(args)
        except transfer.TransferError as exc:
            code = self.fault_code(exc.code)
            self.unit.log(f"download: failed {code} {exc.text}; nothing applied")
            return cwmp.fault(self.unit.ns, env.id, code, exc.text)
        url = args.get("URL", "")
        if held:
            self.unit.at_boot.append((values, url, args.get("CommandKey", ""), start))
            self.unit.log(f"download: {url} checked; applied at the next boot (Status 1)")
            return cwmp.response(self.unit.ns, env.id, "Download", status=1)
        if Knob.TRANSFER_COMPLETE_BEFORE_APPLY in self.unit.knobs:
            self.unit.log("bug: answered Status 0 (applied) before applying the configuration")

            async def later() -> None:
                await asyncio.sleep(1.5)
                self.apply_config(values, url)

            self.unit.spawn(later())
        else:
            self.apply_config(values, url)
        return cwmp.response(
            self.unit.ns, env.id, "Download", status=0, start_time=start, complete_time=now_iso()
        )

    async def download(self, a: dict[str, str]) -> None:
        """Download FileType 3: fetch, check, apply all or nothing; TransferComplete only after applying
        (reboot_on_config_download: after the reboot that applies it, in the boot Inform's session)."""
        key, url = a.get("CommandKey", ""), a.get("URL", "")
        await asyncio.sleep(int(a.get("DelaySeconds") or "0"))
        start = now_iso()
        if Knob.DOWNLOAD_NOT_FETCHED in self.unit.knobs:
            self.unit.log("bug: reporting the download done without fetching it")
            self.transfer_done("M Download", key, 0, "", start)
            return
        try:
            values = await self.fetch_config(a)
        except transfer.TransferError as exc:
            code = self.fault_code(exc.code)
            self.unit.log(f"download: failed {code} {exc.text}; nothing applied")
            self.transfer_done("M Download", key, code, exc.text, start)
            return
        if Knob.TRANSFER_COMPLETE_BEFORE_APPLY in self.unit.knobs:
            self.transfer_done("M Download", key, 0, "", start)
            self.unit.log("bug: reported TransferComplete before applying the configuration")
            await asyncio.sleep(1.5)
        self.apply_config(values, url)
        if Knob.TRANSFER_COMPLETE_BEFORE_APPLY in self.unit.knobs:
            return
        if {Knob.REBOOT_ON_CONFIG_DOWNLOAD, Knob.NO_TRANSFER_COMPLETE_AFTER_REBOOT} & self.unit.knobs:
            if Knob.NO_TRANSFER_COMPLETE_AFTER_REBOOT in self.unit.knobs:
                self.unit.log("bug: rebooting to apply the configuration; no TransferComplete after the boot")
            else:
                self.unit.requests.append(self.transfer_request(key, 0, "", start))
            self.unit.log("download: rebooting to apply the configuration")
            self.unit.flash.save(self.unit.model, self.unit.serving)
            self.unit.restart("download", key)
            return
        self.transfer_done("M Download", key, 0, "", start)

    def apply_at_boot(self) -> list[tuple[str, str]]:
        """At a boot: the downloads held for it (download_applied_at_reboot) applied, their TransferComplete
        queued for the boot session; the events that report them (M Download, 7 TRANSFER COMPLETE)."""
        held, self.unit.at_boot = self.unit.at_boot, []
        events: list[tuple[str, str]] = []
        for values, url, key, start in held:
            if Knob.DOWNLOAD_STATUS_1_NEVER_APPLIED in self.unit.knobs:
                self.unit.log(f"bug: reporting Download {key!r} applied at boot without applying it")
            else:
                self.apply_config(values, url)
            self.unit.requests.append(self.transfer_request(key, 0, "", start))
            events.append(("M Download", key))
        return [*events, ("7 TRANSFER COMPLETE", "")] if events else []

    async def upload(self, a: dict[str, str]) -> None:
        key, url = a.get("CommandKey", ""), a.get("URL", "")
        await asyncio.sleep(int(a.get("DelaySeconds") or "0"))
        start = now_iso()
        if a.get("FileType") == "1 Vendor Configuration File":
            data = configfile.build(
                {n: p.value for n, p in self.unit.model.params.items() if p.writable and not p.secret}
            )
            name = f"{self.unit.device_id.serial_number}-config.xml"
        else:
            data = ("\n".join(self.unit.log_lines) + "\n").encode()
            name = f"{self.unit.device_id.serial_number}-log.txt"
        if url.endswith("/"):
            url += name
        try:
            await transfer.put(
                url,
                a.get("Username", ""),
                a.get("Password", ""),
                data,
                self.unit.resolve_private,
                Path(self.unit.cfg.ca),
                self.verify_server(),
            )
            self.unit.log(f"upload: {len(data)} bytes to {url}")
            self.transfer_done("M Upload", key, 0, "", start)
        except transfer.TransferError as exc:
            code = self.fault_code(exc.code, upload=True)
            self.unit.log(f"upload: failed {code} {exc.text}")
            self.transfer_done("M Upload", key, code, exc.text, start)
