"""The on-disk format of a session: the one place that says which versions this code writes and reads.

A session records the format it was created with in its spec
(`Spec.format`; a log written before versions were recorded has no such
field and reads as version 1). A process reads a session only if it speaks
its version, and refuses (`UnsupportedFormat`) before it claims, reports or
writes anything else: a worker that does not know a newer format's events
would decide differently from the others (take over trials that are
renewed another way, miss records it cannot read).

Adding a version (e.g. new event types): bump FORMAT_VERSION, add it to
READS, and check in the golden session of the new version
(`tests/session/data/make_golden.py`). Drop a version from READS only with
a migration.

Checkpoints carry the version too (in their summary, `_snapshots.summary`):
a checkpoint of a version this process does not read is ignored.
"""

from __future__ import annotations

from typing import Any

from ._errors import UnsupportedFormat

# What this code writes. 2: the first recorded version (goals, trial
# checkpoints and hand-backs, results stored apart).
FORMAT_VERSION = 2
READS = frozenset({1, 2})  # what it reads


def version_of(spec: Any) -> int:
    """The format version a session's spec records (1 if it records none)."""
    version = getattr(spec, "format", 1)
    return version if isinstance(version, int) and not isinstance(version, bool) else -1


def check(name: str, spec: Any) -> None:
    """Refuse a session whose format this code does not speak.

    Raises:
        UnsupportedFormat: with both versions and the way out.
    """
    version = version_of(spec)
    if version not in READS:
        raise UnsupportedFormat(name, version, FORMAT_VERSION, sorted(READS))
