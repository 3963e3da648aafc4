"""The reference HeMS: a TR-069 ACS built for testing, recording every message it sees."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The server (aiohttp) is imported at the first use of one of its names, not with the package: `henb-bench`
# builds the `hems` subcommand's parser (bench.hems.standalone) at every start, whatever the command.
if TYPE_CHECKING:
    from bench.hems.server import DeviceKey, GpvResult, Hems, RpcCall, SpvResult, Unit

__all__ = ["DeviceKey", "GpvResult", "Hems", "RpcCall", "SpvResult", "Unit"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from bench.hems import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
