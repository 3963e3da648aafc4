"""The reference HeMS: a TR-069 ACS built for testing, recording every message it sees."""

from bench.hems.server import DeviceKey, GpvResult, Hems, RpcCall, SpvResult, Unit

__all__ = ["DeviceKey", "GpvResult", "Hems", "RpcCall", "SpvResult", "Unit"]
