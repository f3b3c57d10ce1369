"""Claims, leases and reports on a real store, in this process."""

from __future__ import annotations

import time

import pytest
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session import LeaseLost, NoMoreTrials
from slurm_search.session._events import Claim, Expire, Result
from slurm_search.session._view import View

OBJ = "session_test_objectives:noop"
SPACE = {"x": hp.uniform("x", 0, 1)}


def make(**kw):
    kw.setdefault("max_evals", 5)
    kw.setdefault("seed", 3)
    return session.create_session(OBJ, SPACE, **kw)


def test_claim_then_result():
    name = make()
    trial = session.next_trial(name, "w1")
    assert (trial.tid, trial.attempt) == (0, 1)
    assert 0 <= trial.params["x"] <= 1 and trial.vals == {"x": [trial.params["x"]]}
    assert trial.lease_until > time.time()
    session.record_result(name, "w1", trial.tid, 0.5)
    p = session.progress(name)
    assert (p.completed, p.running, p.status) == (1, 0, "running")
    [r] = session.results(name)
    assert (r.tid, r.loss, r.params) == (0, 0.5, trial.params)


def test_tids_count_up_and_stop_at_max_evals():
    name = make(max_evals=3)
    trials = [session.next_trial(name, f"w{i}") for i in range(3)]
    assert [t.tid for t in trials] == [0, 1, 2]
    with pytest.raises(NoMoreTrials) as err:
        session.next_trial(name, "w9")
    assert err.value.reason == "busy" and err.value.retry_at >= trials[0].lease_until
    for i, t in enumerate(trials):
        session.record_result(name, f"w{i}", t.tid, float(i))
    with pytest.raises(NoMoreTrials) as err:
        session.next_trial(name, "w9")
    assert err.value.reason == "done"
    assert session.progress(name).status == "done"


def test_a_late_result_after_a_takeover_is_refused():
    name = make(lease_seconds=0.2)
    first = session.next_trial(name, "slow")
    time.sleep(0.3)  # longer than the lease: the next worker takes the trial over
    second = session.next_trial(name, "fast")
    assert (second.tid, second.attempt, second.params) == (first.tid, 2, first.params)
    with pytest.raises(LeaseLost) as err:
        session.record_result(name, "slow", first.tid, 1.0)
    assert (err.value.tid, err.value.owner) == (first.tid, "fast")
    with pytest.raises(LeaseLost):
        session.renew_lease(name, "slow", first.tid)
    session.record_result(name, "fast", second.tid, 2.0, attempt=second.attempt)
    [r] = session.results(name)
    assert r.loss == 2.0
    # The log holds one result for the trial, from its second owner.
    recs, _ = state.records(name)
    results = [r for r in recs if isinstance(r, Result)]
    assert [(r.tid, r.worker, r.attempt) for r in results] == [(first.tid, "fast", 2)]


def test_a_result_reported_twice_is_refused():
    name = make()
    t = session.next_trial(name, "w1")
    session.record_result(name, "w1", t.tid, 1.0)
    with pytest.raises(LeaseLost):
        session.record_result(name, "w1", t.tid, 2.0)
    assert [r.loss for r in session.results(name)] == [1.0]


def test_same_worker_stale_attempt_is_refused():
    name = make(lease_seconds=0.2)
    t1 = session.next_trial(name, "w1")
    time.sleep(0.3)
    t2 = session.next_trial(name, "w1")  # the same worker id takes its own expired trial
    assert (t2.tid, t2.attempt) == (t1.tid, 2)
    with pytest.raises(LeaseLost):
        session.record_result(name, "w1", t1.tid, 1.0, attempt=t1.attempt)
    session.record_result(name, "w1", t2.tid, 1.0, attempt=t2.attempt)


def test_renew_keeps_the_trial():
    name = make(lease_seconds=0.5)
    t = session.next_trial(name, "w1")
    for _ in range(3):
        time.sleep(0.2)
        until = session.renew_lease(name, "w1", t.tid, t.attempt)
        assert until > time.time()
    # The lease was renewed within its length each time: nobody took it.
    other = session.next_trial(name, "w2")
    assert other.tid != t.tid
    session.record_result(name, "w1", t.tid, 1.0, attempt=t.attempt)


def test_lost_lease_on_the_last_attempt_fails_the_trial():
    name = make(lease_seconds=0.2, max_attempts=1, max_failures=3)
    t = session.next_trial(name, "dies")
    time.sleep(0.3)
    nxt = session.next_trial(name, "w2")
    assert nxt.tid == t.tid + 1  # not re-run: it had no attempt left
    p = session.progress(name)
    assert p.failed == 1 and "lost its lease" in p.last_traceback
    recs, _ = state.records(name)
    assert [r.tid for r in recs if isinstance(r, Expire)] == [t.tid]


