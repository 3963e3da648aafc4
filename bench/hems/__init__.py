"""The reference HeMS: a TR-069 ACS built for testing, recording every message it sees."""

from bench.hems.server import GpvResult, Hems, RpcCall, SpvResult

__all__ = ["GpvResult", "Hems", "RpcCall", "SpvResult"]
