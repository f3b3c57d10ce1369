"""Records every hold of one lock in this process, for bench_multinode.py.

Python imports a `sitecustomize` module found on its path at start-up;
bench_multinode.py puts this folder (and bench/) on the PYTHONPATH of the
Slurm workers it starts, with

    SLURM_SEARCH_BENCH_LOCK=search:bench        the lock to watch
    SLURM_SEARCH_BENCH_HOLDS=/shared/holds      where each process writes its holds

Each process wraps the lock backends (as bench_renewals.py does) and, at
exit, writes its holds there as (acquired, released) pairs of `time.time()`
(the cluster's nodes share this machine's clock).
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

    _record: list[tuple[float, float]] = []
    _instrument(_LOCK, _record)

    @atexit.register
    def _dump() -> None:
        if _record:
            path = Path(_OUT) / f"{socket.gethostname()}-{os.getpid()}"
            path.write_bytes(b"".join(struct.pack("<dd", a, b) for a, b in _record))
