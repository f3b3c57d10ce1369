"""The pruners' decisions (_pruners.py), a pure function of the session's state,
against cases computed by hand: Optuna's MedianPruner and SuccessiveHalvingPruner
rules, rung by rung, with stale attempts and refused reports."""

from __future__ import annotations

import pytest

from slurm_search.session import InvalidSetting
from slurm_search.session._events import Claim, Created, Prune, Report, Result, Spec
from slurm_search.session._model import replay
from slurm_search.session._pruners import (
    asha_promotable,
    check_pruner,
    rung_index,
    rung_step,
    should_prune,
    trial_values,
)


def spec(pruner, **options):
    kind, opts = check_pruner(pruner, options)
    return Spec(objective="m:f", space=b"", algo="rand", max_evals=100, seed=0, pruner=kind, pruner_options=opts)


class Log:
    """Builds a session log event by event, as workers would append it."""

    def __init__(self, pruner, **options):
        self.events = [Created(spec(pruner, **options))]
        self.attempts: dict[int, int] = {}
        self.owners: dict[int, str] = {}

    def claim(self, tid, worker="w"):
        attempt = self.attempts.get(tid, 0) + 1
        self.attempts[tid], self.owners[tid] = attempt, worker
        self.events.append(Claim(tid, worker, attempt, 1e12, 0.0, {"x": [tid]} if attempt == 1 else None))
        return self

    def report(self, tid, *values, worker=None):
        worker = worker or self.owners[tid]
        self.events.append(Report(tid, worker, self.attempts[tid], tuple(values), 0.0))
        return self

    def ok(self, tid, loss=0.0):
        self.events.append(Result(tid, self.owners[tid], self.attempts[tid], {"loss": loss, "status": "ok"}, 0.0, 1.0))
        return self

    def pruned(self, tid, step, loss):
        self.events.append(Prune(tid, self.owners[tid], self.attempts[tid], step, loss, 0.0, 1.0))
        return self

    def state(self):
        return replay(self.events)


# -- options ---------------------------------------------------------------


def test_defaults_are_optunas():
    assert check_pruner("median", None) == (
        "median", {"n_startup_trials": 5, "n_warmup_steps": 0, "interval_steps": 1, "n_min_trials": 1}
    )
    kind, opts = check_pruner("asha", {"min_resource": 100, "reduction_factor": 3.0})
    assert kind == "asha" and opts["min_resource"] == 100 and opts["reduction_factor"] == 3
    assert opts["max_resource"] is None and opts["min_early_stopping_rate"] == 0
    assert check_pruner(None, None) == (None, None) == check_pruner("none", {})


@pytest.mark.parametrize(
    ("pruner", "options", "setting"),
    [
        ("hyperband", None, "pruner"),
        ("asha", {"eta": 3}, "pruner_options:eta"),
        ("asha", {"reduction_factor": 1}, "pruner_options:reduction_factor"),
        ("asha", {"min_resource": 0}, "pruner_options:min_resource"),
        ("asha", {"min_resource": 2.5}, "pruner_options:min_resource"),
        ("asha", {"min_resource": 10, "max_resource": 5}, "pruner_options:max_resource"),
        ("median", {"interval_steps": 0}, "pruner_options:interval_steps"),
        ("median", {"n_warmup_steps": True}, "pruner_options:n_warmup_steps"),
        ("median", [1], "pruner_options"),
        (None, {"min_resource": 1}, "pruner_options"),
    ],
)
def test_bad_options_are_refused(pruner, options, setting):
    with pytest.raises(InvalidSetting) as caught:
        check_pruner(pruner, options)
    assert caught.value.setting == setting


