"""The `LockBackend` contract, asked of each backend directly (conftest runs it once per backend).

The rest of this folder asks the same of `lock()`; here the backend object
itself is driven through the abstract class's methods only, as `lock()` does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurm_search.locking import BACKENDS, LockBackend, locks_dir

WORKER = str(Path(__file__).with_name("_worker.py"))


def _backend(lock_mode: str, name: str) -> LockBackend:
    folder = locks_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return BACKENDS[lock_mode](folder / f"{name}.lock")


def _holder(name: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, WORKER, "hold", name, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_every_lock_mode_has_a_backend_that_keeps_the_contract(lock_mode):
    from slurm_search.locking.settings import MODES

    assert set(BACKENDS) == set(MODES)
    backend = _backend(lock_mode, "contract.kind")
    assert isinstance(backend, LockBackend)
    assert isinstance(backend.grace, float) and backend.grace >= 0.0


def test_acquire_release_and_still_held(lock_mode):
    backend = _backend(lock_mode, "contract.own")
    assert backend.acquire(time.monotonic() + 10)
    try:
        assert backend.still_held()
    finally:
        backend.release()
    # Released: another process gets it at once.
    _holder("contract.own", 0).wait(timeout=30)


def test_a_lock_held_by_another_process_times_out_then_is_taken(lock_mode):
    holder = _holder("contract.busy", 1.5)
    try:
        backend = _backend(lock_mode, "contract.busy")
        started = time.monotonic()
        assert backend.acquire(started + 0.3) is False  # the deadline passed first: nothing held
        assert time.monotonic() - started < 5
        assert backend.acquire(time.monotonic() + 30)  # the holder lets go after 1.5 s
        backend.release()
    finally:
        holder.wait(timeout=30)


def test_a_dead_holder_blocks_for_at_most_the_grace_period(lock_mode):
    holder = _holder("contract.dead", 600)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    backend = _backend(lock_mode, "contract.dead")
    started = time.monotonic()
    assert backend.acquire(started + backend.grace + 20)
    backend.release()
    assert time.monotonic() - started <= backend.grace + 20


def test_a_lock_that_cannot_be_taken_over_is_always_still_held(lock_mode):
    backend = _backend(lock_mode, "contract.grace")
    if backend.grace > 0:
        pytest.skip("a lease: test_lock.py::test_fence_tells_a_resumed_holder_it_lost_the_lock covers it")
    assert backend.acquire(None)
    try:
        time.sleep(0.2)
        assert backend.still_held()
    finally:
        backend.release()

