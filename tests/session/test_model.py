"""The session reducer (`apply`), its decisions (`status`, `pick`) and the
deadline rule (`keep_claiming`): pure functions, so tested deeply here."""

from __future__ import annotations

import copy
import pickle

import pytest

from slurm_search.session._events import (
    Annotate,
    Claim,
    Created,
    Delete,
    Expire,
    Failure,
    Renew,
    Result,
    Snapshot,
    Spec,
    Status,
)
from slurm_search.session._model import apply, keep_claiming, pick, replay, status

VALS = {"x": [0.5]}


def spec(**changes):
    base = dict(
        objective="slurm_search.session.demo:objective",
        space=b"",
        algo="rand",
        max_evals=3,
        seed=1,
        max_attempts=2,
        max_failures=0,
        lease_seconds=10.0,
        uid="u1",
    )
    base.update(changes)
    return Spec(**base)


def start(**changes):
    return replay([Created(spec(**changes))])


def claim(tid, worker="w1", attempt=1, until=100.0, time=0.0, vals=VALS):
    return Claim(tid, worker, attempt, until, time, vals if attempt == 1 else None)


def result(tid, worker="w1", attempt=1, loss=1.0, duration=2.0):
    return Result(tid, worker, attempt, {"loss": loss, "status": "ok"}, 5.0, duration)


def failure(tid, worker="w1", attempt=1):
    return Failure(tid, worker, attempt, f"Traceback: boom {tid}/{attempt}", 5.0, 1.0)


def check_indexes(st):
    """The incremental indexes agree with a recount from the trials."""
    for s in ("new", "running", "ok", "failed"):
        assert st.counts[s] == sum(t.status == s for t in st.trials.values())
    assert st.running == {t.tid: t.lease_until for t in st.trials.values() if t.status == "running"}
    assert st.waiting == {t.tid for t in st.trials.values() if t.status == "new"}
    ok = [t for t in st.trials.values() if t.status == "ok"]
    assert st.duration_count == len(ok)
    assert st.duration_sum == pytest.approx(sum(t.duration for t in ok))


def test_log_must_start_with_created():
    with pytest.raises(ValueError):
        apply(None, claim(0))
    with pytest.raises(ValueError):
        replay([])
    with pytest.raises(ValueError):
        apply(start(), ("not", "an", "event"))


def test_new_claim_makes_a_running_trial():
    st = replay([Created(spec()), claim(0, until=50.0, time=3.0)])
    t = st.trials[0]
    assert (t.status, t.owner, t.attempt, t.tries, t.lease_until, t.vals) == ("running", "w1", 1, 1, 50.0, VALS)
    assert t.book_time == 3.0 and st.next_tid == 1
    assert status(st) == "running"
    check_indexes(st)


def test_claim_without_vals_of_unknown_trial_is_ignored():
    st = replay([Created(spec()), Claim(0, "w1", 1, 10.0, 0.0, None)])
    assert st.trials == {}


def test_result_from_owner_completes_the_trial():
    st = replay([Created(spec()), claim(0), result(0, loss=0.25, duration=4.0)])
    t = st.trials[0]
    assert t.status == "ok" and t.result["loss"] == 0.25 and t.duration == 4.0
    assert st.mean_duration == 4.0
    check_indexes(st)


@pytest.mark.parametrize(
    "late",
    [
        result(0, worker="w2"),  # not the owner
        result(0, attempt=2),  # not the owner's attempt
        result(1),  # no such trial
        failure(0, worker="w2"),
        Renew(0, "w2", 1, 999.0, 1.0),
    ],
)
def test_reports_of_non_owners_change_nothing(late):
    st = replay([Created(spec()), claim(0)])
    before = copy.deepcopy(st)
    st = apply(st, late)
    assert st.trials == before.trials and st.counts == before.counts


def test_renew_moves_the_lease():
    st = replay([Created(spec()), claim(0, until=10.0), Renew(0, "w1", 1, 20.0, 5.0)])
    assert st.trials[0].lease_until == 20.0 and st.running == {0: 20.0}
    assert st.trials[0].refresh_time == 5.0


def test_takeover_needs_a_higher_attempt_and_refuses_the_old_owner():
    st = replay([Created(spec()), claim(0, until=10.0), claim(0, worker="w2", attempt=2, until=30.0)])
    t = st.trials[0]
    assert (t.owner, t.attempt, t.tries, t.vals) == ("w2", 2, 2, VALS)
    st = apply(st, claim(0, worker="w3", attempt=2))  # not higher: ignored
    assert st.trials[0].owner == "w2"
    st = apply(st, result(0, worker="w1", attempt=1))  # the late first owner
    assert st.trials[0].status == "running"
    st = apply(st, result(0, worker="w2", attempt=2))
    assert st.trials[0].status == "ok"
    st = apply(st, claim(0, worker="w4", attempt=3))  # a finished trial stays finished
    assert st.trials[0].owner == "w2" and st.trials[0].status == "ok"
    check_indexes(st)


