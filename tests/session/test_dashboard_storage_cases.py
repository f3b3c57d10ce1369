"""Optuna's own storage test cases (`optuna.testing.pytest_storages.StorageTestCase`) on SessionStorage.

The storage is read-only: its studies and trials are filled through our
sessions (`create_session`, `work_on`, `next_trial`, `record_result`,
`record_failure`), never through the storage. Each read-side case of
Optuna's class is run here with the same assertions, its data made by
sessions; each case that exists only to test a write is skipped, with the
reason, in `SKIPPED` (pytest lists them with `-rs`).
"""

from __future__ import annotations

import copy
import pickle

import pytest
from hyperopt import hp

from slurm_search import session

optuna = pytest.importorskip("optuna")

from optuna.exceptions import UpdateFinishedTrialError  # noqa: E402
from optuna.study import StudyDirection  # noqa: E402
from optuna.testing.pytest_storages import ALL_STATES, StorageTestCase  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from slurm_search.session.dashboard import SessionStorage, trial_id  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

WRITE = "tests a write: SessionStorage refuses every write (test_dashboard_storage.py checks each refusal)"
SKIPPED = {
    "test_create_new_study": WRITE,
    "test_create_new_study_unique_id": WRITE,
    "test_create_new_study_with_name": WRITE,
    "test_create_new_study_with_empty_name": WRITE,
    "test_delete_study": WRITE,
    "test_delete_study_after_create_multiple_studies": WRITE,
    "test_set_and_get_study_user_attrs": WRITE,
    "test_set_and_get_study_user_attrs_for_floats": WRITE,
    "test_set_and_get_study_system_attrs": WRITE,
    "test_set_and_get_study_system_attrs_for_floats": WRITE,
    "test_study_user_and_system_attrs_confusion": WRITE,
    "test_create_new_trial": WRITE,
    "test_create_new_trial_with_template_trial": WRITE,
    "test_set_trial_state_values_for_state": WRITE,
    "test_set_trial_state_values_for_floats": WRITE,
    "test_set_trial_param": WRITE,
    "test_set_and_get_trial_param_for_floats": WRITE,
    "test_set_trial_state_values_for_values": WRITE,
    "test_set_trial_intermediate_value": WRITE + " (reads of intermediate values: test_dashboard_faithful.py)",
    "test_set_trial_intermediate_value_for_floats": WRITE,
    "test_set_trial_user_attr": WRITE,
    "test_set_and_get_trial_user_attr_for_floats": WRITE,
    "test_set_trial_system_attr": WRITE,
    "test_set_and_get_trial_system_attr_for_floats": WRITE,
    "test_study_user_attrs_concurrent_write": WRITE,
    "test_study_system_attrs_concurrent_write": WRITE,
    "test_get_all_trials_params_order": "sets a trial's params in a chosen order through the storage; a session's "
    "params are hyperopt's labels, in the space's order",
    "test_get_trial_system_attrs": "reads system attrs the test wrote; a session's trials have none (always {})",
}


