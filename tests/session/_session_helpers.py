"""Helpers of the session-core tests: real worker processes that find the test objectives.

Not a conftest.py: tests/session is shared with the launcher tests; import it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def worker_env() -> dict[str, str]:
    """The environment of a worker process: this one's, plus the test objectives' folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    return env


def start_worker(name: str, worker_id: str | None = None) -> subprocess.Popen:
    """A real `work_on(name)` in a new Python process."""
    code = f"from slurm_search.session import work_on; work_on({name!r}, worker_id={worker_id!r})"
    return subprocess.Popen([sys.executable, "-c", code], env=worker_env(), stderr=subprocess.PIPE)


@pytest.fixture
def workers():
    """Start worker processes; any still alive at the end are killed."""
    procs: list[subprocess.Popen] = []

    def start(name: str, n: int = 1) -> list[subprocess.Popen]:
        new = [start_worker(name) for _ in range(n)]
        procs.extend(new)
        return new

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=60)
        if p.stderr:
            p.stderr.close()


def kill_mid_trial(name: str, victim, owns, min_ok: int) -> int:
    """Once ``min_ok`` trials are done and ``victim`` is evaluating one (a
    running trial whose owner ``owns(owner)`` accepts), SIGKILL it.

    Returns:
        The tid of the trial it was evaluating.
    """
    import signal
    import time

    from slurm_search.session._view import View

    view = View(name)
    deadline = time.time() + 120
    while True:
        assert time.time() < deadline, "the victim never claimed a trial"
        assert victim.poll() is None, "the victim ended before it was killed"
        st = view.refresh()
        mine = [t for t in st.trials.values() if t.status == "running" and owns(t.owner)]
        if mine and st.counts["ok"] >= min_ok:
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            return mine[0].tid
        time.sleep(0.02)


def fill_up(path) -> None:
    """Write zeros to file `path` until its filesystem is full (ENOSPC)."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
