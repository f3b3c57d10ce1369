"""SessionStorage against Optuna itself: the same trials in an in-memory study built with
`optuna.trial.create_trial` give the same study (values, params and their types, distributions,
intermediate values, states, importances), over real sessions with every hyperopt distribution."""

from __future__ import annotations

import math
import pickle

import pytest
from hyperopt import hp
from hyperopt.pyll import scope

from slurm_search import session

optuna = pytest.importorskip("optuna")

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from slurm_search.session.dashboard import SessionStorage, study_and_tid, trial_id  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

SPACE = {
    "uniform": hp.uniform("uniform", -1, 1),
    "quniform": hp.quniform("quniform", 0, 1, q=0.25),  # q by keyword
    "loguniform": hp.loguniform("loguniform", math.log(1e-4), math.log(1e-1)),
    "qloguniform": hp.qloguniform("qloguniform", math.log(1), math.log(64), 1),
    "depth": scope.int(hp.quniform("depth", 1, 10, 1)),
    "units": hp.uniformint("units", 8, 64),
    "randint": hp.randint("randint", 5),
    "randint2": hp.randint("randint2", 2, 6),
    "normal": hp.normal("normal", 0, 1),
    "qnormal": hp.qnormal("qnormal", 0, 4, 1),
    "lognormal": hp.lognormal("lognormal", 0, 1),
    "pchoice": hp.pchoice("pchoice", [(0.3, "a"), (0.7, "b")]),
    "opt": hp.choice("opt", [
        {"kind": "adam", "beta": hp.uniform("beta", 0.8, 0.99)},
        {"kind": "sgd", "momentum": hp.choice("momentum", [0.0, 0.9])},
    ]),
}

# What the space says, written by hand (the space's bounds, never the values seen).
EXPECTED = {
    "uniform": FloatDistribution(-1.0, 1.0),
    "quniform": FloatDistribution(0.0, 1.0, step=0.25),
    "loguniform": FloatDistribution(1e-4, 1e-1, log=True),
    "qloguniform": FloatDistribution(1.0, 64.0, log=True),
    "depth": IntDistribution(1, 10, step=1),
    "units": IntDistribution(8, 64, step=1),
    "randint": IntDistribution(0, 4),
    "randint2": IntDistribution(2, 5),
    "pchoice": CategoricalDistribution(("a", "b")),
    "opt": CategoricalDistribution(("{'beta': beta, 'kind': 'adam'}", "{'kind': 'sgd', 'momentum': momentum}")),
    "beta": FloatDistribution(0.8, 0.99),
    "momentum": CategoricalDistribution((0.0, 0.9)),
}


def _searched(goal: str = "min", n: int = 40) -> str:
    name = session.create_session(
        "session_test_objectives:rich", SPACE, max_evals=n, seed=3, pruner="median", goal=goal,
    )
    session.work_on(name)
    return name


def _expected_study(name: str, adapter_dists: dict):
    """An in-memory Optuna study of the session's trials, from the session's own rows and reports."""
    goal = session.info(name).goal
    sign = -1.0 if goal == "max" else 1.0
    reports = session.trial_reports(name)
    study = optuna.create_study(direction="maximize" if goal == "max" else "minimize")
    for row in session.trial_rows(name):
        dists = {}
        params = {}
        for label, value in row.vals.items():
            dist = EXPECTED.get(label) or adapter_dists[label]  # the unbounded ones: fitted to the values
            dists[label] = dist
            if isinstance(dist, CategoricalDistribution):
                params[label] = dist.choices[value]
            elif isinstance(dist, IntDistribution):
                params[label] = int(value)
            else:
                params[label] = float(value)
        intermediate = {step: sign * v for step, v in reports.get(row.tid, {}).items()}
        state = {"ok": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "failed": TrialState.FAIL}[row.state]
        value = sign * row.loss if row.state == "ok" else None
        if row.state == "pruned":
            value = intermediate[max(intermediate)]
        study.add_trial(optuna.trial.create_trial(
            state=state, value=value, params=params, distributions=dists, intermediate_values=intermediate,
        ))
    return study