def test_failures_retry_then_fail_the_trial_then_the_session():
    st = replay([Created(spec(max_attempts=2, max_failures=0, error_attempts=2)), claim(0), failure(0)])
    assert st.trials[0].status == "new" and st.waiting == {0}
    assert st.last_traceback == "Traceback: boom 0/1"
    assert status(st) == "running"
    st = apply(st, claim(0, worker="w2", attempt=2))
    st = apply(st, failure(0, worker="w2", attempt=2))
    assert st.trials[0].status == "failed" and st.counts["failed"] == 1
    assert st.last_traceback == "Traceback: boom 0/2" and st.last_failed_tid == 0
    assert status(st) == "failed"  # 1 failed trial > max_failures 0
    check_indexes(st)


def test_max_failures_is_the_number_tolerated():
    events = [Created(spec(max_attempts=1, max_failures=1, max_evals=5))]
    events += [claim(0), failure(0)]
    st = replay(events)
    assert st.counts["failed"] == 1 and status(st) == "running"
    st = replay([claim(1), failure(1)], st)
    assert status(st) == "failed"


def test_expire_fails_a_trial_on_its_last_attempt_only():
    st = replay([Created(spec(max_attempts=2)), claim(0)])
    st = apply(st, Expire(0, 2, 9.0))  # wrong attempt: ignored
    assert st.trials[0].status == "running"
    st = apply(st, Expire(0, 1, 9.0))
    assert st.trials[0].status == "failed" and "lost its lease" in st.last_traceback
    check_indexes(st)


def test_restart_gives_failed_trials_new_attempts_and_unstops():
    st = replay(
        [Created(spec(max_attempts=1, max_failures=0)), claim(0), failure(0), Status("stop", 1.0)]
    )
    assert status(st) == "failed"
    st = apply(st, Status("enable", 2.0))
    assert status(st) == "failed"  # enable does not revive failed trials
    st = apply(st, Status("restart", 3.0))
    assert status(st) == "running" and not st.stopped
    t = st.trials[0]
    assert (t.status, t.tries, t.attempt) == ("new", 0, 1)
    st = apply(st, claim(0, worker="w2", attempt=2))
    assert st.trials[0].tries == 1  # a fresh set of attempts
    check_indexes(st)


def test_stop_and_enable():
    st = replay([Created(spec()), Status("stop", 1.0)])
    assert status(st) == "stopped" and pick(st, 0.0).reason == "stopped"
    st = apply(st, Status("enable", 2.0))
    assert status(st) == "running" and pick(st, 0.0).action == "new"


def test_done_needs_every_trial_finished():
    st = replay([Created(spec(max_evals=2)), claim(0), claim(1, worker="w2"), result(0)])
    assert status(st) == "running"
    assert pick(st, 0.0) == ("none", None, "busy", 100.0)
    st = apply(st, result(1, worker="w2"))
    assert status(st) == "done" and pick(st, 0.0).reason == "done"


def test_done_beats_stopped_and_failed_beats_done():
    st = replay([Created(spec(max_evals=1)), claim(0), result(0), Status("stop", 1.0)])
    assert status(st) == "done"
    st = replay([Created(spec(max_evals=1, max_attempts=1, max_failures=0)), claim(0), failure(0)])
    assert status(st) == "failed"


def test_delete_frees_a_slot_and_never_reuses_the_tid():
    st = replay([Created(spec(max_evals=1)), claim(0), result(0), Delete(0, 2.0)])
    assert st.trials == {} and st.deleted == {0}
    assert pick(st, 0.0) == ("new", 1, None, None)
    st = apply(st, claim(0))  # a stale claim of the deleted tid
    assert st.trials == {}
    st = apply(st, Delete(7, 3.0))  # unknown tid: remembered, numbering moves past it
    assert st.next_tid == 8
    check_indexes(st)


def test_delete_of_a_running_trial_refuses_its_owner():
    st = replay([Created(spec()), claim(0), Delete(0, 1.0), result(0)])
    assert st.trials == {} and st.counts["ok"] == 0


