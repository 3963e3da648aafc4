"""Live progress of a run: the current test, its phase, what it waits for and for how long (a rich status line
on a terminal, plain lines otherwise, e.g. in CI logs). Fed by the plugin and by Timeline wait observers."""

from __future__ import annotations

import threading
import time
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from bench.timeline import Event

PLAIN_PREFIX = "  .."


class Progress:
    """Tracks (test, phase, awaited); `live` draws a one-line rich display, otherwise each change is a line."""

    def __init__(self, out: IO[str], live: bool | None = None) -> None:
        self.out = out
        self.live = out.isatty() if live is None else live
        self.test = ""
        self.clause = ""
        self.phase = ""
        self.what = ""
        self.timeout = 0.0
        self.phase_since = time.monotonic()
        self.wait_since = 0.0
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._console = Console(file=out, force_terminal=self.live, highlight=False) if self.live else None

    # -- what the plugin tells -----------------------------------------------------------------

    def phase_started(self, test: str, clause: str, phase: str) -> None:
        with self._lock:
            self.test, self.clause, self.phase = test, clause, phase
            self.phase_since = time.monotonic()
            self.what = ""
        if self.live:
            self._resume()
        else:
            self._line(f"{clause or '-'} {test}: {phase}")

    def pause(self) -> None:
        """Take the status line off the screen so pytest can print its own output."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def close(self) -> None:
        self.pause()

    # -- Timeline wait observer ----------------------------------------------------------------

    def on_wait(self, what: str, timeout: float, event: Event | None, ended: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if not ended:
                self.what, self.timeout, self.wait_since = what or "an event", timeout, now
                waited = 0.0
            else:
                waited = now - self.wait_since if self.wait_since else 0.0
                self.what = ""
        if self.live:
            if self._live is not None:
                self._live.refresh()
            return
        if not ended:
            self._line(
                f"{self.clause or '-'} {self.test}: waiting up to {timeout:g} s for {what or 'an event'}"
            )
        elif event is not None:
            self._line(
                f"{self.clause or '-'} {self.test}: got it after {waited:.2f} s: {event.source}/{event.kind}"
            )
        else:
            self._line(f"{self.clause or '-'} {self.test}: nothing after {waited:.2f} s")

    # -- drawing -------------------------------------------------------------------------------

    def render(self) -> Text:
        now = time.monotonic()
        with self._lock:
            text = Text()
            text.append("\u25b6 ", style="bold cyan")
            text.append(f"{self.clause or '-'} ", style="bold")
            text.append(self.test)
            text.append(f"  [{self.phase} {now - self.phase_since:.1f} s]", style="dim")
            if self.what:
                text.append("  waiting ", style="yellow")
                text.append(f"{now - self.wait_since:.1f}/{self.timeout:g} s", style="bold yellow")
                text.append(f" for {self.what}")
        return text

    def _resume(self) -> None:
        if self._live is None and self._console is not None:
            self._live = Live(
                _Renderable(self),
                console=self._console,
                refresh_per_second=4,
                transient=True,
                redirect_stdout=False,
            )
            self._live.start()

    def _line(self, text: str) -> None:
        self.out.write(f"{PLAIN_PREFIX} {text}\n")
        self.out.flush()


class _Renderable:
    """Re-rendered on every refresh, so the seconds keep counting while nothing happens."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __rich__(self) -> Any:
        return self.progress.render()
