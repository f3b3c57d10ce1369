"""Experiments' sub-sessions by label: `exp:NAME/path` in `trial_rows`, `dataframe` and `ssearch trials`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from slurm_search import session, state
from slurm_search.dsl import run_experiment
from slurm_search.session.workers._cli import cli


@pytest.fixture
def demo_run():
    done = run_experiment("demo", debug=True, seed=4)
    return done.name, state.read(done.name)["sessions"]


def test_a_full_path_names_its_session(demo_run):
    name, sessions = demo_run
    for path, sub in sessions.items():
        label = "/".join([name, *path])
        assert session.trial_rows(label) == session.trial_rows(sub)


def test_a_prefix_names_the_outermost_session_under_it(demo_run):
    name, sessions = demo_run
    tuning = sessions[("best_xy", "argmax:mean")]
    assert [r.tid for r in session.trial_rows(f"{name}/best_xy")] == [r.tid for r in session.results(tuning)]
    assert len(session.trial_rows(f"{name}/best_xy")) == 3  # debug: tune:settings=3
    assert session.trial_rows(name)[0].params == session.trial_rows(tuning)[0].params


def test_a_wrong_label_lists_the_labels(demo_run):
    name, _ = demo_run
    with pytest.raises(session.UnknownLabel) as err:
        session.trial_rows(f"{name}/best")
    assert f"{name}/best_xy/argmax:mean" in err.value.candidates
    out = CliRunner().invoke(cli, ["trials", "exp:no_such_run/best_xy"])
    assert out.exit_code == 1 and "names no experiment" in out.output


def test_ssearch_trials_takes_a_label(demo_run):
    name, _ = demo_run
    out = CliRunner().invoke(cli, ["trials", f"{name}/best_mean", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert '"seed"' in out.output  # the drawn variable's name, not `value`


def test_the_dashboard_storage_names_an_experiments_sessions_by_label(demo_run):
    optuna = pytest.importorskip("optuna")
    from slurm_search.session.dashboard import SessionStorage

    name, sessions = demo_run
    storage = SessionStorage()
    studies = {s.study_name: s for s in storage.get_all_studies()}
    tuning = f"{name}/best_xy/argmax:mean"
    # The home page lists the outer sessions; the inner ones (a search per setting, `.../@hash`)
    # are counted by their outer study and listed with inner=True.
    labels = {"/".join([name, *path]) for path in sessions}
    inner = {label for label in labels if any(part.startswith("@") for part in label.split("/"))}
    assert inner and set(studies) == labels - inner
    assert studies[tuning].user_attrs["inner_sessions"] == len(inner)
    assert {s.study_name for s in SessionStorage(inner=True).get_all_studies()} == labels
    attrs = studies[tuning].user_attrs
    assert (attrs["experiment"], attrs["experiment_status"], attrs["session"]) == (
        name, "complete", sessions[("best_xy", "argmax:mean")],
    )
    # A label, a prefix of one, and the session's own name all load the study.
    for study_name in (tuning, f"{name}/best_xy", sessions[("best_xy", "argmax:mean")]):
        study = optuna.load_study(study_name=study_name, storage=storage)
        assert study._study_id == studies[tuning]._study_id and len(study.trials) == 3
