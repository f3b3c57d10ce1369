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
  new dashboard may number the later ones anew).
- A trial's number is its rank by tid (0, 1, 2...: consecutive, as Optuna
  requires, also after `delete_trial`), its id the Cantor pairing of
  (study id, tid): unique over every study and trial, with no limit on
  either, and unchanged by deletions.
- The home page (`get_all_studies`) lists the outer sessions: an
  experiment's inner sub-session (one whose label extends another
  session's label, as the per-setting searches `.../@3d369a6d1b6b`) is
  left out unless the storage is made with `inner=True`; its outer study
  counts them (user attr `inner_sessions`), and it is still found by
  name and id.
- Trial states: ok -> COMPLETE (value: the objective's value, the loss
  or minus it, see above; a NaN loss -> FAIL), pruned -> PRUNED (value:
  its last report, as Optuna keeps it), failed -> FAIL, running ->
  RUNNING, waiting for an attempt -> WAITING. A trial's reports
  (`session.report`) are its intermediate values, in the same sign.
- Parameters are hyperopt's labels with distributions read from the
  session's space (see `_dashboard_spaces`): `scope.int`/`uniformint` ->
  int with its step, `quniform` -> float with its step, the log forms on
  a log scale, `hp.choice` -> categorical over readable options. A
  `qloguniform` value that hyperopt rounded to 0 cannot sit on a log
  scale: it is left out of the trial's params and shown in its user attr
  `params_off_log_scale`.
- A multi-objective session (`directions=[...]`, see _multi.py) is a
  study with one direction per value; its trials' `values` are the
  objective's, in their own sign, so `best_trials` is its Pareto front.
- `create_study(load_if_exists=True)` on a session's name loads it; any
  other creation is refused.

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

from optuna.distributions import BaseDistribution
from optuna.exceptions import DuplicatedStudyError
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from ._dashboard_spaces import distributions_of, external, fit, local
from ._errors import SessionError
from ._goals import value_of
from ._labels import labelled
from ._optuna_private import frozen_study, frozen_study_id
from ._queries import info, list_sessions, progress, space
from ._reports import trial_reports
from ._trial_table import TrialRow, trial_rows

logger = logging.getLogger(__name__)

LIST_SECONDS = 2.0  # how long a listing of the sessions is reused
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


def _directions(session: str) -> list[StudyDirection]:
    """One direction per value: a multi-objective session's, else its goal's."""
    settings = info(session)
    return [_direction(d) for d in settings.directions] if settings.directions else [_direction(settings.goal)]


def _number(value: float | None) -> Any:
    """A user attribute's number: inf and nan as text (JSON has neither)."""
    return value if value is None or math.isfinite(value) else str(value)


def _refuse(method: str):  # type: ignore[no-untyped-def]
    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise ReadOnlyStorageError(method)

    refuse.__name__ = method
    refuse.__doc__ = "Refused: the storage is read-only (raises ReadOnlyStorageError)."
    return refuse


def trial_id(study_id: int, tid: int) -> int:
    """The Cantor pairing of (study id, tid): one id per trial of any study, without a bound."""
    s = study_id + tid
    return s * (s + 1) // 2 + tid


def study_and_tid(trial_id: int) -> tuple[int, int]:
    """The (study id, tid) that `trial_id` pairs (the inverse of `trial_id`)."""
    if trial_id < 0:
        raise KeyError(f"no trial with id {trial_id}")
    s = (math.isqrt(8 * trial_id + 1) - 1) // 2
    tid = trial_id - s * (s + 1) // 2
    return s - tid, tid


def _inner(labels: dict[str, Any]) -> set[str]:
    """An experiment's inner sub-sessions: a label that extends another session's label, or that
    holds an `@` segment (a search per setting or seed); an owner whose sessions are all inner
    keeps them all, so every experiment shows."""
    mine = {owned.label: session for session, owned in labels.items()}
    inner = set()
    for label, session in mine.items():
        parts = label.split("/")
        if any(p.startswith("@") for p in parts[1:]) or any("/".join(parts[:k]) in mine for k in range(2, len(parts))):
            inner.add(session)
    owners: dict[str, list[str]] = {}
    for session, owned in labels.items():
        owners.setdefault(owned.owner, []).append(session)
    for sessions in owners.values():
        if all(s in inner for s in sessions):
            inner.difference_update(sessions)
    return inner


