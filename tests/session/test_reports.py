"""Intermediate reports and pruning through real workers: inline, in a
trial_timeout child, in 4 worker processes of which some are killed; TPE
learning from pruned trials; `report` outside a trial."""

from __future__ import annotations

import math
import statistics
import time

import pytest
from hyperopt import hp

from _session_helpers import kill_mid_trial, workers  # noqa: F401 - fixture
from slurm_search import session
from slurm_search import state as store
from slurm_search.session._events import Prune, Report
from slurm_search.session._pruners import should_prune, trial_values
from slurm_search.session._reports import TrialReports
from slurm_search.session._view import View

CURVE = "session_test_objectives:curve"
SPACE = {"x": hp.uniform("x", 0, 1)}
ASHA = {"min_resource": 1, "reduction_factor": 2}


@pytest.fixture(autouse=True)
def objectives_on_path(monkeypatch):
    from _session_helpers import HERE

    monkeypatch.syspath_prepend(str(HERE))


def events(name, kind):
    return [r for r in store.records(name)[0] if isinstance(r, kind)]


def final_state(name):
    return View(name).refresh()


def test_report_outside_a_trial_is_a_clear_error():
    with pytest.raises(session.NotInTrial, match="outside a trial"):
        session.report(1.0, 1)
    assert session.current_reports() is None


def test_a_bad_report_fails_its_trial():
    name = session.create_session("session_test_objectives:bad_report", SPACE, max_evals=1, seed=1)
    session.work_on(name)
    progress = session.progress(name)
    assert progress.failed == 1 and "InvalidReport" in progress.last_traceback
    assert "a finite number" in progress.last_traceback


def test_asha_inline_prunes_with_last_reported_loss_and_never_retries():
    name = session.create_session(CURVE, SPACE, max_evals=24, seed=5, pruner="asha", pruner_options=ASHA)
    report = session.work_on(name)
    progress = session.progress(name)
    assert progress.status == "done"
    assert report.pruned == progress.pruned > 0 and report.completed == progress.completed > 0
    assert progress.pruned + progress.completed == 24 and progress.failed == 0
    state = final_state(name)
    for trial in state.trials.values():
        values = trial_values(state, trial.tid)
        assert trial.attempt == 1
        x = trial.vals["x"][0]
        if trial.status == "pruned":
            step = trial.result["step"]
            assert max(values) == step and trial.result["loss"] == values[step] == x + 1 / step
            assert should_prune(state, trial.tid)
        else:
            assert sorted(values) == list(range(1, 17)) and trial.result["loss"] == x
            assert not should_prune(state, trial.tid)
    # Only ok trials are results; the best is among them.
    assert {r.tid for r in session.results(name)} == {t.tid for t in state.trials.values() if t.status == "ok"}
    docs = {d["tid"]: d for d in session.trial_docs(name)}
    pruned = [t for t in state.trials.values() if t.status == "pruned"]
    assert all(docs[t.tid]["result"]["status"] == "ok" and docs[t.tid]["result"]["pruned"] for t in pruned)
    assert all(docs[t.tid]["result"]["loss"] == t.result["loss"] for t in pruned)


def test_reports_are_batched():
    name = session.create_session(CURVE, SPACE, max_evals=5, seed=2)  # no pruner: 16 reports a trial
    session.work_on(name)
    reports = events(name, Report)
    assert len(reports) == 5 and all(len(r.values) == 16 for r in reports)
    asha = session.create_session(CURVE, SPACE, max_evals=8, seed=2, pruner="asha", pruner_options=ASHA)
    session.work_on(asha)
    per_trial: dict[int, int] = {}
    for r in events(asha, Report):
        per_trial[r.tid] = per_trial.get(r.tid, 0) + 1
    # one append per rung reached (steps 1, 2, 4, 8, 16), plus the rest at the end
    assert max(per_trial.values()) <= 6 and sum(per_trial.values()) < 8 * 16 / 2


def test_median_prunes_from_the_ok_trials():
    name = session.create_session(
        CURVE, SPACE, max_evals=20, seed=9, pruner="median", pruner_options={"n_startup_trials": 3}
    )
    session.work_on(name)
    state = final_state(name)
    ok = sorted(t.tid for t in state.trials.values() if t.status == "ok")
    assert ok[:3] == [0, 1, 2] and session.progress(name).pruned > 0
    for trial in state.trials.values():
        if trial.status != "pruned":
            continue
        # at its last step, its value was worse than the median of the trials ok before it
        step = trial.result["step"]
        before = [state.trials[t].vals["x"][0] + 1 / step for t in ok if t < trial.tid]
        assert len(before) >= 3 and trial.result["loss"] > statistics.median(before)


def test_a_trial_timeout_child_reports_and_is_pruned_as_in_process():
    def outcome(**extra):
        name = session.create_session(
            CURVE, SPACE, max_evals=12, seed=4, pruner="asha", pruner_options=ASHA, **extra
        )
        session.work_on(name)
        state = final_state(name)
        return {t.tid: (t.status, (t.result or {}).get("step")) for t in state.trials.values()}

    inline, forked = outcome(), outcome(trial_timeout=60)
    assert inline == forked and any(status == "pruned" for status, _ in inline.values())


