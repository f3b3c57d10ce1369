"""A read-only Optuna storage of the store, and the dashboard served over it.

`SessionStorage` is an `optuna.storages.BaseStorage` whose studies are the
store's sessions and whose trials are their trials, so optuna's own tools
read our sessions unchanged::

    import optuna
    from slurm_search.session.dashboard import SessionStorage

    study = optuna.load_study(study_name="search:lumpy_roomy_vague_army", storage=SessionStorage())
    optuna.visualization.plot_optimization_history(study)

and ``ssearch dashboard`` serves optuna-dashboard over it (`slurm_search.session.workers`).

The mapping:

- A session is a study of the objective's values in their own sign: it
  maximises when the session's goal is `max` (trial values are then minus
  the loss), else it minimises (a session whose goal is `none` optimises
  nothing: its values are the placeholder losses). Its name is the session's
  `type:name`, or, for an experiment's sub-session, its label
  (`exp:NAME/best_xy/argmax:mean`, see `_labels.py`); both find it. Its
  user attrs say where it stands: session, experiment, label, status,
  progress, completed, failed, running, max_evals, goal, best_value (the
  best so far in the objective's sign; `-` for the goal `none`), best_loss,
  algo, objective.
- Study ids are 1, 2, 3... in the order the sessions were created, given
  when a storage first sees a session and kept while it lives (so a
  dashboard's URLs stay valid while it runs; after a session is deleted, a
  new dashboard may number the later ones anew). A trial's id is
  `study_id * 2**20 + tid`.
  A trial's number is its tid (tids of deleted trials leave gaps).
- Trial states: ok -> COMPLETE (value: the objective's value, the loss
  or minus it, see above; a NaN loss -> FAIL),
  failed -> FAIL, running -> RUNNING, waiting for an attempt -> WAITING.
- Parameters are hyperopt's labels with distributions derived from the
  session's space: `uniform`, `quniform` -> float; `loguniform`,
  `qloguniform`, `lognormal` -> float on a log scale; `randint` -> int;
  `hp.choice` -> categorical over its options (an option that is not a
  plain value is shown by its index); `normal` and anything else -> a
  float or categorical over the values seen.

Every read goes to the store (through this process's incremental views), so
a dashboard follows running searches. Nothing is ever written: every write
method raises `ReadOnlyStorageError` (a `NotImplementedError`), and the
served dashboard refuses every request but GET and HEAD before it reaches
the storage.

This module imports optuna: it is the `[dashboard]` extra's, and nothing
else in the package imports it.
"""

from __future__ import annotations

import copy
import datetime
import logging
import math
import threading
import time
from collections.abc import Container
from typing import Any

from optuna.distributions import (
    BaseDistribution,
)
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.study._frozen import FrozenStudy
from optuna.trial import FrozenTrial, TrialState

from ._dashboard_spaces import distributions_of, external, fit, local
from ._errors import SessionError
from ._labels import labelled
from ._queries import info, list_sessions, progress, space
from ._trial_table import TrialRow, trial_rows

logger = logging.getLogger(__name__)

LIST_SECONDS = 2.0  # how long a listing of the sessions is reused
TRIAL_BITS = 20  # tids per study in a trial id: 2**20 trials per session
_STATES = {
    "ok": TrialState.COMPLETE,
    "failed": TrialState.FAIL,
    "running": TrialState.RUNNING,
    "waiting": TrialState.WAITING,
    "pruned": TrialState.PRUNED,
}


class ReadOnlyStorageError(NotImplementedError):
    """The store is read through optuna, never written: optimise with `ssearch`/`run_exp`."""

    def __init__(self, method: str) -> None:
        super().__init__(
            f"SessionStorage is read-only ({method}): sessions are written by ssearch and run_exp, "
            "never through optuna"
        )
        self.method = method


def _direction(goal: str) -> StudyDirection:
    """A session's study maximises when its goal is `max` (its values are then minus its losses)."""
    return StudyDirection.MAXIMIZE if goal == "max" else StudyDirection.MINIMIZE


