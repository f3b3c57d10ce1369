"""kill -9 of run_exp and its workers mid-run, then --resume: the results of an
uninterrupted run, and no completed trial computed again."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from slurm_search import session, state
from slurm_search.dsl import run_experiment
from slurm_search.dsl._params import canonical

from conftest import RUN_EXP

ARGS = ["--tune:settings=4", "--tune:seeds=3", "--eval:seeds=3", "--delay=0.15"]
OVERRIDES = {"tune:settings": 4, "tune:seeds": 3, "eval:seeds": 3, "delay": 0.15}
TOTAL_CALLS = 4 * 3 + 2 * 3


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.05)


def _completed_leaf_calls(run_name: str) -> set[tuple[int, float]]:
    """(seed, value) of every trial recorded as done in the run's seed sessions."""
    done = set()
    for sub in state.read(run_name)["sessions"].values():
        for result in session.results(sub):
            value = result.result["value"]
            if isinstance(value, float):
                done.add((int(result.params["value"]), value))
    return done


@pytest.mark.parametrize(("method", "kill_after"), [("inline", 5), ("cpu", 7)])
def test_kill_9_then_resume_gives_the_same_results(tmp_path, calls, method, kill_after):
    reference = run_experiment("demo", {**OVERRIDES, "tune:method": method}, seed=7)
    assert calls.count() == TOTAL_CALLS
    calls.reset()

    log = tmp_path / "killed.log"
    argv = [str(RUN_EXP), "demo", *ARGS, f"--tune:method={method}", "--seed=7"]
    with open(log, "w") as out:
        # Its own process group: the kill takes run_exp and every worker it started.
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: calls.count() >= kill_after, 180, f"{kill_after} objective calls")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    name = re.search(r"running (exp:\S+)", log.read_text()).group(1)
    assert state.read(name)["status"] == "running"
    completed = _completed_leaf_calls(name)
    assert 0 < len(completed) < TOTAL_CALLS
    calls.reset()

    resumed = subprocess.run(argv + [f"--resume={name}"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"experiment: {name}" in resumed.stdout
    stored = state.read(name)
    assert stored["status"] == "complete"
    assert canonical(stored["results"]) == canonical(reference.results)
    again = calls.seed_values()
    assert not set(again) & completed, "a completed trial was computed again"
    assert len(again) == TOTAL_CALLS - len(completed)
