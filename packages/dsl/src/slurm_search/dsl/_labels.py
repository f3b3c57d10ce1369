"""Labels of an experiment's sub-sessions: ``exp:NAME/best_xy/argmax:mean``.

A run stores each sampling node's session under the node's AST path (a
tuple of segments: result keys, measure paths, ``use_val``, ``@<hash>`` for
an inner search per setting). A label is the run's name, then the path's
segments joined by ``/``. A label may stop early: it then names the
outermost session under that prefix, if exactly one is outermost, so
``exp:NAME/best_xy`` is the tuning search, and each inner search (one per
setting, ``.../@3d369a6d1b6b``) needs its full path.

The session package finds this module through the entry point
``slurm_search.session_labels: exp`` (see its ``_labels.py``): ``ssearch
trials exp:NAME/best_xy``, ``session.dataframe("exp:NAME/best_xy")`` and the
dashboard's study names use these labels without importing this package.
"""

from __future__ import annotations

import difflib

from slurm_search import state
from slurm_search.session import UnknownLabel

from ._experiment import RUN_TYPE, full_name

__all__ = ["label", "resolve", "groups"]


def label(run: str, path: tuple[str, ...]) -> str:
    """The label of the session at AST ``path`` of ``run``."""
    return "/".join([full_name(run), *path])


def _sessions(run: str) -> dict[tuple[str, ...], str]:
    try:
        stored = state.read(full_name(run), stand_ins=True)  # never the user's code
    except (state.NotFound, state.InvalidName):
        return {}
    return dict(stored.get("sessions") or {})


def resolve(text: str) -> str:
    """The session that label ``text`` names.

    Raises:
        UnknownLabel: no such run, no session under the path, or several
            equally outer ones (the message lists the labels to choose from).
    """
    run, _, rest = text.partition("/")
    prefix = tuple(segment for segment in rest.split("/") if segment)
    sessions = _sessions(run)
    if not sessions:
        runs = [f"{RUN_TYPE}:{n}" for n in _run_names()]
        close = difflib.get_close_matches(full_name(run), runs, n=3, cutoff=0.6)
        raise UnknownLabel(text, f"names no experiment with sessions ({full_name(run)})", close)
    if prefix in sessions:
        return sessions[prefix]
    under = {path: name for path, name in sessions.items() if path[: len(prefix)] == prefix}
    if under:
        shortest = min(len(path) for path in under)
        outer = [path for path in under if len(path) == shortest]
        if len(outer) == 1:
            return under[outer[0]]
        return _ambiguous(text, run, outer)
    labels = [label(run, path) for path in sorted(sessions, key=lambda p: (len(p), p))]
    close = difflib.get_close_matches(text, labels, n=3, cutoff=0.5) or labels[:5]
    raise UnknownLabel(text, f"names no session of {full_name(run)}", close)


def _ambiguous(text: str, run: str, paths: list[tuple[str, ...]]) -> str:
    labels = [label(run, path) for path in sorted(paths)]
    raise UnknownLabel(text, "names several sessions: give the whole path", labels[:8])


def _run_names() -> list[str]:
    try:
        return [name.split(":")[-1] for name in state.names(RUN_TYPE)]
    except state.StateError:
        return []


def groups() -> list[tuple[str, str, dict[str, str]]]:
    """Every stored run: ``(exp:NAME, status, {label: session})``, outer sessions first."""
    out = []
    for name in _run_names():
        try:
            stored = state.read(full_name(name), stand_ins=True)
        except state.StateError:
            continue
        paths = sorted(stored.get("sessions") or {}, key=lambda p: (len(p), p))
        sessions = {label(name, path): stored["sessions"][path] for path in paths}
        out.append((full_name(name), str(stored.get("status")), sessions))
    return out