def test_annotations_keep_the_last_value():
    st = replay([Created(spec()), Annotate("jobs", [1], 0.0), Annotate("jobs", [1, 2], 1.0)])
    assert st.annotations == {"jobs": [1, 2]}


def test_an_error_fails_its_trial_at_once_by_default_but_a_lost_lease_is_retried():
    st = replay([Created(spec(max_attempts=3, max_failures=5)), claim(0), failure(0)])
    assert st.trials[0].status == "failed" and st.trials[0].errors == 1
    # A lost lease (the worker died) is what attempts are for.
    st = apply(st, claim(1, until=10.0))
    assert pick(st, 11.0) == ("retry", 1, None, None)
    st = apply(st, claim(1, worker="w2", attempt=2, until=30.0))
    st = apply(st, failure(1, worker="w2", attempt=2))
    assert st.trials[1].status == "failed"  # then one error fails it
    check_indexes(st)


def test_a_session_whose_trials_all_failed_is_failed():
    events = [Created(spec(max_evals=2, max_attempts=1, max_failures=10))]
    events += [claim(0), failure(0), claim(1), failure(1)]
    st = replay(events)
    assert st.counts["failed"] == 2 and st.counts["ok"] == 0
    assert status(st) == "failed"  # within max_failures, but nothing came out of it
    st = replay([*events[:3], claim(1), result(1)])
    assert status(st) == "done"


def test_pick_order_waiting_then_expired_then_new():
    st = replay(
        [
            Created(spec(max_evals=4, max_attempts=3, error_attempts=3)),
            claim(0, until=10.0),
            claim(1, worker="w2", until=50.0),
            claim(2, worker="w3", until=50.0),
            failure(2, worker="w3"),
        ]
    )
    assert pick(st, 5.0) == ("retry", 2, None, None)  # waiting first
    st = apply(st, claim(2, worker="w4", attempt=2, until=60.0))
    assert pick(st, 5.0) == ("new", 3, None, None)
    assert pick(st, 10.0) == ("retry", 0, None, None)  # lease ran out (<= now)
    st = apply(st, claim(3, worker="w5", until=70.0))
    assert pick(st, 5.0) == ("none", None, "busy", 10.0)


def test_pick_expires_a_trial_out_of_attempts():
    st = replay(
        [
            Created(spec(max_attempts=2, max_failures=1)),
            claim(0, until=10.0),
            claim(0, worker="w2", attempt=2, until=20.0),
        ]
    )
    assert pick(st, 25.0) == ("expire", 0, None, None)
    st = apply(st, Expire(0, 2, 25.0))
    assert pick(st, 25.0) == ("new", 1, None, None)


def test_snapshot_replaces_the_state():
    st = replay([Created(spec()), claim(0), result(0), Annotate("k", "v", 0.0)])
    snap = pickle.loads(pickle.dumps(Snapshot(st)))
    again = replay([snap, claim(1)])
    assert again.trials[0] == st.trials[0] and 1 in again.trials and again.annotations == {"k": "v"}


def test_replay_is_deterministic_and_survives_pickling():
    events = [
        Created(spec(max_evals=3, error_attempts=2)),
        claim(0),
        claim(1, worker="w2"),
        Renew(1, "w2", 1, 200.0, 1.0),
        failure(0),
        claim(0, worker="w3", attempt=2),
        result(0, worker="w3", attempt=2),
        result(1, worker="w2"),
        Status("stop", 3.0),
        Annotate("gen", 2, 3.0),
    ]
    a = replay(events)
    b = replay(pickle.loads(pickle.dumps(events)))
    assert a == b
    assert [t.status for t in a.trials.values()] == ["ok", "ok"]
    assert a.events == len(events)
    check_indexes(a)


@pytest.mark.parametrize(
    "now, deadline, mean, interruptible, expected",
    [
        (0.0, None, None, False, True),  # no deadline: always
        (0.0, None, 1e9, False, True),
        (10.0, 10.0, None, False, False),  # at the deadline: never
        (11.0, 10.0, None, True, False),  # past it, even interruptible
        (0.0, 10.0, None, False, True),  # no trial done yet: claim
        (0.0, 10.0, 10.0, False, True),  # exactly fits
        (0.0, 10.0, 10.5, False, False),  # does not fit
        (0.0, 10.0, 10.5, True, True),  # interruptible: claim anyway
        (9.0, 10.0, 0.5, False, True),
        (9.6, 10.0, 0.5, False, False),
    ],
)
def test_keep_claiming(now, deadline, mean, interruptible, expected):
    assert keep_claiming(now, deadline, mean, interruptible) is expected
