"""Trials that outlive their job (issue 23), on the 3-node Slurm cluster of this machine.

The trials are `ckpt_objectives.stepper`: steps of 1 s that each save a
checkpoint and append a line to a step log in the shared folder, so that a
test counts the steps run, redone work included, and sees on which node each
attempt started from which step. The results are deterministic: a trial
resumed from its checkpoints must give exactly the uninterrupted result.

- Time limits: the `short` partition (1-minute limit) with trials of 100 s;
  every trial needs two or more jobs (generations).
- Preemption: a session on `low` with `--requeue`, preempted by a job of
  `urgent` that needs every node (SIGTERM, GraceTime 15 s).
- Node death: `kill -9` of a node's slurmd and job steps mid-trial.
- PBT (issue 24): a population of `demo.pbt_toy` members of 90 s on the
  `short` partition: every member finishes across jobs, exploits copy
  their donors' checkpoints, and each result replays from its schedule.

A step is redone only if its attempt ended between the step's log line and
its checkpoint: a cut that the worker hears about (the job's deadline,
Slurm's signals) suspends after a checkpoint and redoes nothing; a hard kill
redoes at most the step that was running. So the bound asserted is one step
(one checkpoint interval, 1 s) per cut.

The module's fixture (`cluster`, from test_slurm_multinode) switches the
machine's Slurm to 3 nodes and puts the one-node cluster back at the end.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from ckpt_objectives import attempts, read_steps, uninterrupted
from test_slurm_multinode import NODE_NAMES, SSEARCH, _run, _script, cluster  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

TESTS = Path(__file__).resolve().parent


def _env(home: Path, **extra: str) -> dict[str, str]:
    """The launcher's environment; sbatch passes it on to the jobs, which import ckpt_objectives."""
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, SLURM_SEARCH_HOME=str(home), PYTHONPATH=path, **extra)


def _session(home: Path, monkeypatch, trials: int, steps: int, log: Path, **own) -> str:
    """A session of `trials` stepper trials in the shared folder's store `home`."""
    from hyperopt import hp

    from slurm_search import session

    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    return session.create_session(
        objective="ckpt_objectives:stepper",
        space={"x": hp.uniform("x", -1, 1)},
        context={"steps": steps, "sleep": 1.0, "log": str(log)},
        algo="rand",
        max_evals=trials,
        seed=23,
        name=f"ckpt_{uuid.uuid4().hex[:8]}",
        **own,
    )


