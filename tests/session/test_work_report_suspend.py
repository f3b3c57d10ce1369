"""What `work_on` reports for a trial it handed back (issue 23): not a completed trial."""

from __future__ import annotations

from hyperopt import hp

from slurm_search import session
from slurm_search.session._leaving import reset_leave


def test_a_trial_handed_back_is_counted_as_handed_back_not_completed():
    name = session.create_session(objective="ckpt_objectives:leaver", space={"x": hp.uniform("x", 0, 1)},
                                  max_evals=1, seed=1)
    try:
        report = session.work_on(name)
        assert (report.completed, report.failed, report.reason) == (0, 0, "leave"), report
        assert session.progress(name).completed == 0
        reset_leave()
        again = session.work_on(name)  # the next attempt resumes from the checkpoint and finishes
        assert (again.completed, again.failed, again.reason) == (1, 0, "done"), again
    finally:
        reset_leave()
