"""A one-line progress report on stderr for runs long enough to wonder about, terminals only."""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import IO, Iterator

DELAY = 1.5  # seconds before the line appears: a quick run shows nothing at all
_CLEAR = "\r\x1b[K"  # back to the line's start, erase to its end


def progress_text(done: int, total: int) -> str:
    return f"asyncfix: {done}/{total} files ({100 * done // max(total, 1)}%)"


class Progress:
    """``update(done)`` as files finish; ``pause()`` around other output to the terminal;
    ``close()`` at the end erases the line. Does nothing when the stream is not a terminal
    (CI logs, pipes, files), where a line rewritten in place would only be noise."""

    def __init__(self, total: int, stream: IO[str] | None = None, delay: float | None = None):
        self.stream = stream or sys.stderr
        self.total = total
        self.done = 0
        self.enabled = self.stream.isatty()
        self.shown = False  # the line is on the screen now
        self.started = False  # the delay has passed
        self.lock = threading.Lock()  # the timer's thread draws too
        self.timer: threading.Timer | None = None
        delay = DELAY if delay is None else delay
        if self.enabled and delay <= 0:
            self.started = True
        elif self.enabled:
            self.timer = threading.Timer(delay, self._start)
            self.timer.daemon = True
            self.timer.start()

    def _start(self) -> None:
        with self.lock:
            self.started = True
            self._draw()

    def _draw(self) -> None:  # with the lock held
        if self.enabled and self.started:
            self.stream.write(_CLEAR + progress_text(self.done, self.total))
            self.stream.flush()
            self.shown = True

    def _erase(self) -> None:  # with the lock held
        if self.shown:
            self.stream.write(_CLEAR)
            self.stream.flush()
            self.shown = False

    def update(self, done: int) -> None:
        with self.lock:
            self.done = done
            self._draw()

    @contextmanager
    def pause(self) -> Iterator[None]:
        """Erase the line while something else is printed, then draw it again below that."""
        with self.lock:
            self._erase()
            yield
            self._draw()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            self.enabled = False
            self._erase()
