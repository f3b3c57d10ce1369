"""Checkpoints through nested sampling nodes: the innermost function saves and
loads its own trial's checkpoints, a cut trial continues from its checkpoint
(inline, after a worker told to leave, after kill -9 of run_exp), and the
results are those of an uninterrupted run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dsl_checkpoint_spec
import pytest
from conftest import RUN_EXP

from slurm_search import session, state
from slurm_search.dsl import SamplingError, run_experiment
from slurm_search.dsl._params import canonical
from slurm_search.dsl._run import stored_runs
from slurm_search.session._leaving import reset_leave

SPEC = "dsl_checkpoint_spec:spec"
HERE = Path(__file__).parent
STEPS = 12


class StepLog:
    """The lines ``pid x seed step session tid`` the innermost function wrote."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[tuple[int, str, int, int, str, int]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            pid, x, seed, step, name, tid = line.split()
            out.append((int(pid), x, int(seed), int(step), name, int(tid)))
        return out

    def per_run(self) -> dict[tuple[str, int], list[int]]:
        """(x, seed) -> the steps executed for it, in order."""
        runs: dict[tuple[str, int], list[int]] = {}
        for _, x, seed, step, _, _ in self.lines():
            runs.setdefault((x, seed), []).append(step)
        return runs

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture
def steps(tmp_path, monkeypatch) -> StepLog:
    path = tmp_path / "steps.txt"
    monkeypatch.setenv(dsl_checkpoint_spec.STEPS_VARIABLE, str(path))
    return StepLog(path)


@pytest.fixture(autouse=True)
def _fresh_leave():
    dsl_checkpoint_spec._left.clear()
    reset_leave()
    yield
    dsl_checkpoint_spec._left.clear()
    reset_leave()


def _innermost_sessions(run_name: str) -> set[str]:
    """The seed sessions of a run (their AST paths end inside a setting: ``@<hash>``)."""
    sessions = state.read(run_name)["sessions"]
    return {name for path, name in sessions.items() if any(part.startswith("@") for part in path)}


def _reference(steps: StepLog, seed: int):
    result = run_experiment(SPEC, {}, seed=seed)
    assert all(Counter(run) == Counter(range(STEPS)) for run in steps.per_run().values())
    steps.reset()
    return result


def test_the_innermost_trial_saves_and_resumes_its_own_checkpoints(steps):
    reference = _reference(steps, seed=3)

    # Each seed's first attempt hands its trial back at step 5 (a cut); its
    # inline worker claims it again and the function continues from there.
    resumed = run_experiment(SPEC, {"suspend_at": 5}, seed=3)

    assert canonical(resumed.results) == canonical(reference.results)
    lines = steps.lines()
    runs = steps.per_run()
    assert len(runs) == 4
    for run in runs.values():
        assert run == list(range(STEPS)), "a step was executed twice, or the trial started over"
    # Every checkpoint was the seed trial's (the innermost), never the setting's.
    assert {name for *_, name, _ in lines} <= _innermost_sessions(resumed.name)
    for name in _innermost_sessions(resumed.name):
        trials = session.trial_docs(name)
        assert all(doc["result"]["status"] == "ok" for doc in trials)


def test_a_worker_told_to_leave_hands_back_every_enclosing_trial(steps):
    reference = _reference(steps, seed=5)

    # As Slurm's warning signal would: the worker is told to leave in the
    # middle of the first seed. The function saves and suspends, and each
    # sampling node hands back the trial around it.
    with pytest.raises(SamplingError, match="told to leave"):
        run_experiment(SPEC, {"leave_at": 4}, seed=5)
    name = stored_runs()[0]["name"]  # the newest
    outer = [n for n in state.read(name)["sessions"].values() if n not in _innermost_sessions(name)]
    assert len(outer) == 1
    rows = {row.tid: row for row in session.trial_rows(outer[0])}
    assert rows[0].state == "waiting", "the setting's trial waits for its next attempt (not failed)"
    assert list(steps.per_run().values()) == [[0, 1, 2, 3, 4]]

    reset_leave()
    resumed = run_experiment(SPEC, {"leave_at": 4}, resume=name)
    assert canonical(resumed.results) == canonical(reference.results)
    for run in steps.per_run().values():
        assert run == list(range(STEPS)), "a step was executed twice, or the trial started over"


def test_a_local_worker_that_gets_the_warning_signal_hands_back_its_trials(steps, tmp_path):
    reference = _reference(steps, seed=13)

    # The settings run on a local worker process (`ssearch work_on`), their
    # seeds inline in it; SIGUSR1 there, as Slurm's warning signal.
    argv = [str(RUN_EXP), SPEC, "--pause=0.1", "--outer_method=cpu", "--seed=13"]
    cut = subprocess.Popen(argv, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: len(steps.lines()) >= 5, 120, "the worker's steps")
    worker = steps.lines()[0][0]
    os.kill(worker, signal.SIGUSR1)
    out, err = cut.communicate(timeout=120)
    assert cut.returncode != 0  # its launcher saw its only worker leave
    # ... and says so: not a failure of the worker, and how to go on.
    assert "told to leave (a signal) and handed their trials back" in err and "exit codes" not in err
    name = re.search(r"running (exp:\S+)", out + err).group(1)
    outer = [n for n in state.read(name)["sessions"].values() if n not in _innermost_sessions(name)]
    (row,) = [row for row in session.trial_rows(outer[0]) if row.state != "ok"]
    assert row.state == "waiting", "the setting's trial is handed back, not failed"
    before = steps.per_run()
    assert len(before) == 1 and len(next(iter(before.values()))) < STEPS
    steps.reset()

    resumed = subprocess.run(argv + [f"--resume={name}"], cwd=HERE, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert canonical(state.read(name)["results"]) == canonical(reference.results)
    after = steps.per_run()
    for key, run in before.items():
        assert run + after[key] == list(range(STEPS)), "the cut trial did not continue where it left"
    assert row.attempt == 1 and session.trial_rows(outer[0])[row.tid].attempt == 2


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.02)


def test_kill_9_of_an_inline_run_then_resume_continues_the_trial_from_its_checkpoint(steps, tmp_path):
    reference = _reference(steps, seed=11)

    argv = [str(RUN_EXP), SPEC, "--pause=0.15", "--seed=11"]
    log = tmp_path / "killed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, cwd=HERE, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # In the middle of the first setting's second seed.
        _wait_for(lambda: len(steps.lines()) >= STEPS + 5, 120, "the killed run's steps")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    name = re.search(r"running (exp:\S+)", log.read_text()).group(1)
    before = steps.per_run()
    cut = [key for key, run in before.items() if len(run) < STEPS]
    assert len(cut) == 1 and before[cut[0]], before
    last = before[cut[0]][-1]
    steps.reset()

    resumed = subprocess.run(
        argv + [f"--resume={name}"], cwd=HERE, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert state.read(name)["status"] == "complete"
    assert canonical(state.read(name)["results"]) == canonical(reference.results)
    after = steps.per_run()
    # The interrupted trial continued from its checkpoint: at most the step
    # in progress at the kill (one checkpoint interval) is done again.
    assert after[cut[0]][0] in (last, last + 1), (before[cut[0]], after[cut[0]])
    assert after[cut[0]] == list(range(after[cut[0]][0], STEPS))
    for key in before:
        if key not in cut:
            assert key not in after, "a finished trial was computed again"
    assert sum(len(run) for run in before.values()) + sum(len(run) for run in after.values()) <= 4 * STEPS + 1


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
