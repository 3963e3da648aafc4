"""Simulated lab instruments (PDUs, SCPI supply, RFC 2217 terminal server, SSH shell) on 127.0.0.1."""
