"""The worker loop: in this process, and as real processes killed with SIGKILL."""

from __future__ import annotations

import collections
import os
import time

import pytest
from _session_helpers import kill_mid_trial, workers  # noqa: F401 - a fixture
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session import demo
from slurm_search.session._events import Claim, Result
from slurm_search.session._view import View

SPACE = {"x": hp.uniform("x", 0, 1)}


def test_work_on_runs_a_session_to_the_end():
    name = session.create_session("session_test_objectives:with_extras", SPACE, max_evals=12)
    report = session.work_on(name, worker_id="me")
    assert report == (12, 0, 0, "done")
    rs = session.results(name)
    assert [r.tid for r in rs] == list(range(12))
    assert all(r.result["pid"] == os.getpid() and r.result["note"] == "kept" for r in rs)
    assert session.progress(name).mean_duration is not None
    assert session.work_on(name).reason == "done"  # nothing left: returns at once


def test_failures_are_retried_then_fail_the_session_with_the_traceback():
    name = session.create_session(
        "session_test_objectives:boom", SPACE, max_evals=10, max_attempts=2, max_failures=1,
        error_attempts=2,
    )
    report = session.work_on(name)
    # Trial 0 fails twice (failed 1: tolerated), trial 1 twice (failed 2 > 1).
    assert report == (0, 4, 0, "failed")
    p = session.progress(name)
    assert (p.status, p.failed, p.completed) == ("failed", 2, 0)
    assert "ValueError: boom at" in p.last_traceback and "Traceback" in p.last_traceback
    docs = session.trial_docs(name)
    assert [d["result"]["status"] for d in docs] == ["fail", "fail"]
    assert session.work_on(name).reason == "failed"


def test_a_bad_return_value_is_a_failure():
    name = session.create_session(
        "session_test_objectives:returns_text", SPACE, max_evals=2, max_attempts=1, max_failures=5
    )
    # Both failed: within max_failures, but a session with no ok trial is failed.
    assert session.work_on(name) == (0, 2, 0, "failed")
    # One line saying what was returned: the traceback would only show our frames.
    assert session.progress(name).last_traceback.startswith("the objective returned 'not a loss': return a finite")


def test_some_failures_are_tolerated():
    name = session.create_session(
        "slurm_search.session.demo:objective", demo.space(), max_evals=30, seed=5,
        context={"fail": 0.2}, max_attempts=2, max_failures=30,
    )
    report = session.work_on(name)
    p = session.progress(name)
    assert p.status == "done" and p.completed + p.failed == 30
    assert 0 < p.failed < 30 and report.completed == p.completed


def test_a_stopped_session_stops_its_worker():
    name = session.create_session(OBJ_SLEEPY, SPACE, max_evals=10, context={"sleep": 0})
    session.stop(name)
    assert session.work_on(name).reason == "stopped"
    session.enable(name)
    assert session.work_on(name).reason == "done"


OBJ_SLEEPY = "session_test_objectives:sleepy"


def test_deadline_in_the_past_claims_nothing():
    name = session.create_session(OBJ_SLEEPY, SPACE, max_evals=3, context={"sleep": 0})
    assert session.work_on(name, deadline=time.time() - 1) == (0, 0, 0, "deadline")
    assert session.progress(name).completed == 0


def test_deadline_stops_claiming_when_a_trial_no_longer_fits():
    name = session.create_session(OBJ_SLEEPY, SPACE, max_evals=10, context={"sleep": 1.0})
    # After one trial of >= 1 s, less than 1 s is left: no second claim.
    report = session.work_on(name, deadline=time.time() + 1.9)
    assert report.reason == "deadline" and report.completed <= 1
    p = session.progress(name)
    assert p.running == 0 and p.status == "running"


def test_a_worker_waits_for_a_dead_workers_lease_then_reruns_its_trial():
    name = session.create_session(OBJ_SLEEPY, SPACE, max_evals=2, context={"sleep": 0}, lease_seconds=1.0)
    dead = session.next_trial(name, "dead-worker")  # claimed, never reported
    report = session.work_on(name, worker_id="alive")
    assert report == (2, 0, 0, "done")
    trial = View(name).refresh().trials[dead.tid]
    assert (trial.owner, trial.attempt) == ("alive", 2)


@pytest.mark.slow
def test_four_processes_one_killed_mid_trial(workers):  # noqa: F811
    name = session.create_session(
        "slurm_search.session.demo:objective", demo.space(), max_evals=200, seed=7,
        context={"sleep": 0.1}, lease_seconds=2.0,
    )
    procs = workers(name, 4)
    victim = procs[0]
    # Wait until the victim is evaluating a trial, then kill it mid-objective.
    killed_tid = kill_mid_trial(name, victim, lambda owner: owner.split(":")[1] == str(victim.pid), min_ok=20)
    for p in procs[1:]:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    p = session.progress(name)
    assert (p.status, p.completed, p.failed, p.running) == ("done", 200, 0, 0)
    docs = session.trial_docs(name)
    assert sorted(d["tid"] for d in docs) == list(range(200))
    st = View(name).refresh()
    killed = st.trials[killed_tid]
    # The killed worker's trial was re-run by another worker, with the same params.
    assert killed.status == "ok" and killed.attempt == 2
    assert killed.owner.split(":")[1] != str(victim.pid)
    recs, _ = state.records(name)
    results = collections.Counter(r.tid for r in recs if isinstance(r, Result))
    assert set(results.values()) == {1} and len(results) == 200  # each tid recorded once
    first_claim = next(r for r in recs if isinstance(r, Claim) and r.tid == killed_tid)
    assert first_claim.worker.split(":")[1] == str(victim.pid)
    assert killed.vals == first_claim.vals


def test_a_worker_compiles_the_space_before_it_first_takes_the_session_lock(tmp_path):
    # rand suggests under the session's lock: a worker that imported hyperopt
    # there, at its first claim, held the lock for that import while the
    # workers that started with it queued (bench_multinode: 43 ms holds).
    import subprocess
    import sys

    name = session.create_session("session_test_objectives:noop", SPACE, max_evals=3)
    code = f"""
import sys
from pathlib import Path
from slurm_search.locking import _flock, _soft
seen = []
for cls in (_flock.FlockBackend, _soft.SoftBackend):
    def acquire(self, deadline, _real=cls.acquire):
        if Path(self._path).name == {name!r} + ".lock":
            seen.append("hyperopt" in sys.modules)
        return _real(self, deadline)
    cls.acquire = acquire
from slurm_search.session import work_on
assert "hyperopt" not in sys.modules
print(work_on({name!r}).completed, seen)
"""
    tests = os.path.dirname(__file__)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    completed, seen = out.stdout.strip().split(" ", 1)
    assert completed == "3"
    assert seen.startswith("[True") and "False" not in seen