def test_failure_is_retried_with_the_same_params_when_errors_may_be():
    name = make(max_attempts=2, error_attempts=2)
    t = session.next_trial(name, "w1")
    session.record_failure(name, "w1", t.tid, "Traceback: boom")
    again = session.next_trial(name, "w2")
    assert (again.tid, again.attempt, again.params) == (t.tid, 2, t.params)
    assert session.progress(name).last_traceback == "Traceback: boom"


def test_an_objective_error_is_not_retried_by_default():
    name = make(max_attempts=3, max_failures=3)
    t = session.next_trial(name, "w1")
    session.record_failure(name, "w1", t.tid, "Traceback: boom")
    again = session.next_trial(name, "w2")
    assert again.tid != t.tid  # a new trial: the failed one is not tried again
    assert [d["result"]["status"] for d in session.trial_docs(name) if d["tid"] == t.tid] == ["fail"]


def test_invalid_results_are_refused():
    name = make()
    t = session.next_trial(name, "w1")
    for bad in ("x", None, float("nan"), float("inf"), {"no": "loss"}, {"loss": 1, "status": "fail"}, True):
        with pytest.raises(session.InvalidResult):
            session.record_result(name, "w1", t.tid, bad)
    session.record_result(name, "w1", t.tid, {"loss": 3, "extra": [1, 2]})
    [r] = session.results(name)
    assert r.result == {"loss": 3.0, "extra": [1, 2], "status": "ok"}


def test_stop_enable():
    name = make()
    t = session.next_trial(name, "w1")
    session.stop(name)
    with pytest.raises(NoMoreTrials) as err:
        session.next_trial(name, "w2")
    assert err.value.reason == "stopped"
    assert session.progress(name).status == "stopped"
    session.record_result(name, "w1", t.tid, 1.0)  # a running trial still reports
    session.enable(name)
    assert session.next_trial(name, "w2").tid == 1


def test_restart_after_failure():
    name = make(max_attempts=1, max_failures=0)
    t = session.next_trial(name, "w1")
    session.record_failure(name, "w1", t.tid, "Traceback: boom")
    assert session.progress(name).status == "failed"
    with pytest.raises(NoMoreTrials) as err:
        session.next_trial(name, "w1")
    assert err.value.reason == "failed"
    session.enable(name)
    assert session.progress(name).status == "failed"
    session.restart(name)
    assert session.progress(name).status == "running"
    again = session.next_trial(name, "w2")
    assert (again.tid, again.params) == (t.tid, t.params)


def test_delete_trial():
    name = make(max_evals=2)
    a = session.next_trial(name, "w1")
    b = session.next_trial(name, "w2")
    session.record_result(name, "w1", a.tid, 1.0)
    session.delete_trial(name, a.tid)
    with pytest.raises(session.UnknownTrial):
        session.delete_trial(name, a.tid)
    c = session.next_trial(name, "w3")
    assert c.tid == 2 and c.params != a.params  # a new suggestion takes its place
    session.delete_trial(name, b.tid)  # a running one: its worker's report is refused
    with pytest.raises(LeaseLost):
        session.record_result(name, "w2", b.tid, 1.0)
    assert session.results(name) == []


def test_annotations():
    name = make()
    assert session.annotations(name) == {}
    session.annotate(name, "slurm_jobs", ["123"])
    session.annotate(name, "generation", 1)
    session.annotate(name, "generation", 2)
    assert session.annotations(name) == {"slurm_jobs": ["123"], "generation": 2}


def test_another_process_view_sees_writes_incrementally():
    name = make(max_evals=4)
    other = View(name)  # stands for another process's view
    assert other.refresh().counts["running"] == 0
    pos = other.position
    t = session.next_trial(name, "w1")
    st = other.refresh()
    assert st.trials[t.tid].owner == "w1" and other.position != pos
    session.record_result(name, "w1", t.tid, 1.0)
    assert other.refresh().trials[t.tid].status == "ok"


def test_compaction_keeps_the_state_and_views_recover():
    name = make(max_evals=4)
    other = View(name)
    for i in range(2):
        t = session.next_trial(name, "w1")
        session.record_result(name, "w1", t.tid, float(i))
    before = other.refresh()
    session.annotate(name, "k", "v")
    session.compact_session(name)
    recs, _ = state.records(name)
    assert len(recs) == 1  # one snapshot stands for the whole log
    after = other.refresh()  # its old position is stale: it replays the snapshot
    assert after.trials == before.trials and after.annotations == {"k": "v"}
    t = session.next_trial(name, "w2")
    assert t.tid == 2
    assert View(name).refresh().trials[2].owner == "w2"


