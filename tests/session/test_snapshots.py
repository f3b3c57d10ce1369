"""Checkpoints of a session's state (`_snapshots`): loading one and reading on
gives exactly the state a full replay gives, whoever wrote it and whenever."""

from __future__ import annotations

import time

import pytest
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session import NoMoreTrials, _snapshots
from slurm_search.session._model import replay
from slurm_search.session._view import View

SPACE = {"x": hp.uniform("x", 0, 1)}


def make(**kw):
    kw.setdefault("max_evals", 40)
    kw.setdefault("seed", 3)
    return session.create_session("session_test_objectives:noop", SPACE, **kw)


def full_replay(name):
    recs, _ = state.records(name)
    return replay(recs)


def fresh(name):
    v = View(name)  # another process's view, starting from nothing
    return v, v.refresh()


def busy_session(name, upto):
    """Every kind of event: results, failures, lost leases, deletes, annotations, commands."""
    for i in range(upto):
        t = session.next_trial(name, f"w{i % 3}")
        if i % 5 == 1:
            session.record_failure(name, f"w{i % 3}", t.tid, "boom")
        elif i % 7 == 3:
            session.delete_trial(name, t.tid)
        elif i % 4 != 2:  # a quarter stay running
            session.record_result(name, f"w{i % 3}", t.tid, float(i))
    session.annotate(name, "k", upto)
    session.stop(name)
    session.enable(name)


def test_a_checkpoint_and_the_records_after_it_equal_a_full_replay():
    name = make(lease_seconds=0.2, max_attempts=2, error_attempts=2, max_failures=100)
    busy_session(name, 12)
    v, _ = fresh(name)
    assert _snapshots.write(v, wait=True)
    time.sleep(0.3)  # leases run out: take-overs and expiries follow
    busy_session(name, 12)
    session.restart(name)
    _, loaded = fresh(name)
    assert state.load_checkpoint(name)[1] != state.log_end(name)  # it read records after the checkpoint
    assert loaded == full_replay(name)
    assert loaded.counts == full_replay(name).counts and loaded.running == full_replay(name).running


def test_workers_write_one_every_so_many_events_and_fresh_views_start_from_it(monkeypatch):
    monkeypatch.setattr(_snapshots, "EVERY", 16)
    name = make(max_evals=30)
    session.work_on(name, worker_id="w")
    found = state.load_checkpoint(name)
    assert found is not None
    checkpoint, at, info = found
    assert checkpoint.events >= 16 and info["completed"] == checkpoint.counts["ok"]
    _, st = fresh(name)
    assert st == full_replay(name)
    started = View(name)
    assert _snapshots.load(started) and started.position == at  # a fresh view starts from it
    assert session.progress(name).completed == 30


def test_a_slow_replay_writes_one(monkeypatch):
    name = make(max_evals=5)
    for _ in range(3):
        t = session.next_trial(name, "w")
        session.record_result(name, "w", t.tid, 1.0)
    assert state.load_checkpoint(name) is None
    monkeypatch.setattr(_snapshots, "SLOW", 0.0)
    session._view.forget(name)  # as a fresh process would
    session.progress(name)
    st, _, _ = state.load_checkpoint(name)
    assert st == full_replay(name)


def test_a_stale_or_damaged_checkpoint_costs_a_replay_only():
    name = make(max_evals=6)
    for _ in range(3):
        t = session.next_trial(name, "w")
        session.record_result(name, "w", t.tid, 1.0)
    v, _ = fresh(name)
    _snapshots.write(v, wait=True)
    session.compact_session(name)  # a new epoch: the checkpoint's position is stale
    t = session.next_trial(name, "w")
    _, st = fresh(name)
    assert st == full_replay(name) and st.trials[t.tid].owner == "w"
    path = state.paths(name).dir / "checkpoint.pickle"
    path.write_bytes(path.read_bytes()[:-10])
    _, st = fresh(name)
    assert st == full_replay(name)


def test_a_recreated_session_never_starts_from_the_old_ones_checkpoint():
    name = make(max_evals=3, name="again")
    t = session.next_trial(name, "w")
    session.record_result(name, "w", t.tid, 1.0)
    v, _ = fresh(name)
    _snapshots.write(v, wait=True)
    session.delete_session(name)
    name = make(max_evals=3, name="again")
    _, st = fresh(name)
    assert st.trials == {} and st == full_replay(name)