def _number(value: float | None) -> Any:
    """A user attribute's number: inf and nan as text (JSON has neither)."""
    return value if value is None or math.isfinite(value) else str(value)


def _refuse(method: str):  # type: ignore[no-untyped-def]
    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise ReadOnlyStorageError(method)

    refuse.__name__ = method
    refuse.__doc__ = "Refused: the storage is read-only (raises ReadOnlyStorageError)."
    return refuse


# -- distributions from a hyperopt space ---------------------------------------


class SessionStorage(BaseStorage):
    """The store's sessions as Optuna studies, read-only.

    Safe to share between the threads of a dashboard: it keeps only the
    id -> session table, the study names and the spaces' distributions
    (under a lock), and reads the sessions from the store on every call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[int, str] = {}  # study id -> session
        self._labels: dict[str, str] = {}  # session -> study name (its label, or itself)
        self._spaces: dict[str, dict[str, Any]] = {}
        self._owners: dict[str, Any] = {}  # session -> Labelled, from the last listing
        self._listed: tuple[float, list[str]] | None = None  # (when, sessions)

    # -- studies ---------------------------------------------------------------

    def _scan(self) -> list[str]:
        # The listing replays every session's log: a dashboard asks for it on
        # each poll of each page, so it is reused for LIST_SECONDS (a new
        # session shows up that much later; its trials are always read fresh).
        now = time.monotonic()
        if self._listed is not None and now - self._listed[0] < LIST_SECONDS:
            return self._listed[1]
        summaries = [s for s in list_sessions(all=True) if s.status != "corrupt"]
        labels = labelled()
        with self._lock:
            known = set(self._names.values())
            # New sessions get the next ids in the order they were created.
            for summary in sorted(summaries, key=lambda s: (s.created or 0.0, s.name)):
                if summary.name not in known:
                    self._names[len(self._names) + 1] = summary.name
                self._labels[summary.name] = labels[summary.name].label if summary.name in labels else summary.name
            self._owners = labels
            self._listed = (now, [s.name for s in summaries])
        return self._listed[1]

    def _session(self, study_id: int) -> str:
        name = self._names.get(study_id)
        if name is None:
            self._listed = None
            self._scan()
            name = self._names.get(study_id)
        if name is None:
            raise KeyError(f"no study with id {study_id}")
        return name

    def _id(self, session: str) -> int:
        for study_id, name in list(self._names.items()):
            if name == session:
                return study_id
        raise KeyError(f"no study for session {session}")

    def _frozen_study(self, study_id: int, session: str, labels: dict[str, Any]) -> FrozenStudy:
        return FrozenStudy(
            study_name=self._labels.get(session, session),
            direction=_direction(info(session).goal),
            user_attrs=self._user_attrs(session, labels.get(session)),
            system_attrs={},
            study_id=study_id,
        )

    def _user_attrs(self, session: str, label: Any) -> dict[str, Any]:
        p = progress(session)
        settings = info(session)
        attrs: dict[str, Any] = {
            "session": session,
            "status": p.status,
            "progress": f"{p.completed}/{p.max_evals}",
            "completed": p.completed,
            "failed": p.failed,
            "running": p.running,
            "max_evals": p.max_evals,
            "goal": p.goal,
            "best_value": "-" if p.best_value is None else _number(p.best_value),
            "best_loss": _number(p.best_loss),
            "algo": settings.algo,
            "objective": settings.objective,
            "created": datetime.datetime.fromtimestamp(settings.created).isoformat(timespec="seconds"),
        }
        if label is not None:
            attrs.update(label=label.label, experiment=label.owner, experiment_status=label.owner_status)
        return attrs

    def get_all_studies(self) -> list[FrozenStudy]:
        sessions = self._scan()
        labels = self._owners
        studies = []
        for name in sessions:
            try:
                studies.append(self._frozen_study(self._id(name), name, labels))
            except SessionError as err:  # deleted or damaged since the listing: leave it out
                logger.warning("session %s is left out: %s", name, err)
        return sorted(studies, key=lambda s: s._study_id)

    def get_study_id_from_name(self, study_name: str) -> int:
        from ._labels import resolve

        try:
            session = resolve(study_name)
            progress(session)
        except SessionError as err:
            raise KeyError(f"no study named {study_name!r}: {err}") from None
        if session not in self._names.values():
            self._listed = None  # a session newer than the last listing
            self._scan()
        return self._id(session)

    def get_study_name_from_id(self, study_id: int) -> str:
        session = self._session(study_id)
        return self._labels.get(session, session)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return [_direction(info(self._session(study_id)).goal)]

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        session = self._session(study_id)
        self._scan()
        return self._user_attrs(session, self._owners.get(session))

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        self._session(study_id)
        return {}

    # -- trials ----------------------------------------------------------------

    def _distributions(self, session: str) -> dict[str, Any]:
        found = self._spaces.get(session)
        if found is None:
            try:
                found = distributions_of(space(session))
            except Exception as err:  # an unusual space: decide every label from its values
                logger.info("distributions of %s come from its values: %s", session, err)
                found = {}
            with self._lock:
                self._spaces[session] = found
        return found

    def _trials(self, study_id: int) -> list[FrozenTrial]:
        session = self._session(study_id)
        rows = trial_rows(session)
        specs = self._distributions(session)
        seen: dict[str, list[Any]] = {}
        for row in rows:
            for label, value in row.vals.items():
                seen.setdefault(label, []).append(value)
        dists = {label: fit(specs.get(label), values) for label, values in seen.items()}
        return [self._frozen_trial(study_id, row, dists) for row in rows]

    def _frozen_trial(self, study_id: int, row: TrialRow, dists: dict[str, BaseDistribution]) -> FrozenTrial:
        state = _STATES[row.state]
        # The objective's value in its own sign (the study maximises when the goal is max);
        # a session that optimises nothing has only its placeholder losses.
        value = row.loss if row.goal == "none" else row.value
        if state == TrialState.COMPLETE and (value is None or math.isnan(value)):
            state = TrialState.FAIL
        params = {label: external(dists[label], v) for label, v in row.vals.items()}
        user_attrs: dict[str, Any] = {"worker": row.worker, "attempt": row.attempt}
        if row.duration is not None:
            user_attrs["duration"] = row.duration
        return FrozenTrial(
            number=row.tid,
            state=state,
            value=value if state == TrialState.COMPLETE else None,
            datetime_start=local(row.start) if state != TrialState.WAITING else None,
            datetime_complete=local(row.end) if state.is_finished() else None,
            params=params,
            distributions={label: dists[label] for label in params},
            user_attrs=user_attrs,
            system_attrs={},
            intermediate_values={},
            trial_id=study_id * 2**TRIAL_BITS + row.tid,
        )

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        trials = self._trials(study_id)
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def _trial(self, trial_id: int) -> FrozenTrial:
        study_id, tid = divmod(trial_id, 2**TRIAL_BITS)
        for trial in self._trials(study_id):
            if trial.number == tid:
                return trial
        raise KeyError(f"no trial with id {trial_id}")

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self._trial(trial_id)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        self._trial(study_id * 2**TRIAL_BITS + trial_number)
        return study_id * 2**TRIAL_BITS + trial_number

    # -- writes: refused ---------------------------------------------------------

    create_new_study = _refuse("create_new_study")
    delete_study = _refuse("delete_study")
    set_study_user_attr = _refuse("set_study_user_attr")
    set_study_system_attr = _refuse("set_study_system_attr")
    create_new_trial = _refuse("create_new_trial")
    set_trial_param = _refuse("set_trial_param")
    set_trial_state_values = _refuse("set_trial_state_values")
    set_trial_intermediate_value = _refuse("set_trial_intermediate_value")
    set_trial_user_attr = _refuse("set_trial_user_attr")
    set_trial_system_attr = _refuse("set_trial_system_attr")
