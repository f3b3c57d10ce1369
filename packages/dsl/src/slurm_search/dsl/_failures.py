"""Why a sampling node's session failed: the first failure, not one per level.

A trial of an outer search that evaluates an inner search fails with the
inner node's ``SamplingError``; its traceback (text, stored by the session,
possibly written by another process) ends with that error's line, which
names the inner session. Following those names down gives the failure that
started it all, whose traceback is the one worth showing.
"""

from __future__ import annotations

import logging
import re

__all__ = ["root_failure", "failure_line", "user_frames"]

logger = logging.getLogger(__name__)

# The last line of a trial that failed on an inner node: the error's type,
# then ``[label] type:name: ...`` (SamplingError.__init__ writes it so).
_INNER = re.compile(r"SamplingError: \[[^\]]*\] ([A-Za-z0-9][A-Za-z0-9_.-]*:[A-Za-z0-9][A-Za-z0-9_.-]*): ")
_DEPTH = 20


def failure_line(traceback: str) -> str:
    """The exception's line of a traceback, with the notes that follow it, joined by ``; ``."""
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    tail: list[str] = []
    for line in reversed(lines):
        if line.startswith((" ", "\t", "Traceback ")):
            break
        tail.append(line.strip())
    return "; ".join(reversed(tail)) or (lines[-1].strip() if lines else "")


def root_failure(name: str, traceback: str) -> tuple[str, str]:
    """``(session, traceback)`` of the innermost failure under session ``name``."""
    from slurm_search import session

    for _ in range(_DEPTH):
        found = _INNER.search(failure_line(traceback))
        if found is None:
            break
        try:
            inner = getattr(session.progress(found.group(1)), "last_traceback", None) or ""
        except session.SessionError as err:
            logger.debug("inner session %s: %s", found.group(1), err)
            break
        if not inner:
            break
        name, traceback = found.group(1), inner
    return name, traceback


def user_frames(traceback: str) -> str:
    """The traceback without slurm-search's own frames (the objective's
    plumbing), which say nothing about the user's mistake; unchanged if
    nothing else is left."""
    lines = traceback.rstrip().splitlines()
    kept: list[str] = []
    dropped = False
    skipping = False
    for line in lines:
        if line.startswith('  File "'):
            skipping = "/slurm_search/" in line
            dropped = dropped or skipping
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    frames = [line for line in kept if line.startswith('  File "')]
    return "\n".join(kept) if dropped and frames else traceback.rstrip()