class SessionStorage(BaseStorage):
    """The store's sessions as Optuna studies, read-only.

    Safe to share between the threads of a dashboard: it keeps only the
    id -> session table, the study names and the spaces' distributions
    (under a lock), and reads the sessions from the store on every call.
    It pickles (without its lock), and so does a study loaded from it.

    Args:
        inner: list an experiment's inner sub-sessions (one search per
            setting or seed) in `get_all_studies` too; by default only the
            outer ones are listed (the inner ones are found by name and id).
    """

    def __init__(self, inner: bool = False) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._names: dict[int, str] = {}  # study id -> session
        self._labels: dict[str, str] = {}  # session -> study name (its label, or itself)
        self._spaces: dict[str, dict[str, Any]] = {}
        self._owners: dict[str, Any] = {}  # session -> Labelled, from the last listing
        self._listed: tuple[float, list[str]] | None = None  # (when, sessions)
        self._hidden: set[str] = set()  # inner sub-sessions, left off the listing

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

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
            self._hidden = _inner(labels)
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

    def _frozen_study(self, study_id: int, session: str, labels: dict[str, Any]) -> Any:
        directions = _directions(session)
        return frozen_study(
            study_name=self._labels.get(session, session),
            direction=None if len(directions) > 1 else directions[0],
            directions=directions if len(directions) > 1 else None,
            user_attrs=self._user_attrs(session, labels.get(session)),
            system_attrs={},
            study_id=study_id,
        )

    def _user_attrs(self, session: str, label: Any) -> dict[str, Any]:
        p = progress(session)
        hidden = self._hidden
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
            under = [
                s for s, owned in self._owners.items()
                if s in hidden and owned.label.startswith(label.label + "/")
            ]
            if under:
                attrs["inner_sessions"] = len(under)
        return attrs

    def get_all_studies(self) -> list[Any]:  # optuna.study._frozen.FrozenStudy
        sessions = self._scan()
        labels = self._owners
        studies = []
        for name in sessions:
            if not self._inner and name in self._hidden:
                continue
            try:
                studies.append(self._frozen_study(self._id(name), name, labels))
            except SessionError as err:  # deleted or damaged since the listing: leave it out
                logger.warning("session %s is left out: %s", name, err)
        return sorted(studies, key=frozen_study_id)

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
        return _directions(self._session(study_id))

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
        reports = trial_reports(session)
        specs = self._distributions(session)
        seen: dict[str, list[Any]] = {}
        for row in rows:
            for label, value in row.vals.items():
                seen.setdefault(label, []).append(value)
        dists = {label: fit(specs.get(label), values) for label, values in seen.items()}
        return [
            self._frozen_trial(study_id, number, row, dists, reports.get(row.tid, {}))
            for number, row in enumerate(rows)
        ]

    def _frozen_trial(
        self, study_id: int, number: int, row: TrialRow, dists: dict[str, BaseDistribution], reports: dict[int, float]
    ) -> FrozenTrial:
        state = _STATES[row.state]
        # The objective's value in its own sign (the study maximises when the goal is max);
        # a session that optimises nothing has only its placeholder losses.
        goal = "min" if row.goal == "none" else row.goal
        intermediate = {step: value_of(goal, loss) for step, loss in sorted(reports.items())}
        value = row.loss if row.goal == "none" else row.value
        values = None
        if row.result and "values" in row.result and "losses" in row.result:
            values = [float(x) for x in row.result["values"]]  # a multi-objective trial: in their own sign
        if state == TrialState.PRUNED:
            # Optuna keeps a pruned trial's last report (at its largest step) as its value.
            value = intermediate[max(intermediate)] if intermediate else value
        if state == TrialState.COMPLETE and (value is None or math.isnan(value)):
            state = TrialState.FAIL
        params = {label: external(dists[label], v) for label, v in row.vals.items()}
        user_attrs: dict[str, Any] = {"worker": row.worker, "attempt": row.attempt, "tid": row.tid}
        # A qloguniform value that hyperopt rounded to 0 has no place on a log scale (Optuna's
        # plots take its log): the trial shows it in a user attr, not as a param.
        off_scale = {label: v for label, v in params.items() if getattr(dists[label], "log", False) and v <= 0}
        if off_scale:
            user_attrs["params_off_log_scale"] = off_scale
            params = {label: v for label, v in params.items() if label not in off_scale}
        if row.duration is not None:
            user_attrs["duration"] = row.duration
        return FrozenTrial(
            number=number,
            state=state,
            value=None if values is not None or state not in (TrialState.COMPLETE, TrialState.PRUNED) else value,
            values=values if values is not None and state == TrialState.COMPLETE else None,
            datetime_start=local(row.start) if state != TrialState.WAITING else None,
            datetime_complete=local(row.end) if state.is_finished() else None,
            params=params,
            distributions={label: dists[label] for label in params},
            user_attrs=user_attrs,
            system_attrs={},
            intermediate_values=intermediate,  # type: ignore[arg-type]
            trial_id=trial_id(study_id, row.tid),
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

    def get_trial(self, trial_id: int) -> FrozenTrial:
        study_id, tid = study_and_tid(trial_id)
        if study_id not in self._names:
            self._session(study_id)  # raises KeyError for a study that is not there
        for trial in self._trials(study_id):
            if trial.user_attrs["tid"] == tid:
                return trial
        raise KeyError(f"no trial with id {trial_id}")

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        trials = self._trials(study_id)
        if not 0 <= trial_number < len(trials):
            raise KeyError(f"no trial number {trial_number} in study {study_id}")
        return trials[trial_number]._trial_id

    # -- writes: refused ---------------------------------------------------------

    def create_new_study(self, directions: Any, study_name: str | None = None) -> int:
        """Refused, but for a session's name: then `DuplicatedStudyError`, so that
        `optuna.create_study(load_if_exists=True)` loads the session."""
        if study_name is not None:
            try:
                self.get_study_id_from_name(study_name)
            except (KeyError, SessionError):
                pass
            else:
                raise DuplicatedStudyError(f"study {study_name!r} is a session of the store: load it")
        raise ReadOnlyStorageError("create_new_study")

    # -- writes: refused ---------------------------------------------------------

    delete_study = _refuse("delete_study")
    set_study_user_attr = _refuse("set_study_user_attr")
    set_study_system_attr = _refuse("set_study_system_attr")
    create_new_trial = _refuse("create_new_trial")
    set_trial_param = _refuse("set_trial_param")
    set_trial_state_values = _refuse("set_trial_state_values")
    set_trial_intermediate_value = _refuse("set_trial_intermediate_value")
    set_trial_user_attr = _refuse("set_trial_user_attr")
    set_trial_system_attr = _refuse("set_trial_system_attr")
