"""Where slurm-search keeps its files and how it locks them, resolved in one
place from the environment (read on every call, so tests and workers that set
the variables late are honoured)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home", "locks_dir", "lock_mode", "soft_grace", "ensure_dir"]

HOME_VARIABLE = "SLURM_SEARCH_HOME"
MODE_VARIABLE = "SLURM_SEARCH_LOCK"
GRACE_VARIABLE = "SLURM_SEARCH_LOCK_GRACE"
MODES = ("flock", "soft")
DEFAULT_GRACE = 30.0


def home() -> Path:
    """The root of the store: ``$SLURM_SEARCH_HOME``, default ``~/hyperparameters``."""
    value = os.environ.get(HOME_VARIABLE)
    return Path(value).expanduser() if value else Path.home() / "hyperparameters"


def locks_dir() -> Path:
    """The folder of the lock files, ``<home>/locks``."""
    return home() / "locks"


def lock_mode() -> str:
    """``flock`` (the default) or ``soft``, from ``$SLURM_SEARCH_LOCK``."""
    mode = os.environ.get(MODE_VARIABLE, "flock").strip().lower() or "flock"
    if mode not in MODES:
        raise ValueError(
            f"{MODE_VARIABLE}={mode!r} is not a lock mode: use one of {', '.join(MODES)}"
        )
    return mode


def soft_grace() -> float:
    """Seconds after which an unrenewed soft lock may be broken."""
    value = os.environ.get(GRACE_VARIABLE)
    if not value:
        return DEFAULT_GRACE
    try:
        grace = float(value)
    except ValueError:
        grace = -1.0
    if grace <= 0:
        raise ValueError(f"{GRACE_VARIABLE}={value!r} must be a positive number of seconds")
    return grace


def _group_shared() -> bool:
    return os.environ.get("SLURM_SEARCH_SHARED_GROUP", "") not in ("", "0", "false")


def ensure_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700 (0770 for a
    group-shared store) and return it."""
    mode = 0o770 if _group_shared() else 0o700
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue
        # mkdir's mode is filtered by the umask; set it exactly.
        os.chmod(folder, mode)
    return path
