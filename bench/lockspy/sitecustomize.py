"""Records every hold of one lock in this process, for bench_multinode.py.

Python imports a `sitecustomize` module found on its path at start-up;
bench_multinode.py puts this folder (and bench/) on the PYTHONPATH of the
Slurm workers it starts, with

    SLURM_SEARCH_BENCH_LOCK=search:bench        the lock to watch
    SLURM_SEARCH_BENCH_HOLDS=/shared/holds      where each process writes its holds

Each process wraps the lock backends and, at exit, writes its holds there
as (acquired, released, and for the holding thread meanwhile: CPU seconds,
seconds runnable but waiting for a core, voluntary context switches):
`time.time()` (the cluster's nodes share this machine's clock),
`time.thread_time()`, `/proc/thread-self/schedstat` and
`getrusage(RUSAGE_THREAD)`. A hold much longer than its CPU time waited for
a core (run-queue time) or, the rest, blocked in calls (the filesystem).
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
    import resource
    import time

    from slurm_search.locking import _flock, _soft

    _record: list[tuple[float, float, float, float, float]] = []

    def _switches() -> tuple[float, int]:
        """(seconds this thread waited on a run queue so far, its voluntary switches)."""
        with open("/proc/thread-self/schedstat") as f:
            queued = int(f.read().split()[1]) / 1e9
        return queued, resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw

    for _cls in (_flock.FlockBackend, _soft.SoftBackend):

        def _acquire(self, deadline, _real=_cls.acquire):  # type: ignore[no-untyped-def]
            ok = _real(self, deadline)
            if ok and Path(self._path).name.rsplit(".", 1)[0] == _LOCK:
                self._spy = (time.time(), time.thread_time(), *_switches())
            return ok

        def _release(self, _real=_cls.release):  # type: ignore[no-untyped-def]
            spy = getattr(self, "_spy", None)
            if spy is not None:
                queued, voluntary = _switches()
                cpu = time.thread_time() - spy[1]
                _record.append((spy[0], time.time(), cpu, queued - spy[2], voluntary - spy[3]))
                self._spy = None
            return _real(self)

        _cls.acquire, _cls.release = _acquire, _release

    @atexit.register
    def _dump() -> None:
        if _record:
            path = Path(_OUT) / f"{socket.gethostname()}-{os.getpid()}"
            path.write_bytes(b"".join(struct.pack("<ddddd", *r) for r in _record))