def test_rungs():
    opts = check_pruner("asha", {"min_resource": 10, "reduction_factor": 3})[1]
    assert [rung_step(opts, k) for k in range(4)] == [10, 30, 90, 270]
    assert [rung_index(opts, s) for s in (-1, 0, 9, 10, 29, 30, 100, 270)] == [0, 0, 0, 1, 1, 2, 3, 4]
    capped = check_pruner("asha", {"min_resource": 10, "reduction_factor": 3, "max_resource": 90})[1]
    assert [rung_step(capped, k) for k in range(3)] == [10, 30, None]  # a trial at 90 runs to its end
    assert rung_index(capped, 10_000) == 2
    late = check_pruner("asha", {"min_resource": 1, "reduction_factor": 2, "min_early_stopping_rate": 2})[1]
    assert [rung_step(late, k) for k in range(3)] == [4, 8, 16]


def test_promotion_rule():
    assert asha_promotable(5, [5], 2)  # alone: the best
    assert not asha_promotable(6, [5, 6], 3)  # fewer than eta values: only the best goes on
    assert asha_promotable(5, [5, 6], 3)
    # 9 values, eta 3: the best 3 go on (index 9 // 3 - 1 = 2 of the sorted values)
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert [v for v in values if asha_promotable(v, values, 3)] == [1, 2, 3]
    values = [9, 8, 7, 6, 5, 4, 3, 2]  # 8 values, eta 4: the best 2
    assert [v for v in values if asha_promotable(v, values, 4)] == [3, 2]


# -- median ----------------------------------------------------------------


def median_log(**options):
    # Three ok trials; at step 2 their values are 4, 6, 10 (median 6), at step 4: 2, 4, 8 (median 4).
    log = Log("median", **{"n_startup_trials": 3, "n_warmup_steps": 2, "interval_steps": 2, **options})
    log.claim(0).report(0, (1, 5.0), (2, 4.0), (3, 3.0), (4, 2.0)).ok(0, 2.0)
    log.claim(1).report(1, (1, 7.0), (2, 6.0)).report(1, (3, 5.0), (4, 4.0)).ok(1, 4.0)
    log.claim(2).report(2, (2, 10.0), (4, 8.0)).ok(2, 8.0)
    log.claim(3)
    return log


@pytest.mark.parametrize(
    ("values", "prune"),
    [
        ({1: 9.0, 2: 5.5}, False),  # best 5.5 <= median 6 at step 2
        ({1: 9.0, 2: 6.5}, True),  # best 6.5 > 6
        ({1: 3.0, 2: 6.5}, False),  # the best over its steps counts: 3
        ({1: 9.0}, False),  # step 1 < warm-up 2
        ({2: 6.5, 3: 7.0}, False),  # step 3 is not the first report of the window [2, 4)
        ({2: 6.5, 4: 7.0}, True),  # step 4: best 6.5 > median 4
        ({2: 3.0, 4: 7.0}, False),  # best 3 <= 4
        ({5: 7.0}, False),  # no ok trial reported step 5
        ({}, False),
    ],
)
def test_median(values, prune):
    assert should_prune(median_log().state(), 3, values) is prune


def test_median_waits_for_startup_trials_and_min_trials():
    log = Log("median", n_startup_trials=3, n_warmup_steps=0)
    log.claim(0).report(0, (1, 1.0)).ok(0)
    log.claim(1).report(1, (1, 2.0)).ok(1)
    log.claim(5).report(5, (1, 0.0))  # running: not a completed trial
    log.claim(3)
    assert not should_prune(log.state(), 3, {1: 100.0})  # 2 ok trials < 3
    log.claim(2).report(2, (1, 3.0)).ok(2)
    assert should_prune(log.state(), 3, {1: 100.0})
    assert not should_prune(log.state(), 3, {1: 2.0})  # median of 1, 2, 3
    assert not should_prune(median_log(n_min_trials=4).state(), 3, {1: 9.0, 2: 6.5})


