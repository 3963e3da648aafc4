"""Broadband Forum CWMP schemas and data models vendored with the bench (BSD-3-Clause; see README.md here).

`BBF_DIR` is the folder holding them; the mock's data-model derivation and the tests' XSD validation read from it.
"""

from pathlib import Path

BBF_DIR = Path(__file__).resolve().parent
CWMP_XSDS = tuple(f"cwmp-1-{n}.xsd" for n in range(5))
TR181 = "tr-181-2-17-0-cwmp-full.xml"
TR196 = "tr-196-2-1-2-cwmp-full.xml"
TR262 = "tr-262-1-0-0.xml"
FILES = (*CWMP_XSDS, TR181, TR196, TR262)
