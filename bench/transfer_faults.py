"""TransferComplete FaultCodes by the TR-069 amendment a unit implements, as the CWMP schemas in bench/bbf list
them: CWMP 1.0 (Amendment 1) knows only 9010/9011/9012; CWMP 1.1 (Amendment 2) on adds 9014-9019."""

from __future__ import annotations

# The CWMP version of each TR-069 amendment (Issue 1 Amendment N).
CWMP_VERSION = {1: "1.0", 2: "1.1", 3: "1.2", 4: "1.3", 5: "1.4", 6: "1.4"}

# TransferComplete FaultStruct/FaultCode enumerations: cwmp-1-0.xsd, cwmp-1-1.xsd, cwmp-1-2.xsd (1.3, 1.4 import it).
_CWMP_1_0 = {0, 9001, 9002, 9010, 9011, 9012}
_CWMP_1_1 = _CWMP_1_0 | {9014, 9015, 9016, 9017, 9018, 9019}
_CWMP_1_2 = _CWMP_1_1 | {9020}

NAMES = {
    9010: "Download failure",
    9011: "Upload failure",
    9012: "File transfer server authentication failure",
    9015: "Download failure: unable to contact file server",
    9016: "Download failure: unable to access file",
    9017: "Download failure: unable to complete download",
    9018: "Download failure: file corrupted",
}

# Why a download fails -> the specific code (Amendment 2 on); CWMP 1.0 has only 9010 for all but credentials.
CAUSES = {
    "credentials": 9012,
    "untrusted": 9012,  # the unit refuses the file server's certificate: the server did not authenticate
    "contact": 9015,
    "missing": 9016,
    "incomplete": 9017,
    "corrupt": 9018,
    "invalid": 9018,
}


def allowed(amendment: int) -> set[int]:
    """The FaultCodes a TransferComplete may carry under `amendment` (vendor codes 9800-9899 aside)."""
    return _CWMP_1_0 if amendment <= 1 else _CWMP_1_1 if amendment == 2 else _CWMP_1_2


def for_amendment(code: int, amendment: int, upload: bool = False) -> int:
    """`code` as a unit of `amendment` reports it: a code its CWMP version lacks becomes 9010 (9011 upload)."""
    if code == 0 or code in allowed(amendment) or 9800 <= code <= 9899:
        return code
    return 9011 if upload else 9010


def expected(cause: str, amendment: int) -> int:
    """The FaultCode a unit of `amendment` must report for a download failing for `cause` (CAUSES)."""
    return for_amendment(CAUSES[cause], amendment)


def describe(code: int) -> str:
    return f"{code} ({NAMES[code]})" if code in NAMES else str(code)


def family(amendment: int) -> str:
    """'TR-069 Amendment 2 (CWMP 1.1)', for messages."""
    return f"TR-069 Amendment {amendment} (CWMP {CWMP_VERSION.get(amendment, '?')})"