def test_reports_of_a_lost_attempt_are_refused():
    name = session.create_session(CURVE, SPACE, max_evals=2, seed=1, lease_seconds=0.3)
    trial = session.next_trial(name, "a")
    old = TrialReports(name, "a", trial.tid, trial.attempt)
    old.report(0.5, 1)  # buffered
    time.sleep(0.5)  # "a" renews nothing: its lease runs out
    again = session.next_trial(name, "b")
    assert again.tid == trial.tid and again.attempt == 2
    with pytest.raises(session.LeaseLost):
        old.flush()
    assert trial_values(final_state(name), trial.tid) == {}
    new = TrialReports(name, "b", again.tid, again.attempt)
    new.report(0.25, 1)
    new.flush()
    assert trial_values(final_state(name), trial.tid) == {1: 0.25}


def test_tpe_learns_from_pruned_trials():
    from hyperopt import Trials, tpe, trials_from_docs
    from hyperopt.base import Domain

    name = session.create_session(
        CURVE, SPACE, algo="tpe", max_evals=30, seed=3, pruner="asha", pruner_options=ASHA
    )
    session.work_on(name)
    progress = session.progress(name)
    assert progress.status == "done" and progress.pruned >= 5 and progress.completed >= 5
    docs = session.trial_docs(name)
    trials = trials_from_docs(docs)
    assert len(trials.trials) == 30
    domain = Domain(lambda p: 0.0, SPACE)
    without = Trials()
    without.insert_trial_docs([d for d in docs if not d["result"].get("pruned")])
    without.refresh()
    with_pruned = tpe.suggest([100], domain, trials, 7)[0]["misc"]["vals"]["x"]
    ok_only = tpe.suggest([100], domain, without, 7)[0]["misc"]["vals"]["x"]
    assert with_pruned != ok_only  # the pruned trials' losses changed TPE's model
    assert all(math.isfinite(d["result"]["loss"]) for d in docs)


def test_four_workers_with_kills(workers):  # noqa: F811 - fixture
    name = session.create_session(
        CURVE,
        SPACE,
        max_evals=40,
        seed=11,
        lease_seconds=2.0,
        pruner="asha",
        pruner_options={"min_resource": 2, "reduction_factor": 2},
        context={"steps": 16, "sleep": 0.05},
    )
    procs = workers(name, 4)
    killed = kill_mid_trial(name, procs[0], lambda owner: owner.endswith(f":{procs[0].pid}"), min_ok=0)
    killed2 = kill_mid_trial(name, procs[1], lambda owner: owner.endswith(f":{procs[1].pid}"), min_ok=1)
    for p in procs[2:]:
        assert p.wait(timeout=240) == 0
    state = final_state(name)
    progress = session.progress(name)
    assert progress.status == "done" and progress.failed == 0
    assert progress.completed + progress.pruned == 40 and progress.pruned > 0
    for tid in (killed, killed2):
        assert state.trials[tid].attempt >= 2  # taken over after its worker died
    for trial in state.trials.values():
        values = trial_values(state, trial.tid)
        top = max(values)
        # the attempt that finished reported every step from the start: the dead one's do not count
        assert sorted(values) == list(range(1, top + 1))
        assert (trial.status == "pruned") == should_prune(state, trial.tid)
        if trial.status == "pruned":
            assert trial.result["loss"] == values[top] == trial.vals["x"][0] + 1 / top
    prunes = events(name, Prune)
    assert len(prunes) == progress.pruned  # recorded once each, never retried


def test_the_worker_decides_as_should_prune_on_its_reports_with_steps_reported_again():
    import random

    name = session.create_session(
        CURVE, SPACE, max_evals=8, seed=3, pruner="median",
        pruner_options={"n_startup_trials": 2, "n_warmup_steps": 2, "interval_steps": 2},
    )
    for _ in range(4):  # four ok trials with full curves
        trial = session.next_trial(name, "w")
        reports = TrialReports(name, "w", trial.tid, trial.attempt)
        for step in range(1, 9):
            reports.values[step] = 1.0 + random.Random(trial.tid * 10 + step).random()
            reports._buffer.append((step, reports.values[step]))
        reports.flush()
        session.record_result(name, "w", trial.tid, 1.0)
    rng = random.Random(5)
    for attempt in range(30):
        trial = session.next_trial(name, "w") if attempt == 0 else trial
        reports = TrialReports(name, "w", trial.tid, trial.attempt)
        for _ in range(12):
            step, value = rng.randint(0, 9), rng.uniform(0.5, 2.5)  # steps go back and forth
            expected = should_prune(final_state(name), trial.tid, {**reports.values, step: value})
            try:
                reports.report(value, step)
                pruned = False
            except session.Pruned:
                pruned = True
            assert pruned is expected, (dict(reports.values), step, value)
