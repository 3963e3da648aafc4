"""The HeMS's transcript: every HTTP message in and out, streamed to an unlinked temporary file as it happens."""

from __future__ import annotations

import os
import struct
import tempfile
import threading
from array import array
from collections.abc import Callable
from typing import Any


class Transcript:
    """Every HTTP message in and out, appended to an unlinked temporary file as it happens.

    Only the offset of each entry stays in memory (8 bytes), so a long or busy run neither grows the heap nor
    gives the garbage collector more to walk; `read` returns the entries as dicts, as they were received.
    """

    _HEAD = struct.Struct(
        "<dhBHI"
    )  # time, HTTP status (-1: none), direction (0 in, 1 out), peer len, body len

    def __init__(self) -> None:
        # Open for the HeMS's lifetime (transcript() works after stop); closed when the HeMS is collected.
        self._file = tempfile.TemporaryFile(buffering=1 << 16, prefix="hems-transcript-")  # noqa: SIM115
        self._offsets = array("q")
        self._size = 0
        self._lock = threading.Lock()
        # Told after each entry is written (`henb-bench hems -v` prints the XML as it comes).
        self.on_add: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._offsets)

    def add(self, t: float, direction: str, peer: str, status: int | None, body: bytes) -> None:
        peer_b = peer.encode("utf-8", errors="replace")
        head = self._HEAD.pack(
            t, -1 if status is None else status, direction == "out", len(peer_b), len(body)
        )
        with self._lock:
            self._offsets.append(self._size)
            self._file.write(head + peer_b + body)
            self._size += len(head) + len(peer_b) + len(body)
        if self.on_add is not None:
            self.on_add()

    def exchange(self, t_in: float, t_out: float, peer: str, status: int, body: bytes, out: bytes) -> None:
        """A request and its answer, one after the other."""
        peer_b = peer.encode("utf-8", errors="replace")
        head_in = self._HEAD.pack(t_in, status, False, len(peer_b), len(body))
        head_out = self._HEAD.pack(t_out, status, True, len(peer_b), len(out))
        with self._lock:
            self._offsets.append(self._size)
            self._size += len(head_in) + len(peer_b) + len(body)
            self._offsets.append(self._size)
            self._size += len(head_out) + len(peer_b) + len(out)
            self._file.write(b"".join((head_in, peer_b, body, head_out, peer_b, out)))
        if self.on_add is not None:
            self.on_add()

    def read(self, since: int = 0) -> list[dict[str, Any]]:
        """Entries from index `since` (list-slice semantics: negative counts from the end)."""
        with self._lock:
            start = slice(since, None).indices(len(self._offsets))[0]
            if start >= len(self._offsets):
                return []
            self._file.flush()
            offset = self._offsets[start]
            data = os.pread(self._file.fileno(), self._size - offset, offset)
        entries: list[dict[str, Any]] = []
        pos, head = 0, self._HEAD
        while pos < len(data):
            t, status, out, peer_len, body_len = head.unpack_from(data, pos)
            pos += head.size
            peer = data[pos : pos + peer_len].decode("utf-8", errors="replace")
            pos += peer_len
            xml = data[pos : pos + body_len].decode("utf-8", errors="replace")
            pos += body_len
            entries.append(
                {
                    "t": t,
                    "direction": "out" if out else "in",
                    "peer": peer,
                    "status": None if status < 0 else status,
                    "xml": xml,
                }
            )
        return entries

    def close(self) -> None:
        with self._lock:
            self._file.close()
