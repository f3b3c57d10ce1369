"""Evaluating a sampling node: find or create its search session under its
AST path in the run, run the session's workers by the node's method, and turn
the session's results into ``SamplingResults``.

A session's seed derives from the run's seed and the AST path, so a resumed
run (which finds the session again by path) and an uninterrupted one draw the
same samples; completed trials are never run again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import _experiment, _reports, _runtime
from ._context import OBJECTIVE, STRATEGIES, ObjectiveContext
from ._errors import DslError, ExperimentStopped, SamplingError
from ._failures import failure_line, root_failure
from ._measures import SamplingResults
from ._params import derive_seed
from ._spec import spec_modules
from ._text import shorten

if TYPE_CHECKING:
    from ._nodes import SamplingNode

__all__ = ["run_sampling", "LEASE_SECONDS", "PROGRESS_EVERY"]

logger = logging.getLogger(__name__)
progress_logger = logging.getLogger("slurm_search.dsl.progress")

# Short leases: after a kill -9, a resumed run waits this long at most for a
# trial the dead worker had claimed. Workers renew well before it runs out.
LEASE_SECONDS = 10.0
# The session's goal (how its loss reads) by the node's sign.
GOALS_OF_SIGN = {1: "min", -1: "max", 0: "none"}
PROGRESS_EVERY = 5.0


def _session_space(node: SamplingNode, space: Any) -> Any:
    if node.strategy == "enumeration":
        from hyperopt import hp

        return {"value": hp.choice(node.var, list(space))}
    return {"value": space}


def _create(node: SamplingNode, bound: dict[str, Any], path: list[str], run: _runtime.Run) -> str:
    from slurm_search import session

    _, algo, sign = STRATEGIES[node.strategy]
    context = ObjectiveContext(
        run=run,
        node_path=tuple(path),
        node_params=dict(_runtime.current_params()),
        var=node.var,
        sign=sign,
        measure=tuple(node.measure) if node.measure else None,
    )
    kwargs: dict[str, Any] = {
        "algo": algo,
        "max_evals": bound["sample_count"],
        "seed": derive_seed(run.seed, *path),
        "context": context,
        "metadata": {
            "experiment": run.name,
            "ast_path": _experiment.dotted(path),
            "var": node.var,
            # Every worker imports these before it evaluates the space (a
            # module may define scope functions the space calls at import).
            "space_modules": spec_modules(run.spec_ref),
        },
    }
    kwargs["lease_seconds"] = LEASE_SECONDS
    # The loss is sign x measure (0 for random and enumeration): the session
    # records it, so listings show the measure in its own sign, or nothing.
    kwargs["goal"] = GOALS_OF_SIGN[sign]
    if bound.get("trial_timeout") is not None:
        kwargs["trial_timeout"] = bound["trial_timeout"]
    pruner, pruner_options = bound.get("pruner_and_options") or (None, None)
    if pruner is not None:
        kwargs["pruner"], kwargs["pruner_options"] = pruner, pruner_options
    if bound.get("pbt") is not None:
        # A population of sample_count members; the objective (the node's
        # expression) reports and checkpoints, and is called again on an exploit.
        kwargs["algo"], kwargs["pbt_options"] = "pbt", bound["pbt"]
    return session.create_session(OBJECTIVE, _session_space(node, bound["space"]), **kwargs)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_short(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        text = ", ".join(_short(v) for v in value)
        return shorten(f"[{text}]" if isinstance(value, list) else f"({text})", 40)
    return shorten(repr(value), 40)


def readable_label(path: list[str]) -> str:
    """A progress line's label: the AST path joined by ``/`` (as in session
    labels), with the enclosing trials' settings instead of ``@<hash>``
    segments: ``best_xy/argmax:mean xy=(x=0.12, y=-0.3)``."""
    label = "/".join(segment for segment in path if not segment.startswith("@")) or "<root>"
    drawn = _runtime.settings()
    return label + "".join(f" {var}={_short(value)}" for var, value in drawn) if drawn else label


def _best_text(name: str, node: SamplingNode) -> str:
    """``, best mean -3.667`` for an optimising node with results; else empty."""
    from slurm_search import session

    sign = STRATEGIES[node.strategy][2]
    if not sign:
        return ""
    try:
        found = session.best(name)
    except Exception as err:  # a progress line is not worth failing the run for
        logger.debug("best of %s: %s", name, err)
        return ""
    if found is None or found.loss is None:
        return ""
    measure = ":".join(node.measure) if node.measure else "value"
    return f", best {measure} {sign * found.loss:.4g}"


@contextlib.contextmanager
def _reporting(name: str, where: str, node: SamplingNode | None = None) -> Iterator[None]:
    """Log the session's progress every few seconds while the block runs."""
    from slurm_search import session

    done = threading.Event()

    def report() -> None:
        while not done.wait(PROGRESS_EVERY):
            try:
                p = session.progress(name)
            except Exception as err:  # a progress line is not worth failing the run for
                logger.debug("progress of %s: %s", name, err)
                continue
            best = _best_text(name, node) if node is not None else ""
            progress_logger.info("[%s] %s: %s/%s trials done%s", where, name, p.completed, p.max_evals, best)

    thread = threading.Thread(target=report, name=f"progress {name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=1.0)


def _wait_for_lost_trials(name: str) -> None:
    """Resuming inline with a pruner (here, or around this node): let the killed run's trials come back first.

    Their leases run out after a lease as this process measures it; a worker
    would meanwhile start new trials, and the pruner would then judge the
    lost ones against trials the uninterrupted run had not yet run. Waiting
    keeps the order, so the decisions (and the results) are the same.
    """
    import time

    from slurm_search import session

    lease = session.info(name).lease_seconds
    progress_logger.info("%s: waiting %.0f s for the leases of the interrupted run's trials", name, lease)
    time.sleep(lease + 0.5)


def _hand_back(name: str, where: str) -> None:
    """The worker was told to leave and this node's inline worker left: hand back the enclosing trial.

    Its progress is in session ``name`` (finished trials, the inner trial's
    checkpoint); a small checkpoint says so, so that this cut does not use up
    one of its attempts (see _checkpoints.py). Its next attempt finds ``name``
    by its AST path and continues there.

    Raises:
        slurm_search.session.Suspended: the enclosing trial is handed back.
        SamplingError: no trial encloses this node (the run itself was told to leave).
    """
    from slurm_search import session

    if session.current_trial() is None:
        raise SamplingError(name, where, "told to leave before its trials finished; resume the run (--resume)")
    try:
        session.save_checkpoint({"inner_session": name})
    except session.CheckpointError as err:
        logger.warning("[%s] %s", where, err)
    progress_logger.info("[%s] %s: told to leave, the enclosing trial is handed back", where, name)
    session.suspend()


def run_sampling(node: SamplingNode, bound: dict[str, Any], path: list[str]) -> SamplingResults:
    """Evaluate ``node`` (its settings ``bound``) at ``path`` through its session.

    Raises:
        SamplingError: outside a run, or the session failed.
        ExperimentStopped: the run or the session was stopped.
    """
    from slurm_search import session
    from slurm_search.session import workers

    run = _runtime.current_run()
    where = readable_label(path)
    if run is None:
        raise SamplingError("-", where, "sampling nodes are evaluated by run_experiment (or run_exp)")
    try:
        name, created = _experiment.session_for_path(run.name, path, lambda: _create(node, bound, path, run))
    except session.SessionError as err:
        raise SamplingError("-", where, str(err)) from None
    _reports.replay(name, STRATEGIES[node.strategy][2])
    progress = session.progress(name)
    if progress.status == "stopped":
        if _experiment.read_run(run.name)["status"] == "stopped":
            raise ExperimentStopped(run.name)
        session.enable(name)
        progress = session.progress(name)
    if progress.status != "done":
        progress_logger.info(
            "[%s] %s %s: %s/%s trials done, running %s%s",
            where,
            "created" if created else "resuming",
            name,
            progress.completed,
            progress.max_evals,
            bound["method"],
            f" x{bound['threads']}" if bound["method"] != "inline" else "",
        )
        if bound["method"] == "inline" and progress.running and (session.info(name).pruner or _reports.reporting()):
            _wait_for_lost_trials(name)
        try:
            with _reporting(name, where, node) if bound["method"] == "inline" else contextlib.nullcontext():
                workers.launch(
                    name,
                    method=bound["method"],
                    workers=bound["threads"] if bound["method"] != "inline" else 1,
                    slurm=bound["slurm"] if bound["method"] == "slurm" else None,
                    show_progress=True,
                )
        except session.Pruned:
            # An enclosing trial was pruned while this node ran (see _reports.py):
            # nobody will finish this session; stopped, it is not listed as running.
            session.stop(name)
            raise
        except DslError:
            raise
        except session.SessionError as err:
            raise SamplingError(name, where, str(err)) from None
        progress = session.progress(name)
        if progress.status == "running" and session.should_stop():
            _hand_back(name, where)
    if progress.status == "stopped":
        raise ExperimentStopped(name)
    if progress.status != "done" or not progress.completed:
        root, tb = root_failure(name, getattr(progress, "last_traceback", None) or "")
        cause = f": {failure_line(tb)}" if tb else ""
        inner = f" (in {root})" if root != name else ""
        raise SamplingError(
            name,
            where,
            f"{progress.failed} of {progress.max_evals} trials failed, session {progress.status}{inner}{cause}; "
            f"see `ssearch trials {root}`",
            traceback=tb,
        )
    if progress.failed:
        # The measures are taken over the trials that succeeded; say so.
        logger.warning("[%s] %s: %s of %s trials failed; measures use the other %s (see `ssearch show %s`)",
                       where, name, progress.failed, progress.max_evals, progress.completed, name)
    points = [(r.tid, r.params["value"], r.result["value"]) for r in session.results(name)]
    progress_logger.info("[%s] %s: %s/%s trials done%s", where, name, len(points), progress.max_evals,
                         _best_text(name, node))
    return SamplingResults(points, session_name=name, space=_session_space(node, bound["space"]),
                           model_seed=derive_seed(run.seed, "model", *path))
