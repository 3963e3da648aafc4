"""Drivers for the hardware around a unit: power, console, WAN port.

Importing the package silences one known warning of a dependency, before anything imports it: asyncssh (the SSH
shell, the file server's SFTP) still names DSA keys, and cryptography warns of DSA's deprecation at that import.
"""

import warnings

# Targeted: only that message, only from asyncssh's modules; every other warning is shown as before.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh\.")
