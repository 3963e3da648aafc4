"""henb-bench: a hardware-in-the-loop test bench for HeNB units against 3GPP TS 32.593."""

__version__ = "0.1.0"
