"""A full store makes workers wait, not die: a real full filesystem (a tiny
tmpfs), filled while a worker runs, then freed."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest
from _session_helpers import fill_up
from hyperopt import hp

from slurm_search import session


@pytest.fixture
def tiny_store(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)], check=True)
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(mount / "store"))
    monkeypatch.setattr("slurm_search.session._worker.FULL_PAUSE_FIRST", 0.05)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_worker_waits_for_space_and_then_finishes(tiny_store, caplog):
    name = session.create_session(
        "session_test_objectives:sleepy", {"x": hp.uniform("x", 0, 1)},
        max_evals=20, seed=2, context={"sleep": 0.02},
    )
    filler = tiny_store / "filler"
    done = []
    worker = threading.Thread(target=lambda: done.append(session.work_on(name)))
    worker.start()
    time.sleep(0.2)
    fill_up(filler)  # to the last block
    time.sleep(1.0)
    assert worker.is_alive() and not done  # waiting, not dead
    filler.unlink()
    worker.join(timeout=300)
    assert done and done[0].reason == "done" and done[0].completed == 20
    assert session.progress(name).completed == 20
    assert any("the store is full (No space left on device)" in r.getMessage() for r in caplog.records)
