"""Every trial of a session as rows: what `ssearch trials` prints and `dataframe` returns.

A row is one trial as its session's log tells it, whatever its state:
its tid, state (`waiting`, `running`, `ok`, `failed`), attempt, worker and
host, the parameters the objective got (flattened: a nested dict's keys are
joined with `:`, as on `run_exp`'s command line), the loss, how long the
objective took, and when the trial started (its first claim) and ended (its
result or last failure). A session is named as everywhere (`NAME`,
`TYPE:NAME`) or, for an experiment's sub-session, by its label
(`exp:NAME/best_xy/argmax:mean`, see `_labels.py`).

pandas is not a dependency of this package: `dataframe` imports it when it
is called and says how to install it when it is missing.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from ._flat import flatten_params
from ._goals import value_of
from ._labels import resolve
from ._pbt import schedule
from ._view import view

logger = logging.getLogger(__name__)

# The states of a trial, as users read them (the model's `new` is a trial
# waiting for its next attempt).
_STATE = {"new": "waiting", "running": "running", "ok": "ok", "failed": "failed", "pruned": "pruned"}

COLUMNS = ("tid", "state", "attempt", "host", "worker", "loss", "duration", "start", "end", "value")


@dataclass(frozen=True)
class TrialRow:
    """One trial of a session.

    Attributes:
        tid: the trial id.
        state: `waiting` (for its next attempt), `running`, `ok` or `failed`.
        attempt: how many times it was claimed.
        worker: the worker of its current or last attempt (`host:pid...`).
        host: the host part of `worker` (None if it has none).
        params: the objective's parameters, flattened (`{"a:b": 1}`).
        loss: the loss (ok trials; pruned ones: their last report; None otherwise).
        duration: seconds the objective took (ok, pruned and failed trials).
        start: when it was first claimed (seconds since the epoch).
        end: when it finished (ok, pruned and failed trials).
        result: the objective's whole result dict (ok trials).
        vals: hyperopt's values of its active labels (label -> value;
            an index for `hp.choice`).
        value: the objective's value in its own sign (`loss`, or `-loss`
            when the session's goal is `max`; None when it is `none`).
        goal: the session's goal (`min`, `max`, `none`).
        schedule: a PBT member's schedule, ((step, flattened params), ...):
            the parameters in effect from each step on (see `pbt_schedule`);
            () for other sessions.
    """

    tid: int
    state: str
    attempt: int
    worker: str | None
    host: str | None
    params: dict[str, Any] = field(default_factory=dict)
    loss: float | None = None
    duration: float | None = None
    start: float | None = None
    end: float | None = None
    result: dict | None = None
    vals: dict[str, Any] = field(default_factory=dict)
    value: float | None = None
    goal: str = "min"
    schedule: tuple = ()


def trial_rows(name: str) -> list[TrialRow]:
    """Every trial of session `name` (or of the sub-session a label names), by tid.

    Raises:
        UnknownSession: no such session.
        UnknownLabel: a label that names no sub-session.
    """
    v = view(resolve(name))
    st = v.refresh()
    var = _drawn_var(st.spec.metadata)
    with v.mutex:
        trials = [st.trials[tid] for tid in sorted(st.trials)]
        rows = [_row(trial, _unwrapped(_params(v, trial), var), st.spec.goal) for trial in trials]
        if st.spec.algo == "pbt":
            rows = [
                dataclasses.replace(
                    row, schedule=tuple((step, flatten(p)) for step, p in schedule_params(v, row.tid))
                )
                for row in rows
            ]
        return rows


def _drawn_var(metadata: Any) -> str | None:
    """The variable an experiment's sampling session draws (its metadata's
    ``var``), whose value the objective gets as ``{"value": ...}``."""
    if isinstance(metadata, dict) and metadata.get("experiment") and isinstance(metadata.get("var"), str):
        return metadata["var"]
    return None


def _unwrapped(params: Any, var: str | None) -> Any:
    """An experiment's ``{"value": {"x": 1}}`` as ``{"x": 1}`` (columns ``x``,
    not ``value:x``); a drawn scalar as ``{var: value}`` (``seed``)."""
    if var is None or not isinstance(params, dict) or set(params) != {"value"}:
        return params
    inner = params["value"]
    return inner if isinstance(inner, dict) and inner else {var: inner}


def _params(v: Any, trial: Any) -> Any:
    """The trial's parameters; where the space does not evaluate (its module does not
    import here), hyperopt's values by label: a listing never needs the user's code."""
    try:
        return v.derived.params(v.state, trial.tid)
    except Exception as err:  # the space's own code, or a module that does not import here
        logger.info("trial %s of %s: parameters shown by label (%s: %s)", trial.tid, v.name, type(err).__name__, err)
        return {label: value[0] for label, value in trial.vals.items() if value}


def vals_params(v: Any, vals: dict) -> Any:
    """The objective's parameters for hyperopt `vals`; by label where the space does not evaluate here."""
    from ._space import params

    try:
        space, _ = v.derived.space_and_domain(v.state)
        return params(space, vals)
    except Exception as err:  # noqa: BLE001 - the user's code, or a module that does not import here
        logger.info("parameters shown by label (%s: %s)", type(err).__name__, err)
        return {label: value[0] for label, value in vals.items() if value}


