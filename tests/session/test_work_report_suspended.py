"""A trial handed back (suspended) is counted as handed back in the WorkReport, not as completed."""

from __future__ import annotations

from slurm_search import session


def suspending(params, context):
    """Save, then hand the trial back on its first attempt; finish on the next."""
    if session.load_checkpoint() is None:
        session.save_checkpoint({"x": params["x"]})
        session.suspend("the test hands it back")
    return params["x"]


def test_a_suspended_trial_is_not_counted_as_completed():
    name = session.create_session("test_work_report_suspended:suspending", {"x": [1.0]}, algo="enumeration")
    report = session.work_on(name)
    assert report.reason == "done"
    assert report.completed == 1  # the second attempt; the first was handed back
    assert session.trial_rows(name)[0].attempt == 2
