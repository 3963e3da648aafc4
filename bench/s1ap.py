"""S1AP (TS 36.413) messages the bench and the mock unit exchange, encoded and decoded with pycrate's ASN.1
S1AP module (aligned PER): S1 Setup, eNB Configuration Update, and the names and fields of anything else.
pycrate loads at the first message (12 MiB): the numbers and plmn_bytes here are also the mock's codec's.

Importing pycrate's S1AP module builds its 11,000 objects and binds them (0.2-0.3 s of CPU, at every run); the
built objects are kept pickled in the user's cache (`cache_file()`, 1 MB, per pycrate installation and Python)
and a later process loads them in less than half of that. The pickle is the module's own objects, its modules'
registry (pycrate's GLOBAL.MOD) included, so encoding and decoding are pycrate's."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Any

PPID = 18  # S1AP's SCTP payload protocol identifier (TS 36.412)
PORT = 36412
PROC_S1_SETUP, PROC_ENB_CONFIG_UPDATE = 17, 29
ID_CAUSE, ID_GLOBAL_ENB_ID, ID_ENBNAME, ID_MMENAME, ID_SUPPORTED_TAS = 2, 59, 60, 61, 64
ID_TIME_TO_WAIT, ID_RELATIVE_MME_CAPACITY, ID_SERVED_GUMMEIS, ID_DEFAULT_PAGING_DRX = 65, 87, 105, 137
TIME_TO_WAIT = ("v1s", "v2s", "v5s", "v10s", "v20s", "v60s")


def cache_file() -> Path | None:
    """Where the built S1AP objects are kept: named after pycrate's S1AP module file (size, modification time) and
    the Python version, so that another pycrate or Python builds them anew; None without pycrate."""
    import hashlib
    import pickle  # here, not at the top: the mock's S1AP codec imports this module for its numbers

    spec = importlib.util.find_spec("pycrate_asn1dir")
    if spec is None or spec.origin is None:
        return None
    try:
        st = (Path(spec.origin).parent / "S1AP.py").stat()
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except (OSError, RuntimeError, KeyError):  # no such module file, no home: no cache, pycrate's import
        return None
    key = hashlib.sha256(f"{sys.version}|{st.st_size}|{st.st_mtime_ns}|{pickle.HIGHEST_PROTOCOL}".encode())
    return base / "henb-bench" / f"s1ap-{key.hexdigest()[:16]}.pickle"


def _load_cached(path: Path) -> Any:
    """The cached S1AP-PDU, its modules put into pycrate's registry; None when there is no usable cache (a file
    someone else could have written is not loaded)."""
    import pickle

    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None
            pdu, mods = pickle.load(f)
    except Exception:  # absent, cut short, or from another pycrate: build it anew
        return None
    from pycrate_asn1rt.glob import GLOBAL

    for name, mod in mods.items():
        if name not in GLOBAL.MOD:  # an ASN1Dict: no setdefault
            GLOBAL.MOD[name] = mod
    return pdu


def _write_cache(path: Path, pdu: Any, modules: list[str]) -> None:
    import pickle
    import tempfile

    from pycrate_asn1rt.glob import GLOBAL

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    except OSError:
        return  # a cache that cannot be written costs the next run the import, nothing else
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump((pdu, {m: GLOBAL.MOD[m] for m in modules}), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # whole or not at all: another process may be reading it
    except Exception:  # noqa: BLE001  # full disk, or objects another pycrate cannot pickle: no cache, no error
        with contextlib.suppress(OSError):
            os.unlink(tmp)


@functools.cache
def _pdu() -> Any:
    path = cache_file() if "pycrate_asn1dir.S1AP" not in sys.modules else None
    if path is not None and (pdu := _load_cached(path)) is not None:
        return pdu
    from pycrate_asn1dir import S1AP

    pdu = S1AP.S1AP_PDU_Descriptions.S1AP_PDU
    if path is not None:
        # the ASN.1 modules the import registered (each a class of its objects: S1AP-IEs, S1AP-PDU-Contents, ...)
        mods: list[Any] = [m for m in vars(S1AP).values() if isinstance(m, type) and "_all_" in vars(m)]
        _write_cache(path, pdu, [m._name_ for m in mods])
    return pdu


def preload() -> None:
    """Load pycrate now (the MME stand-in at its start), not while a unit waits for an answer."""
    _pdu()


_lock = threading.Lock()  # pycrate keeps the value in the (module-level) type object


def plmn_bytes(plmn: str) -> bytes:
    """MCC+MNC digits ("00101", "310410") as the 3-octet TBCD PLMN identity (TS 24.008 10.5.1.13)."""
    if not plmn.isdigit() or len(plmn) not in (5, 6):
        raise ValueError(f"expected MCC+MNC as 5 or 6 digits, found {plmn!r}")
    d = [int(c) for c in plmn]
    mnc3 = d[5] if len(d) == 6 else 0xF
    return bytes([d[1] << 4 | d[0], mnc3 << 4 | d[2], d[4] << 4 | d[3]])


def plmn_str(raw: bytes) -> str:
    digits = [raw[0] & 0xF, raw[0] >> 4, raw[1] & 0xF, raw[2] & 0xF, raw[2] >> 4, raw[1] >> 4]
    return "".join(str(x) for x in digits if x != 0xF)


def _ie(ie_id: int, criticality: str, kind: str, value: Any) -> dict[str, Any]:
    return {"id": ie_id, "criticality": criticality, "value": (kind, value)}


def _encode(kind: str, proc: int, name: str, ies: list[dict[str, Any]]) -> bytes:
    with _lock:
        pdu = _pdu()
        pdu.set_val(
            (kind, {"procedureCode": proc, "criticality": "reject", "value": (name, {"protocolIEs": ies})})
        )
        return bytes(pdu.to_aper())


def _tas(tac: int, plmns: list[str]) -> dict[str, Any]:
    return _ie(ID_SUPPORTED_TAS, "reject", "SupportedTAs",
               [{"tAC": tac.to_bytes(2, "big"), "broadcastPLMNs": [plmn_bytes(p) for p in plmns]}])  # fmt: skip


def s1_setup_request(enb_id: int, plmn: str, tac: int, name: str = "", paging_drx: str = "v128") -> bytes:
    """A HeNB's S1 Setup Request: Global eNB ID with the 28-bit Home eNB ID (the cell identity), one TA."""
    ies = [_ie(ID_GLOBAL_ENB_ID, "reject", "Global-ENB-ID",
               {"pLMNidentity": plmn_bytes(plmn), "eNB-ID": ("homeENB-ID", (enb_id, 28))})]  # fmt: skip
    if name:
        ies.append(_ie(ID_ENBNAME, "ignore", "ENBname", name))
    ies += [_tas(tac, [plmn]), _ie(ID_DEFAULT_PAGING_DRX, "ignore", "PagingDRX", paging_drx)]
    return _encode("initiatingMessage", PROC_S1_SETUP, "S1SetupRequest", ies)


