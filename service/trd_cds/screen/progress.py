"""A progress line on stderr: patients done, patients/s and the time left. Redrawn in place on
a terminal; elsewhere (a log file, CI) a line every few seconds."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, total: int | None, *, stream: TextIO | None = None,
                 every_seconds: float | None = None, enabled: bool = True) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every_seconds if every_seconds is not None else (0.2 if self.tty else 10.0)
        self.enabled = enabled
        self.started = time.monotonic()
        self._shown = 0.0
        self._first: tuple[float, int] | None = None  # (when, how many) the first results came
        self._last = self.started

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self._first is None:
            self._first = (now, self.done)
        self._last = now
        if self.enabled and now - self._shown >= self.every:
            self._shown = now
            self._show(now)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total:
            width = 30
            filled = min(width, width * self.done // self.total)
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            return (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} patients"
                    f"  {rate:.1f}/s  ETA {_clock(left)}")
        return f"{self.done} patients  {rate:.1f}/s  {_clock(elapsed)}"

    def _show(self, now: float) -> None:
        end = "\r" if self.tty else "\n"
        self.stream.write(self.line(now) + end)
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    @property
    def steady_rate(self) -> float | None:
        """Patients/s from the first results to the last: once the rules are loaded in every
        process, without the start-up that a long run spreads over many more patients."""
        if self._first is None or self._last <= self._first[0]:
            return None
        return (self.done - self._first[1]) / (self._last - self._first[0])

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0
