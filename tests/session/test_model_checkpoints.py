"""The reducer's rules for trial checkpoints and suspensions, on hand-written logs.

Pure functions: each case states the log and the state or decision it must
give, computed by hand.
"""

from __future__ import annotations

from slurm_search.session._events import Checkpoint, Claim, Created, Report, Result, Spec, Suspend
from slurm_search.session._model import pick, replay, resumable
from slurm_search.session._pruners import should_prune, trial_values

VALS = {"x": [0.5]}


def spec(**changes):
    base = dict(
        objective="slurm_search.session.demo:objective", space=b"", algo="rand", max_evals=2, seed=1,
        max_attempts=1, max_failures=0, lease_seconds=10.0, uid="u1",
    )
    base.update(changes)
    return Spec(**base)


def claim(tid, worker, attempt, t=0.0, vals=VALS):
    return Claim(tid, worker, attempt, t + 10.0, t, vals if attempt == 1 else None)


def test_a_suspended_attempt_with_a_checkpoint_gives_its_try_back():
    st = replay([
        Created(spec()),
        claim(0, "a", 1),
        Checkpoint(0, "a", 1, 1, 7, 100, False, 1.0),
        Suspend(0, "a", 1, "time limit", 2.0),
    ])
    trial = st.trials[0]
    assert (trial.status, trial.tries, trial.checkpoint) == ("new", 0, (1, 1, 7))
    assert st.counts["failed"] == 0 and 0 in st.waiting
    # It is claimed again at once (no lease to wait out), with its try back.
    assert pick(st, 3.0) == ("retry", 0, None, None)
    st = replay([claim(0, "b", 2, 3.0)], st)
    assert (st.trials[0].status, st.trials[0].tries, st.trials[0].attempt) == ("running", 1, 2)
    assert not resumable(st.trials[0])  # attempt 2 has saved nothing yet


def test_a_suspended_attempt_without_a_checkpoint_uses_its_try():
    log = [Created(spec(max_attempts=2)), claim(0, "a", 1), Suspend(0, "a", 1, "preempted", 2.0)]
    st = replay(log)
    assert (st.trials[0].status, st.trials[0].tries) == ("new", 1)
    st = replay([claim(0, "b", 2, 3.0), Suspend(0, "b", 2, "preempted", 4.0)], st)
    # Two cuts with nothing saved, max_attempts 2: failed, and the reason says how to avoid it.
    assert st.trials[0].status == "failed"
    assert "no checkpoint saved" in st.last_traceback and "save_checkpoint" in st.last_traceback


def test_a_checkpoint_of_an_earlier_attempt_does_not_excuse_a_later_cut():
    st = replay([
        Created(spec(max_attempts=2)),
        claim(0, "a", 1),
        Checkpoint(0, "a", 1, 1, 3, 10, False, 1.0),
        Suspend(0, "a", 1, "t", 2.0),  # forgiven: tries 0
        claim(0, "b", 2, 3.0),  # tries 1
        Suspend(0, "b", 2, "t", 4.0),  # saved nothing: tries stay 1
        claim(0, "c", 3, 5.0),  # tries 2
    ])
    assert st.trials[0].tries == 2 and st.trials[0].checkpoint == (1, 1, 3)


def test_a_take_over_of_an_attempt_that_saved_a_checkpoint_is_not_an_expiry():
    st = replay([Created(spec()), claim(0, "a", 1), Checkpoint(0, "a", 1, 1, 4, 10, False, 1.0)])
    # Its lease ran out (now = 20 > lease_until 10) on its last try: retried, not expired.
    assert pick(st, 20.0) == ("retry", 0, None, None)
    st = replay([claim(0, "b", 2, 20.0)], st)
    assert (st.trials[0].tries, st.trials[0].owner) == (1, "b")
    # Without the checkpoint, the same lease running out fails the trial.
    bare = replay([Created(spec()), claim(0, "a", 1)])
    assert pick(bare, 20.0).action == "expire"


