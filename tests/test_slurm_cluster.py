"""The local Slurm cluster does what the Slurm path of slurm-search relies on:
array jobs run every task with its SLURM_ARRAY_TASK_ID, in the submitting
environment and folder, with the virtualenv's Python; time limits kill jobs;
scancel of one array task leaves the others; over-limit jobs are refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slurm

# Generous bounds for a busy two-core machine; they are not timings.
_JOB_TIMEOUT = 180.0
# Slurm checks time limits about every 30 s, then waits KillWait (5 s).
_TIME_LIMIT_BOUND = 150.0

_TASK_SCRIPT = """\
import os, pathlib, sys
task = os.environ["SLURM_ARRAY_TASK_ID"]
pathlib.Path(f"task-{task}.txt").write_text(
    "\\n".join([task, os.environ.get("SLURM_CLUSTER_TEST_MARK", ""), sys.prefix, os.getcwd(),
               os.environ.get("SLURM_SEARCH_HOME", "")]))
"""


def _wait_until_running(slurm_cluster, job_id: str, count: int) -> dict[str, str]:
    deadline = time.monotonic() + _JOB_TIMEOUT
    while True:
        states = slurm_cluster.squeue_states(job_id)
        running = {k: v for k, v in states.items() if v == "RUNNING"}
        if len(running) == count:
            return running
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id}: {count} tasks not running after {_JOB_TIMEOUT:.0f} s: {states}")
        time.sleep(0.5)


def test_partitions(slurm_cluster):
    assert slurm_cluster.partitions == ["debug", "low", "short", "urgent"]
    assert slurm_cluster.default_partition == "debug"
    # Preemption: only low's jobs are preempted (requeued), by urgent's.
    fields = {}
    for line in subprocess.run(["scontrol", "-o", "show", "partition"], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        item = dict(f.split("=", 1) for f in line.split() if "=" in f)
        fields[item["PartitionName"]] = (item["PriorityTier"], item["PreemptMode"], item["GraceTime"])
    top = max(int(tier) for tier, _, _ in fields.values())
    # Nothing outranks debug, short or urgent: only low's jobs can be preempted.
    assert {name for name, (tier, _, _) in fields.items() if int(tier) < top} == {"low"}, fields
    assert fields["low"] == ("1", "REQUEUE", "15"), fields


def test_array_job_runs_every_task_in_the_submitting_environment(slurm_cluster, tmp_path):
    (tmp_path / "task.py").write_text(_TASK_SCRIPT)
    env = dict(os.environ, SLURM_CLUSTER_TEST_MARK="mark-42")
    job = slurm_cluster.submit(
        ["--array=0-3", "--time=5", f"--output={tmp_path}/slurm-%A_%a.out",
         "--wrap", f"{sys.executable} task.py"],
        cwd=tmp_path, env=env,
    )
    final = slurm_cluster.wait_for_job(job, timeout=_JOB_TIMEOUT)

    for task in range(4):
        path = tmp_path / f"task-{task}.txt"
        assert path.exists(), f"task {task} wrote nothing; final states {final}; " + " ".join(
            p.read_text() for p in tmp_path.glob("slurm-*.out"))
        task_id, mark, prefix, cwd, home = path.read_text().split("\n")
        assert task_id == str(task)
        assert mark == "mark-42"  # sbatch exports the submitting environment
        assert prefix == sys.prefix  # the virtualenv's Python runs on the node
        assert cwd == str(tmp_path)  # the job starts where it was submitted
        assert home == os.environ["SLURM_SEARCH_HOME"]
    assert sorted(p.name for p in tmp_path.glob("task-*.txt")) == [f"task-{i}.txt" for i in range(4)]
    if final:  # slurmctld forgets finished jobs after MinJobAge
        assert set(final.values()) == {"COMPLETED"}, final


@pytest.mark.slow
def test_time_limit_kills_the_job(slurm_cluster, tmp_path):
    out = tmp_path / "job.out"
    job = slurm_cluster.submit(
        ["--partition=short", "--time=1", f"--output={out}", "--wrap", "echo started; sleep 600"],
        cwd=tmp_path,
    )
    # Raises JobWaitTimeout if the job outlives its limit by far.
    final = slurm_cluster.wait_for_job(job, timeout=_TIME_LIMIT_BOUND, poll=1.0)

    text = out.read_text()
    assert "started" in text
    assert "DUE TO TIME LIMIT" in text
    if final:
        assert final == {job: "TIMEOUT"}


def test_over_the_partition_time_limit_is_refused(slurm_cluster, tmp_path):
    with pytest.raises(slurm_cluster.CommandError, match="time limit"):
        slurm_cluster.submit(["--partition=short", "--time=5", "--wrap", "true"], cwd=tmp_path)


def test_scancel_of_one_array_task_leaves_the_others(slurm_cluster, tmp_path):
    job = slurm_cluster.submit(
        ["--array=0-3", "--time=10", f"--output={tmp_path}/slurm-%A_%a.out", "--wrap", "sleep 600"],
        cwd=tmp_path,
    )
    try:
        _wait_until_running(slurm_cluster, job, 4)
        slurm_cluster.cancel(f"{job}_1")
        slurm_cluster.wait_for_job(f"{job}_1", timeout=_JOB_TIMEOUT)

        left = slurm_cluster.squeue_states(job)
        assert left == {f"{job}_{i}": "RUNNING" for i in (0, 2, 3)}
        assert slurm_cluster.job_states(f"{job}_1") in ({}, {f"{job}_1": "CANCELLED"})
    finally:
        slurm_cluster.cancel(job)
    slurm_cluster.wait_for_job(job, timeout=_JOB_TIMEOUT)
    assert slurm_cluster.squeue_states(job) == {}
