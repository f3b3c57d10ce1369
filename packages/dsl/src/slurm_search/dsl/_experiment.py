"""Experiment runs in the store: ``exp:NAME`` objects.

An ``exp:NAME`` holds what is needed to repeat or resume a run: the spec's
reference, the overrides it was given, whether debug overrides applied, the
seed, the merged parameters, the search session of every sampling node keyed
by its AST path, the status, and the final results. Registration of a
sub-session happens in one transaction with its creation, so two processes
reaching the same node at once end up with the same session.
"""

from __future__ import annotations

import difflib
import logging
import secrets
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from slurm_search import state
from slurm_search.session import random_phrase

from ._errors import NoSuchRun
from ._params import format_value

__all__ = [
    "RUN_TYPE",
    "new_seed",
    "create_run",
    "read_run",
    "update_run",
    "session_for_path",
    "run_dir",
    "resume_command",
    "dotted",
    "full_name",
]

logger = logging.getLogger(__name__)

RUN_TYPE = "exp"
FORMAT = 1



def full_name(name: str) -> str:
    """``NAME`` or ``exp:NAME`` -> ``exp:NAME``."""
    return name if name.startswith(f"{RUN_TYPE}:") else f"{RUN_TYPE}:{name}"


def dotted(path: Sequence[str]) -> str:
    """An AST path as one word: ``best.use_val.@3f2a`` (file names, metadata;
    people see it joined by ``/``, as in session labels)."""
    return ".".join(path) or "<root>"


def new_seed() -> int:
    """A fresh seed, recorded with the run so that it can be repeated."""
    return secrets.randbelow(2**31 - 1)


def create_run(
    spec_ref: str,
    overrides: Mapping[str, Any],
    params: Mapping[str, Any],
    seed: int,
    debug: bool,
    name: str | None = None,
) -> str:
    """Store a new run (status ``created``) and return its ``exp:NAME``."""
    value = {
        "format": FORMAT,
        "spec": spec_ref,
        "overrides": dict(overrides),
        "debug": bool(debug),
        "seed": int(seed),
        "params": dict(params),
        "status": "created",
        "sessions": {},
        "results": None,
        "created": time.time(),
    }
    if name is not None:
        state.create(full_name(name), value)
        return full_name(name)
    while True:
        candidate = f"{RUN_TYPE}:{random_phrase(adjectives=2)}"
        try:
            state.create(candidate, value)
        except state.AlreadyExists:
            continue
        logger.info("created %s", candidate)
        return candidate


def read_run(name: str, option: str = "--resume", *, stand_ins: bool = False) -> dict[str, Any]:
    """The stored run.

    ``stand_ins``: read results holding classes whose module does not
    import here as stand-ins (``--show`` never needs the user's code).

    Raises:
        NoSuchRun: no such run (or not a valid name).
    """
    try:
        return state.read(full_name(name), stand_ins=stand_ins)
    except (state.NotFound, state.InvalidName):
        pass
    try:
        stored = [f"{RUN_TYPE}:{n.split(':')[-1]}" for n in state.names(RUN_TYPE)]
    except state.StateError:
        stored = []
    closest = difflib.get_close_matches(full_name(name), stored, n=2, cutoff=0.6)
    raise NoSuchRun(name, option, closest, str(state.root()))


def update_run(name: str, **changes: Any) -> None:
    """Set top-level fields of a stored run, under its lock."""
    with state.transaction(full_name(name)) as box:
        box.value.update(changes)


def session_for_path(name: str, path: Sequence[str], create: Callable[[], str]) -> tuple[str, bool]:
    """The session registered for ``path`` in run ``name``, created by ``create()`` if none.

    Returns:
        ``(session name, created)``.
    """
    key = tuple(path)
    existing = state.read(full_name(name))["sessions"].get(key)
    if existing is not None:
        return existing, False
    with state.transaction(full_name(name)) as box:
        existing = box.value["sessions"].get(key)
        if existing is not None:
            return existing, False
        session_name = create()
        box.value["sessions"][key] = session_name
        return session_name, True


def run_dir(name: str) -> Path:
    """The run's folder, ``$SLURM_SEARCH_HOME/exp/<name>/`` (plots, AST drawings)."""
    return state.paths(full_name(name)).dir


def resume_command(run: Mapping[str, Any], name: str) -> str:
    """The command line that resumes ``name`` with exactly its stored parameters."""
    argv = ["run_exp", run["spec"]]
    argv += [f"--{path}={format_value(value)}" for path, value in run["overrides"].items()]
    if run["debug"]:
        argv.append("--debug=true")
    if run.get("allow_new_params"):
        argv.append("--allow-new-params")
    argv += [f"--seed={run['seed']}", f"--resume={full_name(name)}"]
    return shlex.join(argv)