def test_listing_reads_the_summary_of_a_session_that_did_not_change(monkeypatch):
    name = make(max_evals=2)
    for _ in range(2):
        t = session.next_trial(name, "w")
        session.record_result(name, "w", t.tid, 1.0)
    [first] = session.list_sessions(all=True)
    assert (first.status, first.completed) == ("done", 2)
    assert _snapshots.summary_at_end(name) is not None  # written by the listing
    with monkeypatch.context() as patched:  # the summary alone: no record is read
        patched.setattr(state, "records", lambda *a, **k: pytest.fail("the listing replayed the log"))
        assert session.list_sessions(all=True) == [first]
    session.annotate(name, "k", 1)  # the log grew: the summary is not used
    assert _snapshots.summary_at_end(name) is None
    assert session.list_sessions(all=True) == [first]
    with pytest.raises(NoMoreTrials):
        session.next_trial(name, "w")


def test_a_log_cut_below_its_checkpoint_is_damage_that_salvage_recovers():
    # Issue 21. The checkpoint's writer fsyncs the log before writing it, so
    # a power failure cannot leave the log shorter than its checkpoint (a
    # claim alone is appended without fsync on a local disk): a shorter log
    # is damage, reported, never read as a shorter session.
    name = make()
    for i in range(6):
        t = session.next_trial(name, "w")
        session.record_result(name, "w", t.tid, float(i))
    kept = state.log_end(name)
    session.next_trial(name, "w")
    v, before = fresh(name)
    assert _snapshots.write(v, wait=True)
    with open(state.paths(name).log, "r+b") as log:
        log.truncate(kept.offset)
    with pytest.raises(session.CorruptSession, match="shorter than its checkpoint.*ssearch salvage"):
        fresh(name)
    report = session.salvage_session(name)
    assert report.damaged and report.from_checkpoint is not None
    _, loaded = fresh(name)
    assert loaded == before and loaded.counts["ok"] == 6 and loaded.counts["running"] == 1


def test_a_claim_from_a_checkpoint_loads_none_of_the_finished_trials():
    # A fresh process claiming on a big finished-heavy session unpickles the
    # running and waiting trials only; anything that reads a finished trial
    # (or all of them) loads them, and then sees exactly a full replay.
    import pickle

    from slurm_search.session._snapshots import LazyTrials
    from slurm_search.session._view import forget, view

    name = make(max_evals=40, max_attempts=3, error_attempts=3)
    for i in range(10):  # (the last one fails: it waits)
        t = session.next_trial(name, "w")
        if i % 4 == 1:
            session.record_failure(name, "w", t.tid, "boom")  # waits for another attempt
        elif i % 4 != 3:  # a quarter stay running
            session.record_result(name, "w", t.tid, float(i))
    v, _ = fresh(name)
    assert _snapshots.write(v, wait=True)
    forget(name)
    before = full_replay(name)
    waiting, n = before.waiting, len(before.trials)
    assert waiting and before.counts["ok"] and before.counts["running"]
    t = session.next_trial(name, "w2")
    trials = view(name).state.trials
    assert isinstance(trials, LazyTrials) and trials._finished is not None  # nothing finished was loaded
    assert t.tid == min(waiting)  # a waiting trial first (a retry), as a full replay decides
    assert len(trials) == n and trials.get(99) is None and trials._finished is not None
    # a pickled copy stays lazy and equal
    copy = pickle.loads(pickle.dumps(trials))
    assert copy._finished is not None and copy == trials
    assert trials[0].status == "ok"  # a finished trial: loaded now
    assert trials._finished is None
    assert list(trials) == sorted(trials) and trials == full_replay(name).trials
    session.record_result(name, "w2", t.tid, 1.0)
    assert view(name).state == full_replay(name)


def test_deleting_or_restarting_a_finished_trial_after_a_lazy_load():
    from slurm_search.session._view import forget, view

    name = make(max_evals=40)
    for i in range(6):
        t = session.next_trial(name, "w")
        session.record_result(name, "w", t.tid, float(i))
    v, _ = fresh(name)
    assert _snapshots.write(v, wait=True)
    forget(name)
    session.delete_trial(name, 2)
    assert 2 not in view(name).state.trials and len(view(name).state.trials) == 5
    assert view(name).state == full_replay(name)
    forget(name)
    _, loaded = fresh(name)
    assert loaded == full_replay(name)