def _skip(reason: str):  # type: ignore[no-untyped-def]
    def skipped(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        pytest.skip(reason)

    return skipped


def _fill(n_study: int, n_trial: int, seed: int) -> dict[int, str]:
    """`n_study` sessions of `n_trial` trials in every state a session has; study id -> session."""
    names = []
    for i in range(n_study):
        name = session.create_session(
            "session_test_objectives:noop",
            {"a": hp.uniform("a", 0, 1), "c": hp.choice("c", ["CatA", "CatB", hp.uniform("d", -3, 0)])},
            max_evals=n_trial, seed=seed + i, max_attempts=3, error_attempts=2, max_failures=n_trial,
            goal="max" if i % 2 else "min",
        )
        trials = [session.next_trial(name, "w1") for _ in range(n_trial)]
        for k, trial in enumerate(trials):
            if k % 5 in (0, 1):
                session.record_result(name, "w1", trial.tid, trial.params["a"], attempt=trial.attempt)
            elif k % 5 == 4:  # fails twice: failed (a retry is claimed before anything new)
                session.record_failure(name, "w1", trial.tid, "boom", attempt=trial.attempt)
                again = session.next_trial(name, "w1")
                assert again.tid == trial.tid
                session.record_failure(name, "w1", trial.tid, "boom", attempt=again.attempt)
        for k, trial in enumerate(trials):
            if k % 5 == 2:  # failed once: waiting for its next attempt
                session.record_failure(name, "w1", trial.tid, "boom", attempt=trial.attempt)
            # k % 5 == 3: left running
        names.append(name)
    storage = SessionStorage()
    return {storage.get_study_id_from_name(name): name for name in names}


@pytest.fixture
def storage():
    return SessionStorage()


class TestReadSideOfOptunasStorageCases(StorageTestCase):
    """Optuna's storage cases; the read-side ones on data filled through sessions."""

    locals().update({case: _skip(reason) for case, reason in SKIPPED.items()})

    def test_get_study_id_from_name_and_get_study_name_from_id(self, storage):
        (study_id, name), = _fill(1, 1, 1).items()
        assert storage.get_study_name_from_id(study_id) == name
        assert storage.get_study_id_from_name(name) == study_id
        with pytest.raises(KeyError):
            storage.get_study_id_from_name("dummy-name")
        with pytest.raises(KeyError):
            storage.get_study_name_from_id(study_id + 1)

    def test_set_and_get_study_directions(self, storage):
        studies = _fill(2, 1, 2)
        for study_id, name in studies.items():
            want = StudyDirection.MAXIMIZE if session.info(name).goal == "max" else StudyDirection.MINIMIZE
            assert storage.get_study_directions(study_id) == [want]
        assert {d for s in studies for d in storage.get_study_directions(s)} == {
            StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE}
        with pytest.raises(KeyError):
            storage.get_study_directions(max(studies) + 1)

    def test_get_all_studies(self, storage):
        studies = _fill(4, 2, 46)
        frozen = {s.study_name: s for s in storage.get_all_studies()}
        assert len(frozen) == len(studies)
        for study_id, name in studies.items():
            assert frozen[name]._study_id == study_id
            assert frozen[name].directions == storage.get_study_directions(study_id)
            assert frozen[name].user_attrs == storage.get_study_user_attrs(study_id)
            assert frozen[name].system_attrs == storage.get_study_system_attrs(study_id) == {}

    def test_get_trial(self, storage):
        studies = _fill(2, 20, 47)
        for study_id in studies:
            for expected in storage.get_all_trials(study_id):
                assert storage.get_trial(expected._trial_id) == expected
            with pytest.raises(KeyError):
                storage.get_trial(trial_id(study_id, 20))
        with pytest.raises(KeyError):
            storage.get_trial(trial_id(max(studies) + 1, 0))

    def test_get_all_trials(self, storage):
        studies = _fill(2, 20, 48)
        for study_id, name in studies.items():
            trials = storage.get_all_trials(study_id)
            assert [t.user_attrs["tid"] for t in trials] == [row.tid for row in session.trial_rows(name)]
            for trial in trials:
                assert trial == storage.get_trial(trial._trial_id)
        with pytest.raises(KeyError):
            storage.get_all_trials(max(studies) + 1)

    def test_get_all_trials_deepcopy_option(self, storage):
        studies = _fill(2, 5, 49)
        for study_id in studies:
            trials0 = storage.get_all_trials(study_id, deepcopy=True)
            assert len(trials0) == 5
            trials0_original = copy.deepcopy(trials0)
            trials0[0].params["x"] = 0.1
            trials1 = storage.get_all_trials(study_id, deepcopy=False)
            assert trials0_original == trials1

    def test_get_all_trials_state_option(self, storage):
        (study_id, _name), = _fill(1, 10, 51).items()
        # 10 trials: 4 ok, 2 waiting, 2 running, 2 failed.
        counts = {TrialState.COMPLETE: 4, TrialState.WAITING: 2, TrialState.RUNNING: 2, TrialState.FAIL: 2}
        assert len(storage.get_all_trials(study_id, states=None)) == 10
        for state in ALL_STATES:
            got = storage.get_all_trials(study_id, states=(state,))
            assert len(got) == counts.get(state, 0) and all(t.state == state for t in got)
        got = storage.get_all_trials(study_id, states=(TrialState.COMPLETE, TrialState.FAIL))
        assert len(got) == 6
        assert storage.get_all_trials(study_id, states=()) == []

    def test_get_all_trials_not_modified(self, storage):
        studies = _fill(2, 10, 48)
        for study_id, name in studies.items():
            trials = storage.get_all_trials(study_id, deepcopy=False)
            deepcopied = copy.deepcopy(trials)
            # The sessions move on (a running trial finishes): what was read is not changed.
            for trial in trials:
                if trial.state == TrialState.RUNNING:
                    attempt = trial.user_attrs["attempt"]
                    session.record_result(name, "w1", trial.user_attrs["tid"], 0.5, attempt=attempt)
            assert trials == deepcopied
            assert storage.get_all_trials(study_id) != deepcopied

    def test_get_n_trials(self, storage):
        studies = _fill(2, 7, 50)
        for study_id in studies:
            assert storage.get_n_trials(study_id) == 7
        with pytest.raises(KeyError):
            storage.get_n_trials(max(studies) + 1)

    def test_get_n_trials_state_option(self, storage):
        name = session.create_session(
            "session_test_objectives:rich", {"x": hp.uniform("x", 0, 10)}, max_evals=20, seed=5, pruner="median",
        )
        session.work_on(name)
        study_id = storage.get_study_id_from_name(name)
        p = session.progress(name)
        assert p.pruned > 0
        assert storage.get_n_trials(study_id, TrialState.COMPLETE) == p.completed  # completed: the ok ones
        assert storage.get_n_trials(study_id, TrialState.PRUNED) == p.pruned
        for state in ALL_STATES:
            if state not in (TrialState.COMPLETE, TrialState.PRUNED):
                assert storage.get_n_trials(study_id, state) == 0

    @pytest.mark.parametrize("direction", [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE])
    @pytest.mark.parametrize(
        "values",
        # Optuna's cases with an infinite value are left out: a session refuses a loss that is not
        # finite (the objective's trial fails instead).
        [[0.0, 1.0, 2.0], [0.0, -5.0, 1.0], [3.0], [2.0, 0.0, 1.0, -1.0]],
    )
    def test_get_best_trial(self, storage, direction, values):
        goal = "max" if direction == StudyDirection.MAXIMIZE else "min"
        name = session.create_session(
            "session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=len(values), goal=goal,
        )
        study_id = storage.get_study_id_from_name(name)
        with pytest.raises(ValueError):
            storage.get_best_trial(study_id)
        with pytest.raises(KeyError):
            storage.get_best_trial(study_id + 1)
        for v in values:
            trial = session.next_trial(name, "w1")
            # The session records a loss; a maximising session's value is minus its loss.
            session.record_result(name, "w1", trial.tid, -v if goal == "max" else v, attempt=trial.attempt)
        expected = max(values) if direction == StudyDirection.MAXIMIZE else min(values)
        assert storage.get_best_trial(study_id).value == expected

    def test_get_best_trial_for_multi_objective_optimization(self, storage):
        name = session.create_session(
            "session_test_objectives:two_values", {"x": hp.uniform("x", 0, 1)}, algo="optuna:RandomSampler",
            max_evals=3, directions=["max", "min"],
        )
        session.work_on(name)
        study_id = storage.get_study_id_from_name(name)
        assert storage.get_study_directions(study_id) == [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE]
        with pytest.raises(RuntimeError):
            storage.get_best_trial(study_id)

    def test_get_trial_id_from_study_id_trial_number(self, storage):
        with pytest.raises(KeyError):
            storage.get_trial_id_from_study_id_trial_number(study_id=0, trial_number=0)
        names = []
        for _ in range(2):
            name = session.create_session("session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=2)
            study_id = storage.get_study_id_from_name(name)
            with pytest.raises(KeyError):
                storage.get_trial_id_from_study_id_trial_number(study_id, trial_number=0)
            session.next_trial(name, "w1")
            got = storage.get_trial_id_from_study_id_trial_number(study_id, trial_number=0)
            assert got == storage.get_all_trials(study_id)[0]._trial_id
            names.append(got)
        assert names[0] != names[1]

    def test_get_trial_number_from_id(self, storage):
        name = session.create_session("session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=3)
        study_id = storage.get_study_id_from_name(name)
        session.next_trial(name, "w1")
        first = storage.get_trial_id_from_study_id_trial_number(study_id, 0)
        assert storage.get_trial_number_from_id(first) == 0
        session.next_trial(name, "w1")
        second = storage.get_trial_id_from_study_id_trial_number(study_id, 1)
        assert storage.get_trial_number_from_id(second) == 1
        with pytest.raises(KeyError):
            storage.get_trial_number_from_id(trial_id(study_id, 2))

    def test_get_trial_param_and_get_trial_params(self, storage):
        studies = _fill(2, 5, 1)
        for study_id in studies:
            for trial in storage.get_all_trials(study_id):
                assert storage.get_trial_params(trial._trial_id) == trial.params
                for key, value in trial.params.items():
                    assert storage.get_trial_param(trial._trial_id, key) == trial.distributions[key].to_internal_repr(
                        value)
                with pytest.raises(KeyError):
                    storage.get_trial_param(trial._trial_id, "dummy-key")
            with pytest.raises(KeyError):
                storage.get_trial_params(trial_id(study_id, 5))

    def test_get_trial_user_attrs(self, storage):
        studies = _fill(2, 5, 10)
        for study_id in studies:
            for trial in storage.get_all_trials(study_id):
                assert storage.get_trial_user_attrs(trial._trial_id) == trial.user_attrs
                assert trial.user_attrs["worker"] == "w1"
        with pytest.raises(KeyError):
            storage.get_trial_user_attrs(trial_id(max(studies) + 1, 0))

    def test_pickle_storage(self, storage):
        (study_id, _name), = _fill(1, 3, 7).items()
        restored = pickle.loads(pickle.dumps(storage))
        assert restored.get_study_user_attrs(study_id) == storage.get_study_user_attrs(study_id)
        assert restored.get_all_trials(study_id) == storage.get_all_trials(study_id)

    def test_check_trial_is_updatable(self, storage):
        (study_id, _name), = _fill(1, 5, 8).items()
        for trial in storage.get_all_trials(study_id):
            if trial.state.is_finished():
                with pytest.raises(UpdateFinishedTrialError):
                    storage.check_trial_is_updatable(trial._trial_id, trial.state)
            else:
                storage.check_trial_is_updatable(trial._trial_id, trial.state)


def test_every_case_of_optunas_class_is_run_or_skipped_with_a_reason():
    cases = {name for name in dir(StorageTestCase) if name.startswith("test_")}
    ours = {name for name, value in vars(TestReadSideOfOptunasStorageCases).items() if name.startswith("test_")}
    assert cases <= ours, sorted(cases - ours)  # a case added to Optuna's class must be decided here
    assert set(SKIPPED) <= cases