def test_median_ignores_pruned_trials_and_stale_attempts():
    log = median_log()
    log.claim(4).report(4, (2, 0.1)).pruned(4, 2, 0.1)  # a pruned trial is not a completed one
    log.claim(5).report(5, (2, 0.2), (4, 0.2))  # attempt 1 reports, then is lost ...
    log.claim(5, worker="v").report(5, (2, 50.0), (4, 50.0)).ok(5)  # ... attempt 2 finishes
    state = log.state()
    assert trial_values(state, 5) == {2: 50.0, 4: 50.0}
    # step 2: ok values 4, 6, 10, 50: median 8
    assert not should_prune(state, 3, {2: 7.5})
    assert should_prune(state, 3, {2: 8.5})
    # The state's own reports of the trial are used when none are given.
    log.report(3, (2, 8.5))
    assert should_prune(log.state(), 3)


# -- asha ------------------------------------------------------------------


def asha_stopped(state):
    return {tid: state.pruning.stopped[tid][1] for tid in state.pruning.stopped if should_prune(state, tid)}


def test_asha_by_hand():
    # rungs at steps 1, 2, 4, 8 ...; eta 2
    log = Log("asha", min_resource=1, reduction_factor=2)
    log.claim(0).report(0, (1, 5.0))  # rung 0: [5] -> goes on
    log.report(0, (2, 4.0))  # rung 1: [4] -> goes on
    log.claim(1).report(1, (1, 6.0))  # rung 0: [5, 6]: only the best of < 2 goes on -> stopped
    state = log.state()
    assert asha_stopped(state) == {1: 1}
    log.claim(2).report(2, (1, 3.0), (2, 3.5))  # rung 0: 3 best; rung 1: [4, 3.5]: 3.5 best
    log.claim(3).report(3, (1, 5.5))  # rung 0: [5, 6, 3, 5.5]: best 2 are 3, 5 -> stopped
    log.claim(4).report(4, (1, 4.9))  # rung 0: 5 values, best 2: 3, 4.9 -> goes on
    state = log.state()
    assert asha_stopped(state) == {1: 1, 3: 1}
    log.report(4, (4, 4.2))  # jumps over rungs 1 and 2: rung 1 [4, 3.5, 4.2]: 3.5 only -> stopped
    log.claim(5).report(5, (2, 1.0))  # rung 0 best, rung 1 [4, 3.5, 4.2, 1]: best 2 are 1, 3.5
    state = log.state()
    assert asha_stopped(state) == {1: 1, 3: 1, 4: 4}
    rung_values = [[(tid, value) for tid, _, value in rung] for rung in state.pruning.rungs]
    assert rung_values == [
        [(0, 5.0), (1, 6.0), (2, 3.0), (3, 5.5), (4, 4.9), (5, 1.0)],
        [(0, 4.0), (2, 3.5), (4, 4.2), (5, 1.0)],
    ]  # trial 4 stopped at rung 1: nothing recorded for it at rung 2
    assert not should_prune(state, 0) and not should_prune(state, 5)


def test_asha_values_below_a_rung_decide_nothing():
    log = Log("asha", min_resource=10, reduction_factor=3)
    log.claim(0).report(0, (5, 1.0), (9, 1.0), (10, 1.0))
    log.claim(1).report(1, (1, 0.0), (9, 0.0))  # below rung 0 (step 10): nothing recorded
    state = log.state()
    assert [len(r) for r in state.pruning.rungs] == [1] and not should_prune(state, 1)
    log.report(1, (11, 2.0))  # reaches rung 0 at step 11 with 2.0: [1, 2] -> stopped
    assert asha_stopped(log.state()) == {1: 11}


