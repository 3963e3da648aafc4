"""The mock unit's own S1AP (TS 36.413) codec, aligned PER by hand, so the mock process needs no pycrate (12 MiB):
it encodes the two messages a HeNB sends (S1 Setup Request, eNB Configuration Update) and reads the answers it
acts on (the message's name, Cause, TimeToWait). tests/bench/test_s1ap.py holds it to pycrate's encoding and
decoding (bench/s1ap.py, which the bench's MME stand-in uses)."""

from __future__ import annotations

from typing import Any

from bench.s1ap import (  # the numbers and the PLMN octets only: bench.s1ap loads pycrate at its first message
    ID_CAUSE,
    ID_DEFAULT_PAGING_DRX,
    ID_ENBNAME,
    ID_GLOBAL_ENB_ID,
    ID_SUPPORTED_TAS,
    ID_TIME_TO_WAIT,
    PROC_ENB_CONFIG_UPDATE,
    PROC_S1_SETUP,
    TIME_TO_WAIT,
    plmn_bytes,
)

REJECT, IGNORE = 0, 1
PDUS = ("initiatingMessage", "successfulOutcome", "unsuccessfulOutcome")
MESSAGES = {
    (0, PROC_S1_SETUP): "S1SetupRequest",
    (1, PROC_S1_SETUP): "S1SetupResponse",
    (2, PROC_S1_SETUP): "S1SetupFailure",
    (0, PROC_ENB_CONFIG_UPDATE): "ENBConfigurationUpdate",
    (1, PROC_ENB_CONFIG_UPDATE): "ENBConfigurationUpdateAcknowledge",
    (2, PROC_ENB_CONFIG_UPDATE): "ENBConfigurationUpdateFailure",
}
PAGING_DRX = ("v32", "v64", "v128", "v256")
# Cause (TS 36.413 9.2.1.3): each group's root values, then its extension values (checked against pycrate).
CAUSES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "radioNetwork": (
        ("unspecified", "tx2relocoverall-expiry", "successful-handover", "release-due-to-eutran-generated-reason",
         "handover-cancelled", "partial-handover", "ho-failure-in-target-EPC-eNB-or-target-system",
         "ho-target-not-allowed", "tS1relocoverall-expiry", "tS1relocprep-expiry", "cell-not-available",
         "unknown-targetID", "no-radio-resources-available-in-target-cell", "unknown-mme-ue-s1ap-id",
         "unknown-enb-ue-s1ap-id", "unknown-pair-ue-s1ap-id", "handover-desirable-for-radio-reason",
         "time-critical-handover", "resource-optimisation-handover", "reduce-load-in-serving-cell",
         "user-inactivity", "radio-connection-with-ue-lost", "load-balancing-tau-required", "cs-fallback-triggered",
         "ue-not-available-for-ps-service", "radio-resources-not-available", "failure-in-radio-interface-procedure",
         "invalid-qos-combination", "interrat-redirection", "interaction-with-other-procedure",
         "unknown-E-RAB-ID", "multiple-E-RAB-ID-instances", "encryption-and-or-integrity-protection-algorithms-not-supported",
         "s1-intra-system-handover-triggered", "s1-inter-system-handover-triggered", "x2-handover-triggered"),
        ("redirection-towards-1xRTT", "not-supported-QCI-value", "invalid-CSG-Id", "release-due-to-pre-emption",
         "n26-interface-not-available", "insufficient-ue-capabilities", "maximum-bearer-pre-emption-rate-exceeded",
         "up-integrity-protection-not-possible", "release-due-to-discontinuous-coverage"),
    ),
    "transport": (("transport-resource-unavailable", "unspecified"), ()),
    "nas": (("normal-release", "authentication-failure", "detach", "unspecified"), ("csg-subscription-expiry", "uE-not-in-PLMN-serving-area", "iab-not-authorized")),
    "protocol": (
        ("transfer-syntax-error", "abstract-syntax-error-reject", "abstract-syntax-error-ignore-and-notify",
         "message-not-compatible-with-receiver-state", "semantic-error",
         "abstract-syntax-error-falsely-constructed-message", "unspecified"),
        (),
    ),
    "misc": (
        ("control-processing-overload", "not-enough-user-plane-processing-resources", "hardware-failure",
         "om-intervention", "unspecified", "unknown-PLMN"),
        (),
    ),
}  # fmt: skip