def enb_configuration_update(plmn: str, tac: int) -> bytes:
    """eNB Configuration Update carrying the supported TAs after a TAC or PLMN change."""
    return _encode("initiatingMessage", PROC_ENB_CONFIG_UPDATE, "ENBConfigurationUpdate", [_tas(tac, [plmn])])


def s1_setup_response(
    plmn: str, mme_name: str = "henb-bench-mme", mmegi: int = 0x8001, mmec: int = 1
) -> bytes:
    gummeis = [{"servedPLMNs": [plmn_bytes(plmn)], "servedGroupIDs": [mmegi.to_bytes(2, "big")],
                "servedMMECs": [mmec.to_bytes(1, "big")]}]  # fmt: skip
    ies = [
        _ie(ID_MMENAME, "ignore", "MMEname", mme_name),
        _ie(ID_SERVED_GUMMEIS, "reject", "ServedGUMMEIs", gummeis),
        _ie(ID_RELATIVE_MME_CAPACITY, "ignore", "RelativeMMECapacity", 255),
    ]
    return _encode("successfulOutcome", PROC_S1_SETUP, "S1SetupResponse", ies)


def s1_setup_failure(cause: str, time_to_wait: str | None = None) -> bytes:
    """S1 Setup Failure; `cause` as GROUP:VALUE (e.g. misc:om-intervention), `time_to_wait` one of v1s..v60s."""
    group, _, value = cause.partition(":")
    ies = [_ie(ID_CAUSE, "ignore", "Cause", (group, value))]
    if time_to_wait:
        ies.append(_ie(ID_TIME_TO_WAIT, "ignore", "TimeToWait", time_to_wait))
    return _encode("unsuccessfulOutcome", PROC_S1_SETUP, "S1SetupFailure", ies)


def enb_configuration_update_ack() -> bytes:
    return _encode("successfulOutcome", PROC_ENB_CONFIG_UPDATE, "ENBConfigurationUpdateAcknowledge", [])


def check_cause(cause: str) -> None:
    """Raise ValueError unless `cause` is a valid S1AP Cause as GROUP:VALUE."""
    try:
        s1_setup_failure(cause)
    except Exception as exc:  # pycrate's own error classes
        raise ValueError(
            f"expected an S1AP cause as GROUP:VALUE (e.g. misc:om-intervention): {exc}"
        ) from None


def decode(data: bytes) -> dict[str, Any]:
    """The message's S1AP name and the fields the plans compare; raises ValueError if it is not S1AP."""
    with _lock:
        try:
            _pdu().from_aper(data)
        except Exception as exc:  # pycrate raises its own error classes
            raise ValueError(f"not an S1AP PDU: {exc}") from exc
        kind, body = _pdu().get_val()
    name, msg = body["value"]
    out: dict[str, Any] = {"message": name, "pdu": kind, "procedure": body["procedureCode"]}
    for ie in msg.get("protocolIEs", []):
        ie_kind, v = ie["value"]
        if ie["id"] == ID_GLOBAL_ENB_ID:
            id_kind, (bits, _) = v["eNB-ID"]
            out.update(plmn=plmn_str(v["pLMNidentity"]), enb_id=bits, enb_id_type=id_kind)
        elif ie["id"] == ID_SUPPORTED_TAS:
            out["tacs"] = [int.from_bytes(ta["tAC"], "big") for ta in v]
            out["broadcast_plmns"] = sorted({plmn_str(p) for ta in v for p in ta["broadcastPLMNs"]})
        elif ie["id"] in (ID_ENBNAME, ID_MMENAME):
            out["enb_name" if ie["id"] == ID_ENBNAME else "mme_name"] = v
        elif ie["id"] == ID_DEFAULT_PAGING_DRX:
            out["paging_drx"] = v
        elif ie["id"] == ID_CAUSE:
            out["cause"] = f"{v[0]}:{v[1]}"
        elif ie["id"] == ID_TIME_TO_WAIT:
            out["time_to_wait"] = v
        elif ie["id"] == ID_SERVED_GUMMEIS:
            out["served_plmns"] = sorted({plmn_str(p) for g in v for p in g["servedPLMNs"]})
        else:
            out.setdefault("other_ies", []).append(ie_kind)
    return out
