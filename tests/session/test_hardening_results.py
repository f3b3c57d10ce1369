"""Poisoned results, hung objectives, exits and unreadable records: each is one
trial's failure with a one-line reason, and the session stays readable."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session._events import Claim, Result

SPACE = {"x": hp.uniform("x", 0, 1)}
SSEARCH = os.path.join(os.path.dirname(sys.executable), "ssearch")


def _make(objective, **kw):
    kw.setdefault("max_evals", 8)
    kw.setdefault("seed", 4)
    kw.setdefault("max_failures", 8)
    return session.create_session(f"session_test_objectives:{objective}", SPACE, **kw)


def _failures(name):
    return [d["misc"].get("error") or d["result"].get("error") for d in session.trial_docs(name)
            if d["result"]["status"] == "fail"]


def _tracebacks(name):
    from slurm_search.session._view import View

    st = View(name).refresh()
    return {tid: t.traceback for tid, t in st.trials.items() if t.status == "failed"}


def _readable_everywhere(name):
    """What a launcher or another host reads: a fresh process, no objective imported."""
    code = (
        "import sys; from slurm_search import session; "
        f"p = session.progress({name!r}); r = session.results({name!r}); "
        "print(p.status, p.completed, p.failed, len(r))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_result_that_does_not_load_back_is_that_trials_failure():
    name = _make("poisoned_when_high")
    report = session.work_on(name)
    assert report.completed + report.failed == 8 and report.completed >= 1 and report.failed >= 1
    reasons = _tracebacks(name)
    assert len(reasons) == report.failed
    for reason in reasons.values():
        assert reason.startswith("the result does not load back in a clean Python (TypeError")
        assert "\n" not in reason
    # Every reader, in any process, reads the session: nothing poisoned was stored.
    assert _readable_everywhere(name) == ["done", str(report.completed), str(report.failed), str(report.completed)]


def test_a_result_whose_class_exists_only_on_the_worker_is_refused():
    name = _make("worker_only_result", max_evals=2)
    session.work_on(name)
    reasons = list(_tracebacks(name).values())
    assert len(reasons) == 2
    assert all("does not load back in a clean Python" in r and "only_on_this_worker" in r for r in reasons)
    assert _readable_everywhere(name)[0] == "failed"


def test_a_result_that_does_not_pickle_fails_its_trial_not_the_worker():
    name = _make("unpicklable_result", max_evals=3)
    report = session.work_on(name)
    assert report == (0, 3, 0, "failed")
    assert all(r.startswith("the result does not pickle (") for r in _tracebacks(name).values())


def test_results_of_library_types_are_checked_and_kept():
    pytest.importorskip("numpy")
    name = _make("numpy_result", max_evals=3)
    assert session.work_on(name) == (3, 0, 0, "done")
    assert [list(r.result["curve"]) for r in session.results(name)] == [[0.0, 1.0, 2.0]] * 3


def test_a_hung_objective_is_stopped_at_its_timeout():
    name = _make("hangs", max_evals=2, trial_timeout=1, context={"sleep": 3600})
    started = time.monotonic()
    report = session.work_on(name)
    assert report == (0, 2, 0, "failed")
    assert list(_tracebacks(name).values()) == ["timed out after 1 s: the objective was stopped"] * 2
    assert time.monotonic() - started < 600  # it did not wait for the objective's hour


def test_a_timed_objective_that_finishes_keeps_its_result():
    name = _make("with_extras", max_evals=3, trial_timeout=60)
    assert session.work_on(name) == (3, 0, 0, "done")
    pids = {r.result["pid"] for r in session.results(name)}
    assert os.getpid() not in pids  # it ran in a child that could have been killed


def test_sys_exit_in_an_objective_fails_its_trial_instead_of_ending_the_worker():
    name = _make("exits", max_evals=2)
    assert session.work_on(name) == (0, 2, 0, "failed")
    assert all("SystemExit: 3" in r for r in _tracebacks(name).values())
    timed = _make("exits", max_evals=1, trial_timeout=30)
    assert session.work_on(timed) == (0, 1, 0, "failed")
    assert "SystemExit: 3" in _tracebacks(timed)[0]


def test_an_unreadable_record_written_before_the_fix_is_skipped():
    # A store written before results were checked: a Result whose result
    # does not unpickle, appended as the old worker did.
    import session_test_objectives as objectives

    name = _make("noop", max_evals=2, lease_seconds=1)
    t = session.next_trial(name, "old-worker")
    state.append(name, Result(t.tid, "old-worker", t.attempt, {"loss": 1.0, "e": objectives.TwoArgError("a", "b")}, time.time(), 0.1))
    # Readers keep going; the trial's lease runs out and it is run again.
    progress = session.progress(name)
    assert progress.status == "running"
    assert "does not load" in progress.last_traceback and "skipped" in progress.last_traceback
    time.sleep(1.2)
    assert session.work_on(name) == (2, 0, 0, "done")
    assert _readable_everywhere(name) == ["done", "2", "0", "2"]


def test_ssearch_exits_non_zero_when_every_trial_failed():
    from _session_helpers import worker_env

    name = _make("boom", max_evals=2)
    proc = subprocess.run(
        [SSEARCH, "restart", name, "--method=inline"],
        capture_output=True, text=True, timeout=300, env=worker_env(),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{name}: 0/2 done, 2 failed (failed)" in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        f"ssearch: error: session {name} failed: see `ssearch show {name}` for the last traceback, "
        f"fix the objective, then `ssearch restart {name}`"
    )


@pytest.mark.parametrize("space", [5, "abc", None])
def test_a_space_without_hyperparameters_is_named_as_such(space):
    with pytest.raises(session.InvalidSpace, match="holds no hyperparameter: give a dict of hp expressions"):
        session.create_session("session_test_objectives:noop", space, max_evals=2)


def test_plain_results_are_storable_without_pickling_and_others_still_checked():
    # Builtin scalars in dicts, lists and tuples load back in any Python:
    # accepted at once. Anything else still goes through the pickle check.
    from slurm_search.session._evaluation import _plain, unstorable_reason

    plain = {"loss": 0.5, "steps": [1, 2, 3], "name": "a", "ok": True, "none": None, "pair": (1.0, b"x")}
    assert _plain(plain, [64]) and unstorable_reason(plain) is None
    cyclic: list = []
    cyclic.append(cyclic)
    assert not _plain(cyclic, [64])  # the budget stops the walk
    assert unstorable_reason(cyclic) is None  # and pickle says it loads back
    assert not _plain(list(range(100)), [64])  # too big to walk: pickled instead
    assert "does not pickle" in unstorable_reason({"loss": 1.0, "f": lambda: 0})