class Bits:
    """An aligned-PER bit writer: fields of n bits, zero padding to the octet, whole octets."""

    def __init__(self) -> None:
        self.value, self.n = 0, 0

    def put(self, v: int, n: int) -> None:
        self.value, self.n = self.value << n | v, self.n + n

    def align(self) -> None:
        self.put(0, -self.n % 8)

    def octets(self, data: bytes) -> None:
        self.align()
        self.put(int.from_bytes(data, "big"), 8 * len(data))

    def done(self) -> bytes:
        self.align()
        return self.value.to_bytes(self.n // 8, "big") if self.n else b"\x00"


def _length(n: int) -> bytes:
    """An unconstrained length determinant (X.691 11.9.3.6), up to 16383."""
    if n < 128:
        return bytes([n])
    if n < 16384:
        return (0x8000 | n).to_bytes(2, "big")
    raise ValueError(f"S1AP field of {n} octets: too long")


def _open(data: bytes) -> bytes:
    return _length(len(data)) + data


def _pdu(kind: int, proc: int, ies: list[tuple[int, int, bytes]]) -> bytes:
    body = Bits()
    body.put(0, 1)  # the message's extension bit
    body.align()
    body.put(len(ies), 16)  # ProtocolIE-Container: SIZE (0..65535)
    out = body.done() + b"".join(i.to_bytes(2, "big") + bytes([c << 6]) + _open(v) for i, c, v in ies)
    return bytes([kind << 5, proc, REJECT << 6]) + _open(out)


def _supported_tas(tac: int, plmn: str) -> bytes:
    b = Bits()
    b.put(0, 8)  # SIZE (1..256): one item, the count less one in an octet
    b.put(0, 2)  # SupportedTAs-Item: extension bit, no iE-Extensions
    b.put(tac, 16)  # TAC: two octets, not aligned
    b.put(0, 3)  # BPLMNs: SIZE (1..6), one
    b.octets(plmn_bytes(plmn))
    return b.done()


def s1_setup_request(enb_id: int, plmn: str, tac: int, name: str = "", paging_drx: str = "v128") -> bytes:
    """A HeNB's S1 Setup Request: Global eNB ID with the 28-bit Home eNB ID (the cell identity), one TA."""
    if not 0 <= enb_id < 1 << 28 or not 0 <= tac < 1 << 16:
        raise ValueError(f"Home eNB ID {enb_id} (28 bits) or TAC {tac} (16 bits) out of range")
    gid = Bits()
    gid.put(0, 2)  # extension bit, no iE-Extensions
    gid.octets(plmn_bytes(plmn))
    gid.put(0b01, 2)  # ENB-ID: extension bit, homeENB-ID
    gid.align()
    gid.put(enb_id << 4, 32)  # BIT STRING (SIZE (28)), aligned, padded
    ies = [(ID_GLOBAL_ENB_ID, REJECT, gid.done())]
    if name:
        if not 1 <= len(name) <= 150 or not name.isascii():
            raise ValueError(f"eNB name {name!r}: expected 1 to 150 ASCII characters")
        n = Bits()
        n.put(0, 1)  # the size constraint's extension bit
        n.put(len(name) - 1, 8)  # SIZE (1..150)
        n.octets(name.encode("ascii"))
        ies.append((ID_ENBNAME, IGNORE, n.done()))
    ies.append((ID_SUPPORTED_TAS, REJECT, _supported_tas(tac, plmn)))
    ies.append((ID_DEFAULT_PAGING_DRX, IGNORE, bytes([PAGING_DRX.index(paging_drx) << 5])))
    return _pdu(0, PROC_S1_SETUP, ies)


def enb_configuration_update(plmn: str, tac: int) -> bytes:
    """eNB Configuration Update carrying the supported TAs after a TAC or PLMN change."""
    return _pdu(0, PROC_ENB_CONFIG_UPDATE, [(ID_SUPPORTED_TAS, REJECT, _supported_tas(tac, plmn))])


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0  # pos in bits

    def get(self, n: int) -> int:
        end = self.pos + n
        if end > 8 * len(self.data):
            raise ValueError("truncated")
        v = int.from_bytes(self.data, "big") >> (8 * len(self.data) - end) & ((1 << n) - 1)
        self.pos = end
        return v

    def align(self) -> None:
        self.pos += -self.pos % 8

    def length(self) -> int:
        self.align()
        first = self.get(8)
        if first & 0x80 == 0:
            return first
        if first & 0x40 == 0:
            return (first & 0x3F) << 8 | self.get(8)
        raise ValueError("fragmented length")

    def octets(self, n: int) -> bytes:
        self.align()
        start = self.pos // 8
        if start + n > len(self.data):
            raise ValueError("truncated")
        self.pos += 8 * n
        return self.data[start : start + n]


def _enumerated(r: _Reader, root: tuple[str, ...], ext: tuple[str, ...] = ()) -> str:
    """An extensible ENUMERATED: the extension bit, then the root index or a normally small extension index."""
    if r.get(1):
        i = r.get(7)
        if i & 0x40:
            raise ValueError("extension index not small")
        return ext[i] if i < len(ext) else f"extension-{i}"
    i = r.get(max(1, (len(root) - 1).bit_length()))
    if i >= len(root):
        raise ValueError(f"enumerated index {i} out of range")
    return root[i]


def _cause(value: bytes) -> str:
    r = _Reader(value)
    if r.get(1):
        raise ValueError("Cause extension choice")
    groups = list(CAUSES)
    g = r.get(3)
    if g >= len(groups):
        raise ValueError(f"Cause group {g} out of range")
    return f"{groups[g]}:{_enumerated(r, *CAUSES[groups[g]])}"


def decode(data: bytes) -> dict[str, Any]:
    """The message's S1AP name and what the unit acts on (cause, time_to_wait); ValueError if it is not S1AP."""
    try:
        r = _Reader(data)
        if r.get(1):
            raise ValueError("extension choice")
        kind = r.get(2)
        if kind >= len(PDUS):
            raise ValueError(f"PDU choice {kind}")
        r.align()
        proc = r.get(8)
        r.get(2)  # criticality
        body = _Reader(r.octets(r.length()))
        out: dict[str, Any] = {
            "message": MESSAGES.get((kind, proc), f"procedure-{proc}"),
            "pdu": PDUS[kind],
            "procedure": proc,
        }
        body.get(1)
        body.align()
        for _ in range(body.get(16)):
            ie_id = body.get(16)
            body.get(2)
            value = body.octets(body.length())
            if ie_id == ID_CAUSE:
                out["cause"] = _cause(value)
            elif ie_id == ID_TIME_TO_WAIT:
                out["time_to_wait"] = _enumerated(_Reader(value), TIME_TO_WAIT)
    except ValueError as exc:
        raise ValueError(f"not an S1AP PDU: {exc}") from None
    return out