def test_checkpoints_and_suspensions_of_a_stale_attempt_change_nothing():
    st = replay([Created(spec(max_attempts=3)), claim(0, "a", 1), claim(0, "b", 2, 20.0)])
    before = st.trials[0]
    st = replay([Checkpoint(0, "a", 1, 1, 5, 10, False, 21.0), Suspend(0, "a", 1, "t", 22.0)], st)
    assert st.trials[0] == before


def test_a_resumed_attempt_continues_the_curve_up_to_the_checkpoints_step():
    st = replay([
        Created(spec(max_attempts=2)),
        claim(0, "a", 1),
        Report(0, "a", 1, ((0, 5.0), (1, 4.0), (2, 3.0), (3, 2.5)), 1.0),
        Checkpoint(0, "a", 1, 1, 2, 10, False, 1.5),  # covers steps 0..2
        claim(0, "b", 2, 20.0),  # a take-over
    ])
    assert trial_values(st, 0) == {0: 5.0, 1: 4.0, 2: 3.0}  # step 3 is done again
    st = replay([Report(0, "b", 2, ((3, 2.0),), 21.0)], st)
    assert trial_values(st, 0) == {0: 5.0, 1: 4.0, 2: 3.0, 3: 2.0}
    # Without a checkpoint, a take-over restarts the curve (as before).
    fresh = replay([
        Created(spec(max_attempts=2)), claim(0, "a", 1), Report(0, "a", 1, ((0, 5.0),), 1.0), claim(0, "b", 2, 20.0),
    ])
    assert trial_values(fresh, 0) == {}


def test_asha_rungs_passed_before_the_checkpoint_stay_passed():
    options = {"min_resource": 1, "reduction_factor": 2, "min_early_stopping_rate": 0,
               "max_resource": None, "bootstrap_count": 0}
    st = replay([
        Created(spec(max_attempts=2, max_evals=3, pruner="asha", pruner_options=options)),
        claim(0, "a", 1),
        Report(0, "a", 1, ((1, 1.0), (2, 1.0), (4, 1.0)), 1.0),  # rungs at 1, 2, 4: passed (alone)
        Checkpoint(0, "a", 1, 1, 2, 10, False, 1.5),
        claim(0, "b", 2, 20.0),
    ])
    pruning = st.pruning
    assert pruning.reports[0].rungs == 2  # rungs 1 and 2 kept; rung 4 is reached again
    assert [[(t, a) for t, a, _ in rung] for rung in pruning.rungs[:2]] == [[(0, 2)], [(0, 2)]]
    assert not should_prune(st, 0)


def test_a_worker_short_of_time_claims_only_trials_with_a_checkpoint():
    st = replay([
        Created(spec(max_evals=3, max_attempts=2)),
        claim(0, "a", 1),
        Suspend(0, "a", 1, "t", 1.0),  # waiting, no checkpoint
        claim(1, "b", 1, 1.0),
        Checkpoint(1, "b", 1, 1, None, 10, False, 2.0),
        Suspend(1, "b", 1, "t", 3.0),  # waiting, with a checkpoint
    ])
    assert pick(st, 4.0).tid == 0  # lowest tid first, normally
    assert pick(st, 4.0, resumable_only=True) == ("retry", 1, None, None)
    st = replay([claim(1, "c", 2, 4.0)], st)
    # Nothing left to continue: no new trial either.
    assert pick(st, 5.0, resumable_only=True) == ("none", None, "deadline", None)


def test_results_after_a_resume_end_the_trial_as_usual():
    st = replay([
        Created(spec()),
        claim(0, "a", 1),
        Checkpoint(0, "a", 1, 1, 0, 10, False, 1.0),
        Suspend(0, "a", 1, "t", 2.0),
        claim(0, "b", 2, 3.0),
        Result(0, "b", 2, {"loss": 1.5}, 4.0, 1.0),
    ])
    assert st.trials[0].status == "ok" and st.counts["ok"] == 1
