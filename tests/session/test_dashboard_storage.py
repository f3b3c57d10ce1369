"""SessionStorage: the store's sessions as Optuna studies, read-only, over real sessions and real optuna."""

from __future__ import annotations

import math

import pytest
from hyperopt import hp

from slurm_search import session, state

optuna = pytest.importorskip("optuna")

from slurm_search.session.dashboard import ReadOnlyStorageError, SessionStorage  # noqa: E402

SPACE = {
    "lr": hp.loguniform("lr", math.log(1e-5), math.log(1e-1)),
    "gamma": hp.uniform("gamma", 0.9, 0.999),
    "layers": hp.randint("layers", 1, 4),
    "act": hp.choice("act", ["relu", "tanh"]),
    "batch": hp.quniform("batch", 16, 128, 16),
}


def _record(name: str, n: int, loss=lambda params: params["gamma"], worker: str = "w1") -> None:
    for _ in range(n):
        trial = session.next_trial(name, worker)
        session.record_result(name, worker, trial.tid, loss(trial.params), attempt=trial.attempt, duration=0.5)


@pytest.fixture
def searched():
    name = session.create_session("session_test_objectives:noop", SPACE, max_evals=10, seed=1)
    _record(name, 4)
    return name


def test_each_session_is_a_study_named_by_its_session(searched):
    other = session.create_session("session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=2)
    storage = SessionStorage()
    studies = {s.study_name: s for s in storage.get_all_studies()}
    assert set(studies) == {searched, other}
    # Ids in creation order; the study knows where its session stands.
    assert studies[searched]._study_id < studies[other]._study_id
    attrs = studies[searched].user_attrs
    assert (attrs["session"], attrs["status"], attrs["progress"], attrs["completed"]) == (searched, "running", "4/10", 4)
    assert attrs["best_loss"] == session.best(searched).loss
    assert studies[searched].direction == optuna.study.StudyDirection.MINIMIZE
    assert storage.get_study_id_from_name(searched) == studies[searched]._study_id
    assert storage.get_study_id_from_name(searched.split(":")[1]) == studies[searched]._study_id  # NAME alone
    with pytest.raises(KeyError):
        storage.get_study_id_from_name("search:nothing_here")


def test_trials_map_to_trials_with_distributions_from_the_space(searched):
    running = session.next_trial(searched, "w2")  # claimed, no result yet
    study = optuna.load_study(study_name=searched, storage=SessionStorage())
    trials = study.trials
    assert [t.number for t in trials] == [0, 1, 2, 3, 4]
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4 + [optuna.trial.TrialState.RUNNING]
    assert trials[4].number == running.tid and trials[4].value is None
    results = {r.tid: r for r in session.results(searched)}
    for trial in trials[:4]:
        assert trial.value == results[trial.number].loss
        assert trial.params["act"] == results[trial.number].params["act"]  # the option, not its index
        assert trial.params["gamma"] == results[trial.number].params["gamma"]
        assert trial.datetime_start <= trial.datetime_complete
        assert trial.user_attrs["worker"] == "w1" and trial.user_attrs["duration"] == 0.5
    dist = trials[0].distributions
    assert dist["lr"].log and math.isclose(dist["lr"].low, 1e-5) and math.isclose(dist["lr"].high, 1e-1)
    assert not dist["gamma"].log and (dist["gamma"].low, dist["gamma"].high) == (0.9, 0.999)
    assert isinstance(dist["layers"], optuna.distributions.IntDistribution)
    assert (dist["layers"].low, dist["layers"].high) == (1, 3)
    assert dist["act"].choices == ("relu", "tanh")
    assert study.best_trial.number == session.best(searched).tid


def test_a_failed_trial_is_failed():
    name = session.create_session(
        "session_test_objectives:boom", {"x": hp.uniform("x", 0, 1)}, max_evals=2, max_attempts=1,
        max_failures=5, error_attempts=1,
    )
    session.work_on(name)
    trials = optuna.load_study(study_name=name, storage=SessionStorage()).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL] * 2
    assert all(t.value is None and t.datetime_complete is not None for t in trials)


def test_it_follows_a_running_search(searched):
    storage = SessionStorage()
    study = optuna.load_study(study_name=searched, storage=storage)
    assert len(study.trials) == 4
    _record(searched, 3)
    assert len(study.trials) == 7
    assert study.user_attrs["progress"] == "7/10"


def test_every_write_is_refused_and_the_store_is_untouched(searched):
    storage = SessionStorage()
    study_id = storage.get_study_id_from_name(searched)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, 0)
    before = {name: state.records(name)[1] for name in state.names()}
    dist = optuna.distributions.FloatDistribution(0, 1)
    writes = [
        lambda: storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], "mine"),
        lambda: storage.delete_study(study_id),
        lambda: storage.set_study_user_attr(study_id, "k", 1),
        lambda: storage.set_study_system_attr(study_id, "k", 1),
        lambda: storage.create_new_trial(study_id),
        lambda: storage.set_trial_param(trial_id, "x", 0.5, dist),
        lambda: storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL),
        lambda: storage.set_trial_intermediate_value(trial_id, 1, 0.5),
        lambda: storage.set_trial_user_attr(trial_id, "k", 1),
        lambda: storage.set_trial_system_attr(trial_id, "k", 1),
        lambda: optuna.create_study(storage=storage, study_name="mine"),
        lambda: optuna.load_study(study_name=searched, storage=storage).ask(),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyStorageError, match="read-only"):
            write()
    assert {name: state.records(name)[1] for name in state.names()} == before
    assert len(session.trial_rows(searched)) == 4


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_optuna_visualization_draws_a_session(searched):
    pytest.importorskip("plotly")
    study = optuna.load_study(study_name=searched, storage=SessionStorage())
    figure = optuna.visualization.plot_optimization_history(study)
    objective = next(trace for trace in figure.data if trace.name == "Objective Value")
    assert list(objective.x) == [0, 1, 2, 3]
    assert list(objective.y) == [r.loss for r in session.results(searched)]
    best = next(trace for trace in figure.data if trace.name == "Best Value")
    assert list(best.y) == [min(r.loss for r in session.results(searched)[: i + 1]) for i in range(4)]
    # And the matplotlib flavour, and a frame of the trials.
    ax = optuna.visualization.matplotlib.plot_param_importances(study)
    assert {label.get_text() for label in ax.get_yticklabels()} == set(SPACE)
    assert len(study.trials_dataframe()) == 4


def test_a_pruned_trial_is_pruned():
    from click.testing import CliRunner

    from slurm_search.session.workers._cli import cli

    result = CliRunner().invoke(
        cli,
        ["start", "demo", "steps=8", "pruner=asha", "pruner_options:reduction_factor=2",
         "max_evals=12", "seed=4", "--method=inline"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    name = result.stdout.strip()
    pruned = session.progress(name).pruned
    assert pruned > 0
    study = optuna.load_study(study_name=name, storage=SessionStorage())
    states = [trial.state for trial in study.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) == pruned
    assert states.count(optuna.trial.TrialState.COMPLETE) == 12 - pruned