def test_claims_are_appended_as_one_record_each():
    name = make(max_evals=3)
    t = session.next_trial(name, "w1")
    recs, _ = state.records(name)
    assert isinstance(recs[-1], Claim) and recs[-1].vals == t.vals


def test_a_suggestion_made_before_the_lock_is_not_claimed_twice():
    # Workers B and C guessed tid 5 from the same history (the same point V);
    # A, which had seen one more result, got tid 5 with another point X.
    from types import SimpleNamespace

    from slurm_search.session._suggesting import prepared_vals as _prepared_vals

    V, X = {"x": [0.25]}, {"x": [0.75]}
    st = SimpleNamespace(trials={5: SimpleNamespace(vals=X)})
    assert _prepared_vals(st, 5, (5, V)) == V  # its own guess: kept
    assert _prepared_vals(st, 6, (5, V)) == V  # B gets tid 6: nobody has V yet
    st.trials[6] = SimpleNamespace(vals=V)
    assert _prepared_vals(st, 7, (5, V)) is None  # C gets tid 7: V is taken, suggest again


def test_a_claim_alone_is_not_fsynced_on_a_local_disk_and_a_report_is(monkeypatch):
    # A spy around the real os.fsync counts the calls. A claim that a power
    # failure undoes went down with the worker that made it: the trial is
    # claimed again. A report is fsynced before its lock is let go.
    import os

    from slurm_search.state import _log

    name = make()
    calls = []
    real = os.fsync
    monkeypatch.setattr(_log.os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    t = session.next_trial(name, "w")
    assert calls == []
    session.record_result(name, "w", t.tid, 1.0)
    assert len(calls) == 1
    assert [type(r).__name__ for r in state.records(name)[0][-2:]] == ["Claim", "Result"]


def test_tpe_workers_beside_others_suggest_apart_and_a_lone_one_reproducibly():
    # tpe suggests before the lock. Workers that saw the same history would
    # suggest the same point for the same guessed tid (and all but one would
    # suggest again under the lock); beside other workers each draws from a
    # seed of its own. With no other worker's trial, the session's seed.
    from slurm_search.session._suggesting import prepare
    from slurm_search.session._view import view

    name = make(algo="tpe", max_evals=100, seed=5)
    for i in range(25):  # past tpe's 20 random start-up trials
        t = session.next_trial(name, "w")
        session.record_result(name, "w", t.tid, float(i % 7))
    v = view(name)
    alone_a, alone_b = prepare(v, True, "a"), prepare(v, True, "b")
    assert alone_a == alone_b and alone_a[0] == 25
    session.next_trial(name, "other")
    a, b = prepare(v, True, "a"), prepare(v, True, "b")
    assert a[0] == b[0] == 26
    assert a[1] != b[1]
    assert prepare(v, True, "a") == a  # each worker's draw is its own, not random


def test_a_worker_back_from_a_trial_reads_the_others_records_before_it_takes_the_lock(monkeypatch):
    # With hundreds of workers, hundreds of records land while one runs its
    # trial; read under the session's lock they would lengthen every hold.
    import subprocess
    import sys

    from slurm_search.locking import have_lock
    from slurm_search.session import _claims

    name = make(max_evals=60)
    mine = session.next_trial(name, "w")
    others = f"""
from slurm_search import session
for i in range(20):
    t = session.next_trial({name!r}, "other")
    session.record_result({name!r}, "other", t.tid, 1.0)
"""
    subprocess.run([sys.executable, "-c", others], check=True, timeout=120)  # another process's records
    applied = []
    real = View.apply_all
    monkeypatch.setattr(
        View, "apply_all", lambda v, recs: (applied.append((len(recs), have_lock(name))), real(v, recs))[1]
    )
    monkeypatch.setattr(_claims, "READ_FIRST_AFTER", 0.0)  # as after a trial of any length
    session.record_result(name, "w", mine.tid, 0.5)
    read = [n for n, locked in applied if not locked]
    assert sum(read) >= 40  # the other process's 20 claims and 20 results, read before the lock
    assert [n for n, locked in applied if locked] == [1]  # under the lock: our own report only


def test_tpe_startup_suggestions_do_not_depend_on_the_worker():
    # tpe's first trials are random and tid-determined: the same points
    # whichever worker draws them, with other workers around or not.
    from hyperopt import tpe

    from slurm_search.session._suggesting import TPE_STARTUP, prepare
    from slurm_search.session._view import view

    assert TPE_STARTUP == tpe._default_n_startup_jobs
    name = make(algo="tpe", max_evals=100, seed=5)
    session.next_trial(name, "other")
    v = view(name)
    assert prepare(v, True, "a") == prepare(v, True, "b") == prepare(v, True, None)
