"""Lease renewals off the session's lock (`_beats`): a holder beats its own mark.

The take-over rule is unchanged (a trial is taken over only when the taker
has seen no claim, renewal or beat of it for a lease, on its own clock), and
LeaseLost stays exact, with real processes, `kill -9` and `SIGSTOP`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from _session_helpers import worker_env, workers  # noqa: F401 - a fixture
from hyperopt import hp

from slurm_search import session, state
from slurm_search.locking import lock
from slurm_search.session import LeaseLost, NoMoreTrials
from slurm_search.session import _beats
from slurm_search.session._events import Claim, Renew, Result
from slurm_search.session._view import view

OBJ = "session_test_objectives:noop"
SPACE = {"x": hp.uniform("x", 0, 1)}


def make(**kw):
    kw.setdefault("max_evals", 5)
    kw.setdefault("seed", 3)
    return session.create_session(OBJ, SPACE, **kw)


def test_a_renewal_takes_no_session_lock_and_appends_nothing():
    name = make(lease_seconds=30)
    t = session.next_trial(name, "w1")
    size = os.path.getsize(state.paths(name).log)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with lock(name):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    done = []
    renewer = threading.Thread(target=lambda: done.append(session.renew_lease(name, "w1", t.tid, t.attempt)))
    renewer.start()
    renewer.join(10)
    release.set()
    holder.join(10)
    assert done, "renew_lease waited for the session's lock"
    assert os.path.getsize(state.paths(name).log) == size
    assert [m.split(".")[1:] for m in state.marks(name, "beats")] == [[str(t.tid), "1", "1"]]
    session.record_result(name, "w1", t.tid, 1.0, attempt=t.attempt)
    assert state.marks(name, "beats") == []  # a report removes the holder's mark


def test_a_seized_mark_makes_the_next_renewal_lose_the_lease():
    name = make(lease_seconds=0.3)
    t = session.next_trial(name, "slow")
    session.renew_lease(name, "slow", t.tid, t.attempt)
    time.sleep(0.45)  # no beat for a lease, as this process saw it
    taken = session.next_trial(name, "fast")
    assert (taken.tid, taken.attempt) == (t.tid, 2)
    with pytest.raises(LeaseLost) as err:
        session.renew_lease(name, "slow", t.tid, t.attempt)
    assert err.value.owner == "fast"
    with pytest.raises(LeaseLost):
        session.record_result(name, "slow", t.tid, 1.0, attempt=t.attempt)
    session.record_result(name, "fast", taken.tid, 2.0, attempt=taken.attempt)
    recs, _ = state.records(name)
    assert [(r.worker, r.attempt) for r in recs if isinstance(r, Result)] == [("fast", 2)]


def test_a_taker_that_finds_a_fresh_beat_under_the_lock_takes_nothing():
    name = make(max_evals=1, lease_seconds=0.3)
    t = session.next_trial(name, "holder")
    v = view(name)
    time.sleep(0.4)
    # The holder beats from "another host": the mark changes, but this view
    # has not listed it (its last listing is recent).
    v.leases._listened = time.monotonic()
    assert state.mark(name, "beats", _beats.mark_name(v.state.spec.uid[:8], t.tid, t.attempt, 1))
    with pytest.raises(NoMoreTrials) as busy:
        session.next_trial(name, "taker")
    assert busy.value.reason == "busy"
    assert view(name).state.trials[t.tid].owner == "holder"


HOLDER = """
import sys, time
from slurm_search import session
from slurm_search.session import LeaseLost
name = sys.argv[1]
t = session.next_trial(name, "holder")
print("claimed", t.tid, t.attempt, flush=True)
while True:
    time.sleep(float(sys.argv[2]))
    try:
        session.renew_lease(name, "holder", t.tid, t.attempt)
        print("renewed", flush=True)
    except LeaseLost:
        print("lost", flush=True)
        try:
            session.record_result(name, "holder", t.tid, 9.0, attempt=t.attempt)
            print("recorded", flush=True)
        except LeaseLost:
            print("refused", flush=True)
        break
"""


def _holder(name, every):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, name, str(every)],
        env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("claimed"), proc.stderr.read()
    return proc


def _busy_for(name, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with pytest.raises(NoMoreTrials) as busy:
            session.next_trial(name, "taker")
        assert busy.value.reason == "busy"
        time.sleep(0.05)


def test_a_live_holder_keeps_its_trial_and_a_killed_one_loses_it_a_lease_later():
    lease = 1.5
    name = make(max_evals=1, lease_seconds=lease)
    holder = _holder(name, lease / 3)
    try:
        _busy_for(name, 3 * lease)  # it beats: never taken over
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        died = time.monotonic()
        while True:
            try:
                trial = session.next_trial(name, "taker")
                break
            except NoMoreTrials:
                assert time.monotonic() - died < 60, "the dead holder's trial was never taken over"
                time.sleep(0.05)
        # Its last beat was at most one beating interval (lease / 3) before it
        # died, and the taker waited a whole lease after seeing it.
        assert time.monotonic() - died >= lease - lease / 3 - 0.1
        assert (trial.tid, trial.attempt) == (0, 2)
        recs, _ = state.records(name)
        assert not [r for r in recs if isinstance(r, Renew)]  # renewals never touched the log
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def test_a_paused_holder_loses_its_trial_and_its_report_is_refused():
    lease = 1.0
    name = make(max_evals=1, lease_seconds=lease)
    holder = _holder(name, lease / 3)
    try:
        _busy_for(name, lease)
        os.kill(holder.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        while True:
            try:
                trial = session.next_trial(name, "taker")
                break
            except NoMoreTrials:
                assert time.monotonic() - stopped < 60
                time.sleep(0.05)
        assert time.monotonic() - stopped >= lease - lease / 3 - 0.1
        os.kill(holder.pid, signal.SIGCONT)
        out, err = holder.communicate(timeout=60)
        assert out.split()[-2:] == ["lost", "refused"], err
        session.record_result(name, "taker", trial.tid, 1.0, attempt=trial.attempt)
        recs, _ = state.records(name)
        assert [(r.worker, r.attempt) for r in recs if isinstance(r, Result)] == [("taker", 2)]
        assert [(r.worker, r.attempt) for r in recs if isinstance(r, Claim)] == [("holder", 1), ("taker", 2)]
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGCONT)
            holder.kill()
        holder.wait()


def test_workers_renewing_by_beats_keep_trials_longer_than_a_lease(workers):
    name = session.create_session(
        "session_test_objectives:sleepy", SPACE, max_evals=3, seed=1,
        lease_seconds=1.5, context={"sleep": 3.0},
    )
    procs = workers(name, 2)
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    assert session.progress(name).completed == 3
    recs, _ = state.records(name)
    assert all(r.attempt == 1 for r in recs if isinstance(r, Claim))  # none taken over
    assert not [r for r in recs if isinstance(r, Renew)]