def schedule_params(v: Any, tid: int) -> list[tuple[int, Any]]:
    """A PBT member's schedule as [(step, params), ...] (the caller holds `v.mutex`, the state fresh)."""
    return [(step, vals_params(v, vals)) for step, vals in schedule(v.state, tid)]


def _row(trial: Any, params: Any, goal: str = "min") -> TrialRow:
    finished = trial.status in ("ok", "failed", "pruned")
    loss = trial.result.get("loss") if trial.status in ("ok", "pruned") and trial.result else None
    worker = trial.owner
    return TrialRow(
        tid=trial.tid,
        state=_STATE.get(trial.status, trial.status),
        attempt=trial.attempt,
        worker=worker,
        host=worker.partition(":")[0] if worker and ":" in worker else None,
        params=flatten(params),
        loss=None if loss is None else float(loss),
        duration=trial.duration if finished else None,
        start=trial.book_time,
        end=trial.refresh_time if finished else None,
        result=dict(trial.result) if trial.status == "ok" and trial.result else None,
        vals={label: v[0] for label, v in trial.vals.items() if v},
        value=value_of(goal, None if loss is None else float(loss)),
        goal=goal,
    )


flatten = flatten_params  # the one flattener, under the name this package's modules use


def param_names(rows: list[TrialRow]) -> list[str]:
    """The parameter columns of `rows`, in first-seen order."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.params))
    return list(names)


def records(rows: list[TrialRow], param_prefix: str = "params_") -> list[dict[str, Any]]:
    """The rows as flat dicts: the `COLUMNS`, then one `params_NAME` per parameter.

    Times are timezone-aware UTC datetimes; a parameter a trial did not use
    (a branch of a choice it did not take) is None.
    """
    names = param_names(rows)
    out = []
    for row in rows:
        record: dict[str, Any] = {
            "tid": row.tid,
            "state": row.state,
            "attempt": row.attempt,
            "host": row.host,
            "worker": row.worker,
            "loss": row.loss,
            "duration": row.duration,
            "start": _utc(row.start),
            "end": _utc(row.end),
            "value": row.value,
        }
        for param in names:
            record[param_prefix + param] = row.params.get(param)
        out.append(record)
    return out


def _utc(t: float | None) -> datetime.datetime | None:
    return None if t is None else datetime.datetime.fromtimestamp(t, datetime.timezone.utc)


def dataframe(name: str) -> Any:
    """Every trial of session `name` as a pandas DataFrame, one row per trial, indexed by tid.

    Columns: state, attempt, host, worker, loss, duration (seconds), start
    and end (UTC timestamps), value (the objective's, in its sign: see
    `TrialRow.value`), then `params_NAME` per parameter (as
    `optuna.Study.trials_dataframe` names them). `name` may be an
    experiment's sub-session label (`exp:NAME/best_xy/argmax:mean`).

    Raises:
        ImportError: pandas is not installed (the message says how to install it).
        UnknownSession, UnknownLabel: no such session.
    """
    try:
        import pandas
    except ImportError as err:
        raise ImportError(
            "slurm_search.session.dataframe needs pandas: pip install pandas "
            "(or pip install 'slurm-search-session[dashboard]')"
        ) from err
    rows = trial_rows(name)
    frame = pandas.DataFrame.from_records(
        records(rows), columns=list(COLUMNS) + ["params_" + p for p in param_names(rows)]
    )
    return frame.set_index("tid")

