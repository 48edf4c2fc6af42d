"""Progress of long pipeline work: one tqdm bar per step on stderr, or any callback.

Pipeline code reports ``(label, fraction)`` pairs and one-line notes; it never prints.
A callback may raise (KeyboardInterrupt included): the work stops there and cleans up.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol, TextIO

ProgressFn = Callable[[str, float], None]


class Reporter(Protocol):
    def __call__(self, label: str, fraction: float) -> None: ...

    def note(self, text: str) -> None: ...

    def close(self) -> None: ...


class Silent:
    """Reports nothing; what library callers and tests get by default."""

    def __init__(self, callback: ProgressFn | None = None) -> None:
        self.callback = callback
        self.notes: list[str] = []

    def __call__(self, label: str, fraction: float) -> None:
        if self.callback is not None:
            self.callback(label, fraction)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def close(self) -> None:
        return None


class Bars:
    """A tqdm bar per label (percent done), notes printed above the bars; all on stderr.

    On a terminal the bars redraw in place; elsewhere (logs, CI) tqdm is off and only the
    notes are written, one line each.
    """

    def __init__(self, out: TextIO | None = None, enabled: bool | None = None) -> None:
        self.out = out or sys.stderr
        self.enabled = self.out.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._label: str | None = None

    def __call__(self, label: str, fraction: float) -> None:
        if not self.enabled:
            return
        if label != self._label:
            self._close_bar()
            from tqdm import tqdm

            self._bar = tqdm(total=100, desc=label, file=self.out, leave=False, unit="%",
                             bar_format="{desc:<40.40} {percentage:3.0f}%|{bar}| {elapsed}")
            self._label = label
        done = min(max(round(fraction * 100), 0), 100)
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.out)
        else:
            print(text, file=self.out, flush=True)

    def close(self) -> None:
        self._close_bar()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._label = None