@pytest.mark.parametrize("goal", ["min", "max"])
def test_the_adapter_reads_like_an_in_memory_study_of_the_same_trials(goal):
    name = _searched(goal)
    assert 0 < session.progress(name).pruned < 40  # some trials pruned, some not
    actual = optuna.load_study(study_name=name, storage=SessionStorage())
    adapter_dists = {k: v for t in actual.trials for k, v in t.distributions.items()}
    expected = _expected_study(name, adapter_dists)

    assert actual.direction == expected.direction
    assert actual.direction == (optuna.study.StudyDirection.MAXIMIZE if goal == "max"
                                else optuna.study.StudyDirection.MINIMIZE)
    assert [t.number for t in actual.trials] == list(range(40))
    for got, want in zip(actual.trials, expected.trials):
        assert got.state == want.state
        assert got.value == want.value  # pruned trials too: their last report
        assert got.intermediate_values == want.intermediate_values and len(got.intermediate_values) >= 1
        assert got.params == want.params
        assert {k: type(v) for k, v in got.params.items()} == {k: type(v) for k, v in want.params.items()}
        assert got.distributions == want.distributions
    assert actual.best_value == expected.best_value
    assert actual.best_params == expected.best_params
    assert isinstance(actual.best_params["depth"], int) and isinstance(actual.best_params["units"], int)
    # The dashboard's evaluator (PED-ANOVA: no scikit-learn), over every parameter with a distribution.
    got = optuna.importance.get_param_importances(actual, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    want = optuna.importance.get_param_importances(expected, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    assert got.keys() == want.keys() and all(math.isclose(got[k], want[k], abs_tol=1e-9) for k in got)


def test_plot_intermediate_values_draws_every_curve():
    pytest.importorskip("plotly")
    name = _searched(n=12)
    study = optuna.load_study(study_name=name, storage=SessionStorage())
    figure = optuna.visualization.plot_intermediate_values(study)
    assert len(figure.data) == 12
    assert sum(len(trace.x) for trace in figure.data) == sum(len(r) for r in session.trial_reports(name).values())


def test_distributions_come_from_the_space_not_the_values_seen():
    name = session.create_session("session_test_objectives:noop", SPACE, max_evals=3, seed=1)
    session.work_on(name)
    dists = {k: v for t in optuna.load_study(study_name=name, storage=SessionStorage()).trials
             for k, v in t.distributions.items()}
    for label, dist in dists.items():
        if label in EXPECTED:
            assert dist == EXPECTED[label], label
    assert repr(dists["loguniform"].low) == "0.0001"  # no float noise


def test_trial_numbers_stay_consecutive_after_a_deletion():
    name = session.create_session("session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=5, seed=2)
    session.work_on(name)
    storage = SessionStorage()
    study = optuna.load_study(study_name=name, storage=storage)
    ids = {t.number: t._trial_id for t in study.trials}
    session.delete_trial(name, 1)
    trials = study.trials
    assert [t.number for t in trials] == list(range(len(trials)))
    assert [t.user_attrs["tid"] for t in trials][:2] == [0, 2]
    # A trial keeps its id; its number is its rank; the two calls agree.
    assert trials[1]._trial_id == ids[2]
    study_id = storage.get_study_id_from_name(name)
    for t in trials:
        assert storage.get_trial_id_from_study_id_trial_number(study_id, t.number) == t._trial_id
        assert storage.get_trial(t._trial_id) == t
        assert storage.get_trial_number_from_id(t._trial_id) == t.number
    with pytest.raises(KeyError):
        storage.get_trial(ids[1])  # the deleted one


def test_trial_ids_never_collide():
    # The old packing (study * 2**20 + tid) made study 1's trial 2**20+1 study 2's trial 1.
    assert trial_id(1, 2**20 + 1) != trial_id(2, 1)
    seen = {trial_id(s, t) for s in range(1, 60) for t in [*range(200), 2**20, 2**20 + 1, 2**40]}
    assert len(seen) == 59 * 203
    for s, t in [(1, 0), (2, 2**20 + 1), (7, 12345), (10**6, 10**9)]:
        assert study_and_tid(trial_id(s, t)) == (s, t)


def test_the_storage_and_a_study_loaded_from_it_pickle():
    name = _searched(n=6)
    storage = SessionStorage()
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.trials
    again = pickle.loads(pickle.dumps(study))
    assert again.trials == trials and again.best_value == study.best_value
    restored = pickle.loads(pickle.dumps(storage))
    study_id = storage.get_study_id_from_name(name)
    assert restored.get_all_trials(study_id) == storage.get_all_trials(study_id)


def test_create_study_with_load_if_exists_loads_the_session():
    name = _searched(n=4)
    study = optuna.create_study(study_name=name, storage=SessionStorage(), load_if_exists=True)
    assert len(study.trials) == 4
    from slurm_search.session.dashboard import ReadOnlyStorageError

    with pytest.raises(ReadOnlyStorageError, match="read-only"):
        optuna.create_study(study_name="not-a-session", storage=SessionStorage(), load_if_exists=True)


def test_the_home_page_lists_outer_sessions_and_counts_the_inner_ones():
    from slurm_search.session._labels import Labelled
    from slurm_search.session.dashboard import _inner

    labels = {
        "search:outer": Labelled("search:outer", "exp:e/best", "exp:e", "running"),
        "search:in1": Labelled("search:in1", "exp:e/best/use_val/@aa", "exp:e", "running"),
        "search:in2": Labelled("search:in2", "exp:e/best/use_val/@bb", "exp:e", "running"),
        "search:seed1": Labelled("search:seed1", "exp:f/curve/@1", "exp:f", "running"),  # all inner: kept
        "search:seed2": Labelled("search:seed2", "exp:f/curve/@2", "exp:f", "running"),
    }
    assert _inner(labels) == {"search:in1", "search:in2"}


def test_a_qloguniform_rounded_to_0_keeps_the_log_scale_and_every_plot_draws():
    pytest.importorskip("plotly")
    space = {"q": hp.qloguniform("q", math.log(0.01), math.log(100), 1), "x": hp.uniform("x", 0, 1)}
    name = session.create_session("session_test_objectives:rich", space, max_evals=30, seed=1)
    session.work_on(name)
    study = optuna.load_study(study_name=name, storage=SessionStorage())
    zeros = [t for t in study.trials if "params_off_log_scale" in t.user_attrs]
    assert zeros and all(t.user_attrs["params_off_log_scale"] == {"q": 0.0} for t in zeros)
    assert {t.distributions["q"] for t in study.trials if "q" in t.params} == {FloatDistribution(1.0, 100.0, log=True)}
    for plot in (optuna.visualization.plot_slice, optuna.visualization.plot_parallel_coordinate,
                 optuna.visualization.plot_contour, optuna.visualization.plot_param_importances):
        plot(study)
