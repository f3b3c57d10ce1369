"""Objectives in the user's own folder: ``ssearch start mymod:objective``.

A console script's ``sys.path`` holds the script's folder, not the current
one, so ``mymod.py`` beside the user would not import. The session records
the folder its objective was found in (``metadata["folder"]``, by ``ssearch
start MODULE:FUNCTION``), and every worker (forked, spawned, ``ssearch
work_on``, a Slurm task) puts that folder on its path before it imports the
objective, as ``run_exp`` does for a ``module:spec`` in the current folder.
The folder also goes to ``PYTHONPATH``, so the processes a worker starts (a
`trial_timeout` child, the clean interpreter that checks results) find it.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

FOLDER_KEY = "folder"


def holds_module(folder: str | os.PathLike[str], module: str) -> bool:
    """True if ``module``'s top package is a file or package in ``folder``."""
    top = module.split(".")[0]
    base = Path(folder)
    return (base / f"{top}.py").is_file() or (base / top / "__init__.py").is_file()


def use_folder(folder: str | os.PathLike[str], module: str) -> bool:
    """Let this process and its children import ``module`` from ``folder``.

    Does nothing (and returns False) unless ``folder`` holds the module's
    top package: a folder is never put on the path for nothing.
    """
    path = os.path.abspath(folder)
    if not holds_module(path, module):
        return False
    if path not in sys.path:
        sys.path.insert(0, path)
        importlib.invalidate_caches()
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if path not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([path, *paths])
    return True


def use_session_folder(objective: str, metadata: dict | None) -> None:
    """Before a worker imports ``objective``: the folder the session recorded, if any."""
    folder = (metadata or {}).get(FOLDER_KEY)
    if isinstance(folder, str) and folder:
        use_folder(folder, objective.partition(":")[0])


def child_environment() -> dict[str, str]:
    """This process's environment for a child interpreter that must import what this one can.

    ``PYTHONPATH`` is this process's ``sys.path``. The one place (with
    `use_folder`) that reads or writes ``PYTHONPATH``.
    """
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
