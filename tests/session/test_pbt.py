"""Population-based training with real worker processes: exploits, kill -9, lineage against the checkpoints.

The members run `demo.pbt_toy` (a deterministic score that accumulates
exp(-((h - h*(t)) / 0.1)**2) while h* moves), so a member's final score is
exactly what training from scratch along its schedule gives: the lineage
recorded in the log must replay to the result, whatever was killed.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _session_helpers import worker_env
from hyperopt import hp

from slurm_search import session
from slurm_search import state as store
from slurm_search.session import demo
from slurm_search.session._events import Checkpoint, Exploit
from slurm_search.session._view import View

SSEARCH = str(Path(sys.executable).with_name("ssearch"))
STEPS = 60


def _create(trial_timeout: float | None = None, **pbt) -> str:
    return session.create_session(
        "slurm_search.session.demo:pbt_toy", {"h": hp.uniform("h", 0.0, 1.0)}, algo="pbt", seed=11,
        pbt_options={"population": 4, "interval": 5, "max_steps": STEPS, "quantile": 0.25, **pbt},
        context={"steps": STEPS, "interval": 5, "sleep": 0.03},
        lease_seconds=3.0,
        trial_timeout=trial_timeout,
        # Every checkpoint kept, so that each exploit's copy can be compared with its donor's.
        checkpoints={"keep": 1000, "keep_finished": True},
    )


def _worker(name: str, worker_id: str) -> subprocess.Popen:
    return subprocess.Popen(
        [SSEARCH, "work_on", name, "--worker-id", worker_id],
        env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


@pytest.fixture
def procs():
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=60)


def _wait(condition, timeout: float = 120.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _records(name: str, kind: type) -> list:
    return [r for r in store.records(name)[0] if isinstance(r, kind)]


def _replayed_score(entries: list[tuple[int, dict]]) -> float:
    """Train one fresh member along the schedule, as PBT's replay does."""
    score = 0.0
    for t in range(STEPS):
        h = [params for step, params in entries if step <= t][-1]["h"]
        score += demo.pbt_gain(h, t, STEPS)
    return score


def _folder(name: str, tid: int) -> Path:
    uid = View(name).refresh().spec.uid
    return store.paths(name).dir / "checkpoints" / f"{uid[:8]}.{tid}"


def _check_population(name: str) -> None:
    """Every member finished ok; its result replays from its schedule; each exploit copied its donor's bytes."""
    progress = session.progress(name)
    assert (progress.status, progress.completed, progress.failed) == ("done", 4, 0)
    results = {r.tid: r.loss for r in session.results(name)}
    assert sorted(results) == [0, 1, 2, 3]  # the population never shrinks
    for tid, loss in results.items():
        entries = session.pbt_schedule(name, tid)
        assert entries[0][0] == 0
        assert -loss == pytest.approx(_replayed_score(entries), rel=1e-9), (tid, entries)
    best = min(results, key=results.get)
    assert session.pbt_schedule(name) == session.pbt_schedule(name, best)
    exploits = _records(name, Exploit)
    for e in exploits:
        copy = store.read_blob(_folder(name, e.tid) / f"{e.seq:08d}.ckpt", name)
        original = store.read_blob(_folder(name, e.donor) / f"{e.donor_seq:08d}.ckpt", name)
        assert copy == original
        assert pickle.loads(copy)["step"] == e.donor_step >= e.step - 5  # at most one interval back
        assert e.step % 5 == 0 and e.donor != e.tid
    # Steps trained again (members that went back) stay within what the others skipped plus 5% of the budget.
    assert sum(e.step - e.donor_step for e in exploits) <= 0.05 * 4 * STEPS
    # Every checkpoint any member published (its own or a copy) verifies.
    for tid in results:
        for path in _folder(name, tid).iterdir():
            if path.suffix == ".ckpt":
                store.read_blob(path, name)
    listed = session.pbt_exploits(name)
    assert [(e.tid, e.donor, e.step) for e in exploits] == [(x["tid"], x["donor"], x["step"]) for x in listed]


