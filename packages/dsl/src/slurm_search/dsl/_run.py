"""Running an experiment: parameters from config, debug overrides and
command-line overrides; a new run or the resumption of a stored one; the
evaluation of the result tree; the stored results.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from . import _experiment, _runtime
from ._errors import ExperimentStopped, ResumeMismatch
from ._nodes import evaluate_tree
from ._params import check_overrides, differences, flatten, merged
from ._precheck import check_slurm_used, check_tree
from ._spec import Spec, as_spec, load_spec, register_local

__all__ = [
    "Prepared", "prepare", "build_tree", "run_experiment", "RunResult", "stop_experiment", "show_experiment",
    "stored_runs", "mark_interrupted", "delete_experiment", "current_status",
]

logger = logging.getLogger(__name__)
progress_logger = logging.getLogger("slurm_search.dsl.progress")


@dataclasses.dataclass(frozen=True)
class Prepared:
    """An experiment ready to run: its spec and its checked parameters.

    Attributes:
        spec: the spec (``spec.ref`` finds it again in workers).
        overrides: the checked overrides, flat (``a:b`` keys).
        params: config, then debug overrides, then overrides.
        debug: whether the debug overrides apply.
        allow_new_params: whether overrides may add parameters.
    """

    spec: Spec
    overrides: dict[str, Any]
    params: dict[str, Any]
    debug: bool
    allow_new_params: bool


@dataclasses.dataclass(frozen=True)
class RunResult:
    """A finished run: ``name`` (``exp:NAME``), ``params``, ``seed`` and ``results``."""

    name: str
    params: dict[str, Any]
    seed: int
    results: Any


def prepare(
    spec: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    debug: bool = False,
    allow_new_params: bool = False,
) -> Prepared:
    """Load a spec (a name, ``module:attr``, or a spec object) and check the overrides.

    Raises:
        UnknownExperiment, SpecError: the spec.
        UnknownParameter, BadValue: an override.
    """
    if isinstance(spec, str):
        loaded = load_spec(spec)
    elif getattr(spec, "ref", ""):
        loaded = as_spec(spec, spec.ref)
    else:
        loaded = register_local(spec)
    base = merged(loaded.config, loaded.debug_overrides) if debug else merged(loaded.config, {})
    checked = check_overrides(base, flatten(dict(overrides or {})), allow_new=allow_new_params)
    return Prepared(loaded, checked, merged(base, checked), bool(debug), bool(allow_new_params))


def build_tree(prepared: Prepared) -> Any:
    """Call the experiment function under the parameters: the result tree of nodes."""
    with _runtime.evaluation(prepared.params, None):
        return prepared.spec.experiment_func()


def _check_resume(prepared: Prepared, stored: Mapping[str, Any], name: str, seed: int | None) -> None:
    diffs = []
    if stored["spec"] != prepared.spec.ref:
        diffs.append(("experiment", stored["spec"], prepared.spec.ref))
    if seed is not None and int(seed) != stored["seed"]:
        diffs.append(("--seed", str(stored["seed"]), str(seed)))
    diffs += differences(stored["params"], prepared.params)
    if diffs:
        raise ResumeMismatch(_experiment.full_name(name), diffs, _experiment.resume_command(stored, name))


def open_run(prepared: Prepared, *, seed: int | None = None, resume: str | None = None) -> tuple[str, int]:
    """Create the run, or check a stored one for resumption; nothing is evaluated.

    The experiment function is called once first, under the parameters,
    before anything is stored: the checks it makes of them (an unknown agent,
    a misspelt hyperparameter) refuse the run without leaving a record of it,
    and so do the checks of every sampling node's settings (`check_tree`:
    counts and threads integers >= 1, known methods, Slurm options).

    Returns:
        ``(exp:NAME, seed)``.

    Raises:
        NoSuchRun: ``resume`` names no stored run.
        ResumeMismatch: the stored run has other parameters, seed or spec.
        DslError: what the experiment function raises on these parameters;
            BadValue for a sampling setting.
        SessionError: Slurm options the session package refuses.
    """
    tree = build_tree(prepared)
    check_tree(tree, prepared.params)
    check_slurm_used(tree, prepared.params, prepared.overrides)
    if resume:
        stored = _experiment.read_run(resume)
        name = _experiment.full_name(resume)
        _check_resume(prepared, stored, name, seed)
        return name, stored["seed"]
    seed = _experiment.new_seed() if seed is None else int(seed)
    overrides = dict(prepared.overrides)
    name = _experiment.create_run(prepared.spec.ref, overrides, prepared.params, seed, prepared.debug)
    if prepared.allow_new_params:
        _experiment.update_run(name, allow_new_params=True)
    return name, seed


def run_experiment(
    spec: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
    resume: str | None = None,
    debug: bool = False,
    allow_new_params: bool = False,
) -> RunResult:
    """Run an experiment (or resume a stored run) and store its results.

    Args:
        spec: a registered name, ``package.module:attribute``, or a spec
            object (a dict with ``config``, ``experiment_func``, ...; such a
            spec runs inline only, since workers cannot import it).
        overrides: parameters, nested or flat (``{"tune:seeds": 8}``).
        seed: the run's seed; drawn (and stored) when None.
        resume: ``exp:NAME`` of a stored run to resume.
        debug: apply the spec's debug overrides.
        allow_new_params: let overrides add parameters.

    Raises:
        DslError: a user error (unknown experiment or parameter, bad value,
            no such run, resume mismatch, a failed or stopped session).
    """
    prepared = prepare(spec, overrides, debug=debug, allow_new_params=allow_new_params)
    name, seed = open_run(prepared, seed=seed, resume=resume)
    return evaluate_run(prepared, name, seed)


def evaluate_run(prepared: Prepared, name: str, seed: int, *, announce: bool = True) -> RunResult:
    """Evaluate an opened run's result tree and store the results.

    ``announce=False`` leaves out the "running exp:NAME" progress line (the
    caller printed its own).
    """
    _experiment.update_run(name, status="running", runner=f"{socket.gethostname()}:{os.getpid()}")
    run = _runtime.Run(name=name, spec_ref=prepared.spec.ref, seed=seed, top_params=prepared.params)
    if announce:
        progress_logger.info("running %s (%s, seed %s)", name, prepared.spec.ref, seed)
    try:
        with _runtime.evaluation(prepared.params, run):
            tree = prepared.spec.experiment_func()
            results = evaluate_tree(tree, [])
    except ExperimentStopped:
        raise ExperimentStopped(name, _experiment.resume_command(_experiment.read_run(name), name)) from None
    _experiment.update_run(name, status="complete", results=results)
    return RunResult(name=name, params=prepared.params, seed=seed, results=results)


def stop_experiment(name: str) -> list[str]:
    """Stop a run and every sub-session (their workers claim no more; Slurm jobs cancelled).

    Returns:
        The sub-sessions stopped.

    Raises:
        NoSuchRun: no such run.
    """
    from slurm_search.session import workers

    name = _experiment.full_name(name)
    stored = _experiment.read_run(name, option="--stop")
    if stored["status"] == "complete":
        return []  # nothing runs; a finished run stays finished
    _experiment.update_run(name, status="stopped")
    stopped = []
    for sub in stored["sessions"].values():
        try:
            workers.cancel(sub)
        except workers.SlurmNotFound as err:
            # Stopped all the same: its tasks claim nothing more and end.
            logger.warning("%s: stopped, but its Slurm jobs were not cancelled: %s", sub, err)
        stopped.append(sub)
    return stopped


def delete_experiment(name: str) -> list[str]:
    """Delete a run and its sub-sessions; their workers and Slurm jobs are stopped first.

    Returns:
        The sub-sessions deleted.

    Raises:
        NoSuchRun: no such run.
        SlurmNotFound: a sub-session has Slurm jobs and scancel is not here
            (nothing is deleted then; the sessions are stopped).
    """
    from slurm_search import session, state
    from slurm_search.session import workers

    name = _experiment.full_name(name)
    stored = _experiment.read_run(name, option="--delete")
    subs = list(dict.fromkeys(stored["sessions"].values()))
    for sub in subs:  # every job stopped before anything is deleted
        try:
            workers.cancel(sub)
        except session.UnknownSession:
            continue
    deleted = []
    for sub in subs:
        try:
            session.delete_session(sub)
        except session.UnknownSession:
            continue
        deleted.append(sub)
    state.delete(name)
    return deleted


def show_experiment(name: str) -> dict[str, Any]:
    """The stored run with each sub-session's progress: ``{"run": ..., "sessions": [(path, name, progress)]}``.

    Raises:
        NoSuchRun: no such run.
    """
    from slurm_search import session

    name = _experiment.full_name(name)
    stored = _experiment.read_run(name, option="--show", stand_ins=True)
    rows = []
    for path, sub in stored["sessions"].items():
        found: Any
        try:
            found = session.progress(sub)
        except session.SessionError as err:
            found = err
        rows.append((_experiment.dotted(path), sub, found))
    status = stored["status"]
    if status == "running":
        status = _running_status(stored, any(not isinstance(p, Exception) and p.running for _, _, p in rows))
    return {"name": name, "run": stored, "status": status, "sessions": rows}


def current_status(stored: Mapping[str, Any]) -> str:
    """A stored run's status as ``--show`` tells it: a run stored as running
    whose run_exp is gone (SIGTERM, kill -9, a closed terminal) is
    ``interrupted``. Its sub-sessions are read only when its process cannot
    be checked (another host)."""
    status = str(stored.get("status"))
    if status != "running":
        return status

    def trials_running() -> bool:
        from slurm_search import session

        for sub in (stored.get("sessions") or {}).values():
            try:
                if session.progress(sub).running:
                    return True
            except session.SessionError:
                continue
        return False

    return _running_status(stored, trials_running)


def _running_status(stored: Mapping[str, Any], trials_running: bool | Callable[[], bool]) -> str:
    """What a run stored as running is doing: ``running``, or ``interrupted``
    when its run_exp is gone (kill -9, a closed terminal) before it could say
    so. Its process is checked on this host; on another host, a run with no
    trial running is shown as possibly gone."""
    host, _, pid = str(stored.get("runner") or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return "interrupted"
        except PermissionError:
            pass  # another user's process, alive
        return "running"
    if trials_running() if callable(trials_running) else trials_running:
        return "running"
    return f"running on {host} (no trial running now)" if host else "interrupted"


def mark_interrupted(name: str) -> None:
    """Record that a running run's ``run_exp`` was interrupted (Ctrl-C)."""
    from slurm_search import state

    with state.transaction(_experiment.full_name(name)) as box:
        if box.value.get("status") == "running":
            box.value["status"] = "interrupted"


def stored_runs() -> list[dict[str, Any]]:
    """Every stored run, newest first: name, spec, status, seed, sub-session count, created."""
    from slurm_search import state

    runs = []
    for full in state.names(_experiment.RUN_TYPE):
        name = _experiment.full_name(full.split(":")[-1])
        try:
            stored = state.read(name, stand_ins=True)  # a listing never needs the user's code
        except state.StateError as err:
            runs.append({"name": name, "spec": "?", "status": f"unreadable ({err})", "seed": None,
                         "sessions": 0, "created": None})
            continue
        runs.append({"name": name, "spec": stored.get("spec"), "status": current_status(stored),
                     "seed": stored.get("seed"), "sessions": len(stored.get("sessions") or {}),
                     "created": stored.get("created")})
    runs.sort(key=lambda r: r["created"] or 0, reverse=True)
    return runs
