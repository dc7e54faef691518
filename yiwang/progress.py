"""How far a long command is (`yiwang simulate backfill`, `energy rebuild`, `mileage rebuild`, `registry import`):
on a terminal, one line rewritten in place; otherwise (a log, a pipe, CI) a plain line every so often and at the end,
as people expect of such tools. Each line says what is done of how much, the rate and the time left."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def line(label: str, done: float, total: float | None, unit: str, elapsed: float) -> str:
    """One progress line: `label: 1,234 of 5,000 meters (24.7%), 41 meters/s, about 1 min 55 s left`. Without a
    total (not known yet), what is done and the rate; no rate until some time has passed."""
    rate = done / elapsed if elapsed >= 0.5 else None
    parts = [f"{label}: {done:,.0f}" + (f" of {total:,.0f}" if total else "") + f" {unit}"]
    if total:
        parts[0] += f" ({min(done / total, 1.0):.1%})"
    if rate:
        parts.append(f"{rate:,.0f} {unit}/s" if rate >= 10 else f"{rate:,.1f} {unit}/s")
        if total and done < total:
            parts.append(f"about {_duration((total - done) / rate)} left")
    if total and done >= total:
        parts.append(f"done in {_duration(elapsed)}")
    return ", ".join(parts)


class Progress:
    """Tell `stream` how far a piece of work is. `update(done)` as it goes (and `total` when it becomes known),
    `finish()` at the end: the last line always says where it ended."""

    def __init__(
        self,
        label: str,
        unit: str,
        *,
        total: float | None = None,
        stream: TextIO | None = None,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.unit, self.total = label, unit, total
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty()
        # A terminal is redrawn a few times a second; a log gets a line every `every` seconds.
        self.every = 0.2 if self.terminal else every
        self.clock = clock
        self.started = clock()
        self.shown_at: float | None = None
        self.shown = ""  # the last line written
        self.done = 0.0

    def update(self, done: float, total: float | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = self.clock()
        if self.shown_at is None or now - self.shown_at >= self.every:
            self._show(now, final=False)

    def finish(self) -> None:
        self._show(self.clock(), final=True)

    def _show(self, now: float, *, final: bool) -> None:
        self.shown_at = now
        text = line(self.label, self.done, self.total, self.unit, now - self.started)
        if final and not self.terminal and text == self.shown:
            return  # the last update said it all already: a log gets no second copy
        self.shown = text
        if self.terminal:
            self.stream.write(f"\r\x1b[K{text}" + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