def test_asha_max_resource_and_bootstrap_and_late_start():
    log = Log("asha", min_resource=1, reduction_factor=2, max_resource=4)  # rungs 1, 2 only
    log.claim(0).report(0, (1, 1.0), (2, 1.0), (4, 1.0), (8, 1.0))
    log.claim(1).report(1, (1, 0.5), (2, 0.5), (4, 9.0), (8, 9.0))  # worse past step 4: no rung there
    state = log.state()
    assert len(state.pruning.rungs) == 2 and not should_prune(state, 1)
    boot = Log("asha", min_resource=1, reduction_factor=2, bootstrap_count=2)
    boot.claim(0).report(0, (1, 0.0)).claim(1).report(1, (1, 0.0)).claim(2).report(2, (1, 0.0))
    assert asha_stopped(boot.state()) == {0: 1, 1: 1}  # Optuna: up to bootstrap_count values, stop
    late = Log("asha", min_resource=1, reduction_factor=2, min_early_stopping_rate=1)  # rungs 2, 4, ...
    late.claim(0).report(0, (1, 1.0), (2, 1.0)).claim(1).report(1, (1, 9.0))
    assert [len(r) for r in late.state().pruning.rungs] == [1] and not should_prune(late.state(), 1)
    late.report(1, (2, 9.0))
    assert asha_stopped(late.state()) == {1: 2}


def test_asha_taken_over_attempt_restarts_and_stale_reports_are_refused():
    log = Log("asha", min_resource=1, reduction_factor=2)
    log.claim(0).report(0, (1, 5.0))
    log.claim(1).report(1, (1, 6.0))  # stopped at rung 0
    assert should_prune(log.state(), 1)
    log.claim(1, worker="v")  # its lease ran out before it recorded the pruning: attempt 2
    state = log.state()
    assert not should_prune(state, 1) and trial_values(state, 1) == {}
    log.report(1, (1, 100.0), worker="w")  # the old attempt's reports are refused
    state = log.state()
    assert trial_values(state, 1) == {} and [len(r) for r in state.pruning.rungs] == [2]
    # The new attempt competes without its old value: rung 0 is [5, (6 stale), 4] -> 4 is best
    log.report(1, (1, 4.0))
    state = log.state()
    assert not should_prune(state, 1) and trial_values(state, 1) == {1: 4.0}
    # A third trial sees the current values only: [5, 4, 4.5] -> best 1 is 4: stopped
    log.claim(2).report(2, (1, 4.5))
    assert asha_stopped(log.state()) == {2: 1}


def test_pruned_trial_state_and_counts():
    log = Log("asha", min_resource=1, reduction_factor=2)
    log.claim(0).report(0, (1, 5.0)).ok(0, 1.0)
    log.claim(1).report(1, (1, 6.0)).pruned(1, 1, 6.0)
    log.pruned(1, 1, 7.0)  # a second pruning of a finished trial changes nothing
    log.claim(1, worker="v")  # nor does a claim: a pruned trial is never run again
    state = log.state()
    trial = state.trials[1]
    assert trial.status == "pruned" and trial.result == {"loss": 6.0, "step": 1} and trial.attempt == 1
    assert state.counts["pruned"] == 1 and state.counts["ok"] == 1 and state.counts["running"] == 0
    assert state.duration_count == 1  # a pruned trial's duration is not an ok trial's


def test_a_snapshot_written_before_pruning_takes_reports_and_prunings():
    import pickle

    from slurm_search.session._events import Snapshot
    from slurm_search.session._model import apply

    log = Log("asha", min_resource=1, reduction_factor=2)
    log.claim(0).claim(1)
    old = log.state()
    del old.__dict__["pruning"]  # as pickled by a version without reports
    del old.counts["pruned"]
    state = apply(None, Snapshot(pickle.loads(pickle.dumps(old))))
    assert state.pruning is None
    for event in (
        Report(0, "w", 1, ((1, 5.0),), 0.0),
        Report(1, "w", 1, ((1, 6.0),), 0.0),
        Prune(1, "w", 1, 1, 6.0, 0.0, 1.0),
    ):
        state = apply(state, event)
    assert state.counts["pruned"] == 1 and state.trials[1].status == "pruned" and should_prune(state, 1)