def _launch(home: Path, name: str, workers: int, *slurm: str, **env: str) -> None:
    """`ssearch restart NAME --method=slurm ...`: the CLI's launch of an existing session."""
    proc = _run([SSEARCH, "restart", name, "--method=slurm", f"--workers={workers}", *slurm],
                env=_env(home, **env), cwd=home.parent, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _wait_done(name: str, timeout: float, on_progress=None):
    from slurm_search import session

    deadline = time.monotonic() + timeout
    while True:
        progress = session.progress(name)
        if progress.status != "running":
            return progress
        if on_progress is not None:
            on_progress()
        assert time.monotonic() < deadline, f"session still running after {timeout:.0f} s: {progress}"
        time.sleep(1)


def _check_results(name: str, trials: int, steps: int) -> None:
    """Every trial ok, with exactly the result of an uninterrupted run."""
    from slurm_search import session

    results = session.results(name)
    assert len(results) == trials, results
    for r in results:
        assert r.loss == uninterrupted(r.params["x"], steps), (r.tid, r.loss, uninterrupted(r.params["x"], steps))


def _work(log: Path, trials: int, steps: int) -> tuple[int, int, dict[int, list]]:
    """(steps redone, cuts, tid -> attempts) from the step log; asserts every step of every trial ran."""
    ran = read_steps(log)
    assert sorted(ran) == list(range(trials)), sorted(ran)
    redone = cuts = 0
    runs = {}
    for tid, done in ran.items():
        assert {s.step for s in done} == set(range(steps)), f"trial {tid} skipped steps"
        runs[tid] = attempts(done)
        cuts += len(runs[tid]) - 1
        redone += len(done) - steps
        for before, after in zip(runs[tid], runs[tid][1:]):
            # Each attempt continues where the previous one's checkpoint was, never from 0.
            assert after[0].step in (before[-1].step, before[-1].step + 1), (tid, before[-1], after[0])
    return redone, cuts, runs


def _records(name: str) -> collections.Counter:
    from slurm_search import state

    records, _ = state.records(name)
    return collections.Counter(type(r).__name__ for r in records)


def _warning_lines(home: Path, name: str) -> list[str]:
    logs = home / "search" / name.split(":")[1] / "logs"
    return [line for path in sorted(logs.glob("*.err")) for line in path.read_text().splitlines()
            if "warning signal" in line or "asked to leave" in line]


def test_trials_longer_than_the_time_limit_complete_across_generations(cluster, monkeypatch):  # noqa: F811 - the imported fixture
    from slurm_search import session

    home, log = cluster / f"home-{uuid.uuid4().hex[:8]}", cluster / f"steps-{uuid.uuid4().hex[:8]}.log"
    trials, steps = 3, 100  # 100 s each: no 1-minute job can finish one
    name = _session(home, monkeypatch, trials, steps, log, lease_seconds=20)
    t0 = time.monotonic()
    _launch(home, name, trials, "--slurm:partition=short", "--slurm:time=1", "--slurm:generations=6")
    progress = _wait_done(name, 330)
    wall = time.monotonic() - t0
    jobs = session.annotations(name).get("slurm_jobs", [])
    assert progress.status == "done" and progress.completed == trials and progress.failed == 0, progress
    _check_results(name, trials, steps)
    redone, cuts, runs = _work(log, trials, steps)
    records = _records(name)
    per_attempt = [len(run) for tid in runs for run in runs[tid]]
    warnings = _warning_lines(home, name)
    print(f"{trials} trials of {steps} s on 1-minute jobs: {len(jobs)} generations, {wall:.0f} s; "
          f"{cuts} cuts, {redone} steps redone; steps per attempt {per_attempt}; records {dict(records)}")
    print("\n".join(warnings[:12]))
    assert all(len(r) >= 2 for r in runs.values()), "a trial fitted in one job: the test proves nothing"
    assert redone <= cuts, f"{redone} steps redone for {cuts} cuts: more than one checkpoint interval per cut"
    # The cuts were hand-overs (Suspend records), not leases running out.
    assert records["Suspend"] >= cuts, records


def _submit_urgent(seconds: int) -> str:
    """A job of the urgent partition that needs every node whole: it preempts the low jobs."""
    proc = _run(["sbatch", "--parsable", "--partition=urgent", "--exclusive", f"--nodes={len(NODE_NAMES)}",
                 "--output=/dev/null", "--wrap", f"sleep {seconds}"])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().split(";")[0]


def _job_field(job: str, field: str) -> str | None:
    out = _run(["scontrol", "-o", "show", "job", job]).stdout
    for line in out.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if field in fields:
            return fields[field]
    return None


def test_a_preempted_low_priority_session_resumes_every_trial(cluster, monkeypatch):  # noqa: F811 - the imported fixture
    from slurm_search import session

    home, log = cluster / f"home-{uuid.uuid4().hex[:8]}", cluster / f"steps-{uuid.uuid4().hex[:8]}.log"
    trials, steps = 3, 60
    name = _session(home, monkeypatch, trials, steps, log, lease_seconds=20)
    _launch(home, name, trials, "--slurm:partition=low", "--slurm:requeue=true", "--slurm:generations=4")
    urgent: list[str] = []
    at_preemption: dict[int, int] = {}

    def preempt_when_under_way():
        if urgent:
            return
        ran = read_steps(log)
        if len(ran) == trials and min(len(s) for s in ran.values()) >= 8:
            at_preemption.update({tid: len(s) for tid, s in ran.items()})
            urgent.append(_submit_urgent(10))

    t0 = time.monotonic()
    progress = _wait_done(name, 240, on_progress=preempt_when_under_way)
    wall = time.monotonic() - t0
    assert urgent, f"the session ended before it could be preempted: {progress}"
    assert progress.status == "done" and progress.completed == trials and progress.failed == 0, progress
    _check_results(name, trials, steps)
    redone, cuts, runs = _work(log, trials, steps)
    records = _records(name)
    jobs = [str(j) for j in session.annotations(name).get("slurm_jobs", [])]
    restarts = _job_field(jobs[0], "Restarts")
    warnings = _warning_lines(home, name)
    print(f"preempted by job {urgent[0]} after {at_preemption} steps; {wall:.0f} s; jobs {jobs} "
          f"(first: Restarts={restarts}); {cuts} cuts, {redone} steps redone; records {dict(records)}")
    print("\n".join(warnings[:12]))
    assert all(len(r) >= 2 for r in runs.values()), {tid: len(r) for tid, r in runs.items()}
    # Work lost per preemption: at most one checkpoint interval (one step).
    assert redone <= cuts, f"{redone} steps redone for {cuts} cuts"
    assert records["Suspend"] >= trials, records  # handed back at the SIGTERM, not after a lease
    assert any("SIGTERM" in line for line in warnings), warnings
    _run(["scancel", *jobs])  # the requeued first generation, still waiting for its BeginTime


def test_a_trial_on_a_node_killed_9_continues_from_its_checkpoint_elsewhere(cluster, monkeypatch):  # noqa: F811 - the imported fixture
    home, log = cluster / f"home-{uuid.uuid4().hex[:8]}", cluster / f"steps-{uuid.uuid4().hex[:8]}.log"
    trials, steps = 2, 40
    # Short leases and lock grace: the killed node's trial and locks come back in seconds.
    name = _session(home, monkeypatch, trials, steps, log, lease_seconds=8)
    _launch(home, name, 6, "--slurm:partition=debug", SLURM_SEARCH_LOCK_GRACE="10")
    victim: dict[str, object] = {}

    def kill_when_under_way():
        if victim:
            return
        ran = read_steps(log)
        if 0 not in ran or len(ran[0]) < 8:
            return
        node = ran[0][-1].host
        pids = _script("pids", node, timeout=30).split()
        assert pids, f"no process found on {node}"
        subprocess.run(["kill", "-KILL", *pids], check=False)  # slurmd, its job steps and their workers
        time.sleep(0.5)
        victim.update(node=node, steps=len(read_steps(log)[0]))

    t0 = time.monotonic()
    progress = _wait_done(name, 200, on_progress=kill_when_under_way)
    wall = time.monotonic() - t0
    assert victim, f"the session ended before a node could be killed: {progress}"
    assert progress.status == "done" and progress.completed == trials and progress.failed == 0, progress
    _check_results(name, trials, steps)
    redone, cuts, runs = _work(log, trials, steps)
    print(f"killed {victim['node']} at step {victim['steps']} of trial 0; {wall:.0f} s; "
          f"trial 0's attempts: {[(r[0].host, r[0].step, r[-1].step) for r in runs[0]]}; {redone} steps redone")
    first, *later = runs[0]
    assert first[0].host == victim["node"] and later, runs[0]
    # The trial went on from its checkpoint on another node, not from step 0.
    assert later[0][0].host != victim["node"] and later[0][0].step >= victim["steps"] - 1, later[0][0]
    assert redone <= cuts, f"{redone} steps redone for {cuts} cuts"


def test_a_pbt_population_longer_than_the_time_limit_finishes_with_a_consistent_lineage(cluster, monkeypatch):  # noqa: F811 - the imported fixture
    import pickle

    from hyperopt import hp

    from slurm_search import session, state
    from slurm_search.session import demo
    from slurm_search.session._events import Exploit
    from slurm_search.session._view import View

    home, count = cluster / f"home-{uuid.uuid4().hex[:8]}", cluster / f"count-{uuid.uuid4().hex[:8]}.txt"
    population, steps, interval = 4, 120, 5  # 0.75 s a step: 90 s a member, no 1-minute job can train one
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    name = session.create_session(
        "slurm_search.session.demo:pbt_toy", {"h": hp.uniform("h", 0.0, 1.0)}, algo="pbt", seed=24,
        pbt_options={"population": population, "interval": interval, "max_steps": steps, "quantile": 0.25},
        context={"steps": steps, "interval": interval, "sleep": 0.75, "count": str(count)},
        name=f"pbt_{uuid.uuid4().hex[:8]}", lease_seconds=20,
        checkpoints={"keep": 1000, "keep_finished": True},  # every checkpoint kept, to compare the copies
    )
    t0 = time.monotonic()
    # Generous bounds for a loaded two-core machine (a cold cluster's first jobs start slowly): they are not timings.
    _launch(home, name, population, "--slurm:partition=short", "--slurm:time=1", "--slurm:generations=12")
    progress = _wait_done(name, 720)
    wall = time.monotonic() - t0
    assert progress.status == "done" and progress.completed == population and progress.failed == 0, progress
    results = {r.tid: r.loss for r in session.results(name)}
    assert sorted(results) == list(range(population))  # the population never shrank
    rows = {row.tid: row for row in session.trial_rows(name)}
    exploits = [r for r in state.records(name)[0] if isinstance(r, Exploit)]
    records = _records(name)
    print(f"PBT of {population} x {steps} steps on 1-minute jobs: {wall:.0f} s; attempts "
          f"{[rows[t].attempt for t in sorted(rows)]}; {len(exploits)} exploits; records {dict(records)}")
    assert any(row.attempt >= 2 for row in rows.values()), "every member fitted in one job: nothing was tested"
    assert exploits, "no member exploited: nothing was tested"
    # Each result is what one fresh member trained along its schedule gets (the lineage is whole) ...
    for tid, loss in results.items():
        entries = session.pbt_schedule(name, tid)
        replayed = sum(demo.pbt_gain([p for s, p in entries if s <= t][-1]["h"], t, steps) for t in range(steps))
        assert -loss == pytest.approx(replayed, rel=1e-9), (tid, entries)
    # ... and each exploit's checkpoint is a byte copy of the donor's at the step recorded.
    uid = View(name).refresh().spec.uid
    folder = state.paths(name).dir / "checkpoints"
    for e in exploits:
        copy = state.read_blob(folder / f"{uid[:8]}.{e.tid}" / f"{e.seq:08d}.ckpt", name)
        assert copy == state.read_blob(folder / f"{uid[:8]}.{e.donor}" / f"{e.donor_seq:08d}.ckpt", name)
        assert pickle.loads(copy)["step"] == e.donor_step and e.donor != e.tid and e.step % interval == 0
    # Steps run: the budget, plus what members that went back trained again, plus at most an
    # interval per cut (a member told to leave goes on to its next checkpoint).
    ran = sum(int(line) for line in count.read_text().split())
    back = sum(max(0, e.step - e.donor_step) for e in exploits)
    ahead = sum(max(0, e.donor_step - e.step) for e in exploits)
    cuts = sum(row.attempt - 1 for row in rows.values())
    assert ran <= population * steps + back - ahead + interval * cuts, (ran, back, ahead, cuts)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v", "-s"]))
