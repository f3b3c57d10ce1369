"""Waiting for a session's workers, with progress on long waits.

`wait_for` polls the session's progress until it is finished or no worker is
left. While it waits it shows progress on stderr: a progress bar when stderr
is a terminal, else one line every few seconds (which reads well in a log).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from slurm_search import session as core

logger = logging.getLogger(__name__)

REPORT_EVERY = 5.0
POLL = 0.5


def finished(progress: Any) -> bool:
    """True when a session needs no more work: done, stopped or failed."""
    return str(getattr(progress, "status", "")) in ("done", "stopped", "failed")


def describe(name: str, progress: Any) -> str:
    """One line: ``search:x: 45/200 done, 3 failed, 4 running (running)``."""
    done = int(getattr(progress, "completed", 0) or 0)
    total = int(getattr(progress, "max_evals", 0) or 0)
    failed = int(getattr(progress, "failed", 0) or 0)
    running = int(getattr(progress, "running", 0) or 0)
    status = getattr(progress, "status", "?")
    return f"{name}: {done}/{total} done, {failed} failed, {running} running ({status})"


class _Reporter:
    """Shows progress: a click progress bar on a terminal, else periodic lines."""

    def __init__(self, name: str, show: bool, every: float) -> None:
        self.name = name
        self.show = show
        self.every = every
        self.start = time.monotonic()
        self.last = self.start
        self.bar: Any = None
        self.shown = 0

    def __call__(self, progress: Any) -> None:
        if not self.show:
            return
        import click

        settled = int(getattr(progress, "completed", 0) or 0) + int(getattr(progress, "failed", 0) or 0)
        if sys.stderr.isatty():
            if self.bar is None:
                total = int(getattr(progress, "max_evals", 0) or 0) or None
                self.bar = click.progressbar(length=total, label=self.name, file=sys.stderr, show_pos=True)
                self.bar.__enter__()
            self.bar.update(settled - self.shown)
            self.shown = settled
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            click.echo(f"{describe(self.name, progress)}, {now - self.start:.0f} s", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def wait_for(
    name: str,
    workers_alive: Callable[[], bool],
    *,
    show: bool = True,
    every: float = REPORT_EVERY,
    poll: float = POLL,
    pause: Callable[[float], None] = time.sleep,
) -> Any:
    """Wait until the session is finished or ``workers_alive()`` says none is left.

    Args:
        name: the session.
        workers_alive: tells whether any worker may still make progress.
        show: show progress on stderr.
        every: seconds between progress lines (when stderr is not a terminal).
        poll: seconds between looks at the session.
        pause: sleeps between looks (may return early, e.g. when a worker
            exits).

    Returns:
        The session's last progress (the caller tells finished from abandoned
        with `finished`).
    """
    reporter = _Reporter(name, show, every)
    try:
        while True:
            progress = core.progress(name)
            reporter(progress)
            if finished(progress):
                return progress
            if not workers_alive():
                # The workers may have recorded their last results since the
                # look above.
                return core.progress(name)
            pause(poll)
    finally:
        reporter.close()
