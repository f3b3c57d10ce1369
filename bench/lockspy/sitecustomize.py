"""Records every hold of one lock in this process, for bench_multinode.py.

Python imports a `sitecustomize` module found on its path at start-up;
bench_multinode.py puts this folder (and bench/) on the PYTHONPATH of the
Slurm workers it starts, with

    SLURM_SEARCH_BENCH_LOCK=search:bench        the lock to watch
    SLURM_SEARCH_BENCH_HOLDS=/shared/holds      where each process writes its holds

Each process wraps the lock backends (bench_renewals._instrument, with its
detail) and, at exit, writes its holds there as (acquired, released, and
for the holding thread meanwhile: CPU seconds, seconds runnable but waiting
for a core, voluntary context switches), times from `time.time()` (the
cluster's nodes share this machine's clock). A hold much longer than its
CPU time waited for a core (run-queue time) or, the rest, blocked in calls
(the filesystem).
"""

from __future__ import annotations

import atexit
import os
import socket
import struct
from pathlib import Path

_OUT = os.environ.get("SLURM_SEARCH_BENCH_HOLDS")
_LOCK = os.environ.get("SLURM_SEARCH_BENCH_LOCK")

if _OUT and _LOCK:
    from bench_renewals import _instrument

    _record: list[tuple] = []
    _instrument(_LOCK, _record, detail=True)

    @atexit.register
    def _dump() -> None:
        if _record:
            path = Path(_OUT) / f"{socket.gethostname()}-{os.getpid()}"
            path.write_bytes(b"".join(struct.pack("<ddddd", *r) for r in _record))
