"""henb-bench: a hardware-in-the-loop test bench for HeNB units against 3GPP TS 32.593."""

import drivers  # noqa: F401  # installs the filter for asyncssh's DSA deprecation warning before anything imports it

__version__ = "0.1.0"
