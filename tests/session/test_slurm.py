"""Sessions on the REAL local Slurm cluster (scripts/slurm-cluster.sh).

Partitions there: `debug` (default, MaxTime 1 day) and `short` (MaxTime 1
minute). Each test is sized to its purpose; together they take a few minutes.
"""

from __future__ import annotations

import socket
import time

import pytest

from slurm_search import session, state
from slurm_search.session._events import Claim, Result
from slurm_search.session.workers import launch
from slurm_search.session.workers._registry import session_arguments

from _cli_helpers import assert_one_line_error, ssearch

pytestmark = pytest.mark.slurm


def _demo(max_evals, sleep, **own):
    args = session_arguments("demo", {"sleep": sleep})
    args.update(max_evals=max_evals, algo="rand", **own)
    return session.create_session(**args)


def _events(name):
    records, _ = state.records(name)
    return records


def _wait_until(predicate, timeout, what, poll=0.5):
    start = time.monotonic()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() - start > timeout:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def _assert_each_tid_once(name, count):
    results = [rec for rec in _events(name) if isinstance(rec, Result)]
    tids = sorted(rec.tid for rec in results)
    assert tids == list(range(count)), "every trial recorded exactly once"
    assert sorted(r.tid for r in session.results(name)) == list(range(count))


def test_array_survives_a_task_cancelled_mid_trial(slurm_cluster):
    name = _demo(200, 0.2, lease_seconds=5.0, seed=7)
    launched = launch(name, method="slurm", workers=4, wait=False)
    job = launched.job_id

    def running_trial_of(task):
        worker = f"{socket.gethostname()}:slurm-{job}_{task}"
        for doc in session.trial_docs(name):
            if doc["owner"] == worker and doc["result"]["status"] == "new":
                return doc["tid"]
        return None

    interrupted = None
    for task in (1, 2):  # a second try if the kill fell between two trials
        worker = f"{socket.gethostname()}:slurm-{job}_{task}"
        tid = _wait_until(lambda: running_trial_of(task), 180, f"task {task} to run a trial")
        slurm_cluster.cancel(f"{job}_{task}", kill=True)  # SIGTERM would let it finish its trial
        slurm_cluster.wait_for_job(f"{job}_{task}", timeout=60)
        claims = [rec for rec in _events(name) if isinstance(rec, Claim) and rec.worker == worker]
        last = claims[-1]
        done_by_it = any(
            isinstance(rec, Result) and rec.worker == worker and rec.tid == last.tid for rec in _events(name)
        )
        if not done_by_it:
            interrupted = (worker, last.tid, tid)
            break
    assert interrupted is not None, "the cancelled tasks were never caught in the middle of a trial"

    progress = launched.wait(show=False)
    assert progress.status == "done" and progress.completed == 200 and progress.failed == 0
    _assert_each_tid_once(name, 200)
    worker, tid, _ = interrupted
    [rerun] = [rec for rec in _events(name) if isinstance(rec, Result) and rec.tid == tid]
    assert rerun.worker != worker and rerun.attempt >= 2, "the cut-off trial was re-run by another task"
    slurm_cluster.wait_for_job(job, timeout=120)
    assert session.annotations(name)["slurm_jobs"] == [job]


def test_a_search_longer_than_the_time_limit_continues_in_a_new_generation(slurm_cluster):
    # Two tasks, 1 s trials, 150 trials: one 1-minute generation cannot finish.
    name = _demo(150, 1.0, lease_seconds=10.0, seed=3)
    launched = launch(
        name, method="slurm", workers=2, wait=False,
        slurm={"partition": "short", "time": "1", "generations": 5},
    )
    progress = _wait_until(
        lambda: (p := session.progress(name)).status == "done" and p, 330, "the session to finish", poll=2
    )
    assert progress.completed == 150 and progress.failed == 0
    _assert_each_tid_once(name, 150)
    notes = session.annotations(name)
    generation, jobs = notes["slurm_generation"], notes["slurm_jobs"]
    assert generation >= 1, "the search went on in a second generation"
    assert jobs[0] == launched.job_id and len(jobs) == len(set(jobs)) == generation + 1
    logs = state.paths(name).dir / "logs"
    # Exactly one submission per generation, each with the same options.
    scripts = sorted(logs.glob("generation_*.sbatch"))
    assert [p.name for p in scripts] == [f"generation_{g}.sbatch" for g in range(generation + 1)]
    for path in scripts:
        text = path.read_text()
        assert "#SBATCH --partition=short\n" in text and "#SBATCH --time=1\n" in text
    for job in jobs:
        slurm_cluster.wait_for_job(job, timeout=120)


def test_stop_cancels_the_sessions_jobs(slurm_cluster):
    proc = ssearch("start", "demo", "max_evals=500", "sleep=1", "--method=slurm", "--workers=2")
    assert proc.returncode == 0, proc.stderr
    name = proc.stdout.strip()
    [job] = session.annotations(name)["slurm_jobs"]
    _wait_until(lambda: session.progress(name).completed > 0, 180, "the first result")
    assert slurm_cluster.squeue_states(job)
    stopped = ssearch("stop", name)
    assert stopped.returncode == 0, stopped.stderr
    assert f"cancelled Slurm job {job}" in stopped.stderr
    slurm_cluster.wait_for_job(job, timeout=60)
    assert slurm_cluster.squeue_states(job) == {}
    assert session.progress(name).status == "stopped"


def test_a_real_refusal_is_quoted(slurm_cluster):
    proc = ssearch("start", "demo", "--method=slurm", "--slurm:partition=no_such_partition")
    line = assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "sbatch failed", "no_such_partition")
    assert "invalid partition" in line.lower()
    name = proc.stdout.strip()
    assert session.annotations(name).get("slurm_jobs") in (None, [])
