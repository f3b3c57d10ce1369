"""`current_trial`: an objective knows the session, trial and attempt it evaluates."""

from __future__ import annotations

import os

from hyperopt import hp

from slurm_search import session


def test_an_objective_sees_its_trial_inline_and_in_a_forked_child():
    assert session.current_trial() is None
    for timeout in (None, 60.0):  # a trial_timeout runs the objective in a forked child
        name = session.create_session(
            "current_trial_objectives:whoami", {"x": hp.uniform("x", 0, 1)}, max_evals=3, trial_timeout=timeout
        )
        session.work_on(name, worker_id="me")
        seen = [(r.tid, tuple(r.result["trial"])) for r in session.results(name)]
        assert seen == [(tid, (name, tid, 1, "me")) for tid in range(3)]
        pids = {r.result["pid"] for r in session.results(name)}
        assert (pids == {os.getpid()}) == (timeout is None)
    assert session.current_trial() is None