@pytest.mark.parametrize("trial_timeout", [None, 120.0], ids=["in-process", "forked-child"])
def test_four_workers_exploit_and_the_lineage_replays_to_each_result(procs, trial_timeout):
    # With a trial_timeout the objective runs in a forked child: its exploit (and Exploited) come from there.
    name = _create(trial_timeout)
    procs.extend(_worker(name, f"w{i}") for i in range(4))
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    _check_population(name)
    assert _records(name, Exploit), "no member exploited: the test would prove nothing"
    rows = session.trial_rows(name)
    assert all(row.schedule and row.schedule[0][0] == 0 for row in rows)
    shown = subprocess.run([SSEARCH, "show", name], env=worker_env(), capture_output=True, text=True, check=True)
    assert "exploits; schedules" in shown.stdout and "member 3: 0: h=" in shown.stdout
    listed = subprocess.run([SSEARCH, "trials", name], env=worker_env(), capture_output=True, text=True, check=True)
    assert "SCHEDULE" in listed.stdout
    plot = session.pbt_plot(name)
    assert plot.name == "pbt_schedules.png" and plot.stat().st_size > 1000
    # A compacted log (a snapshot of the state) keeps the lineage.
    schedules = {tid: session.pbt_schedule(name, tid) for tid in range(4)}
    exploits = session.pbt_exploits(name)
    session.compact_session(name)
    from slurm_search.session._view import forget

    forget(name)
    assert {tid: session.pbt_schedule(name, tid) for tid in range(4)} == schedules
    assert session.pbt_exploits(name) == exploits


def test_kill_9_of_a_worker_mid_training_resumes_its_member(procs):
    name = _create()
    procs.extend(_worker(name, f"w{i}") for i in range(4))
    # Once some member has exploited and checkpointed past step 20, kill -9 one worker mid-member.
    _wait(lambda: any(c.step and c.step >= 20 for c in _records(name, Checkpoint)), what="checkpoints past 20")
    victim = procs[1]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    for p in (procs[0], procs[2], procs[3]):
        assert p.wait(timeout=300) == 0, p.stderr.read()
    _check_population(name)
    # The killed member was taken over (a later attempt) and went on from its checkpoint.
    st = View(name).refresh()
    assert any(t.attempt > 1 for t in st.trials.values())


def test_killing_every_worker_and_starting_again_gives_a_valid_population(procs):
    name = _create()
    first = [_worker(name, f"a{i}") for i in range(4)]
    procs.extend(first)
    _wait(lambda: len(_records(name, Checkpoint)) >= 12, what="a dozen checkpoints")
    for p in first:
        os.kill(p.pid, signal.SIGKILL)
    for p in first:
        p.wait(timeout=30)
    assert session.progress(name).status == "running"
    second = [_worker(name, f"b{i}") for i in range(4)]
    procs.extend(second)
    for p in second:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    _check_population(name)


def _member_saves(name: str, trial, loss: float, step: int):
    """What member `trial`'s objective does at `step`: report `loss`, then save a checkpoint."""
    from slurm_search.session._current import evaluating
    from slurm_search.session._reports import TrialReports, reporting

    reports = TrialReports(name, trial.worker, trial.tid, trial.attempt)
    with evaluating(name, trial.tid, trial.attempt, trial.worker), reporting(reports):
        session.report(loss, step)
        return session.save_checkpoint({"step": step, "tid": trial.tid}, step=step)


def test_a_donor_whose_checkpoint_file_is_gone_is_passed_over_for_the_next():
    import numpy as np

    name = _create(quantile=0.5)
    members = []
    for i in range(4):
        t = session.next_trial(name, f"w{i}")
        members.append(type("Member", (), {"tid": t.tid, "attempt": t.attempt, "worker": f"w{i}"})())
    # Each arrival at step 5 is the best so far: none of them exploits.
    for m, loss in zip(members[:3], (3.0, 2.0, 1.0), strict=True):
        assert _member_saves(name, m, loss, 5) == 1
    # Member 3 (loss 4) is in the bottom half; the top half is members 2 and 1, tried in the seeded order.
    order = [[2, 1][int(i)] for i in np.random.default_rng([11, 3, 5, 0]).permutation(2)]
    first, second = order
    # The first choice's checkpoint is removed by hand: member 3 takes the other's.
    os.unlink(_folder(name, first) / "00000001.ckpt")
    with pytest.raises(session.Exploited) as got:
        _member_saves(name, members[3], 4.0, 5)
    assert (got.value.donor, got.value.step, got.value.donor_step) == (second, 5, 5)
    (exploit,) = _records(name, Exploit)
    assert (exploit.tid, exploit.donor, exploit.donor_seq, exploit.seq) == (3, second, 1, 2)
    copy = pickle.loads(store.read_blob(_folder(name, 3) / "00000002.ckpt", name))
    assert copy == {"step": 5, "tid": second}
    # The member's own checkpoint at step 5 is there too, untouched.
    assert pickle.loads(store.read_blob(_folder(name, 3) / "00000001.ckpt", name)) == {"step": 5, "tid": 3}
    assert View(name).refresh().trials[3].checkpoint == (1, 2, 5)
