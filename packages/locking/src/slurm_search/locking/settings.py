"""Every ``SLURM_SEARCH_*`` setting, read in one place, and the one folder creator.

Read on every call (so tests and workers that set a variable late are
honoured); a value that cannot be used raises `InvalidEnvironmentSetting`
naming the variable and what it takes. The packages above ask here; none of
them reads these variables itself.

=============================  =========================================================
``SLURM_SEARCH_HOME``          the store's root (default ``~/hyperparameters``)
``SLURM_SEARCH_LOCK``          lock mode request: ``auto`` (default), ``flock``, ``soft``
``SLURM_SEARCH_LOCK_GRACE``    seconds before an unrenewed soft lock may be broken (30)
``SLURM_SEARCH_SHARED_GROUP``  ``1``: the store is shared by this user's group (0770/0660)
``SLURM_SEARCH_WORKER_START``  how local workers start: ``auto`` (default), ``fork``, ``spawn``
``SLURM_SEARCH_LEAVE_GRACE``  seconds a trial has to suspend once its worker is told to leave (10)
``SLURM_SEARCH_RL_LOGDIR``     where RL runs write TensorBoard logs (default ``<home>/tmp/tensorboard``)
=============================  =========================================================
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ._errors import InvalidEnvironmentSetting

HOME_VARIABLE = "SLURM_SEARCH_HOME"
MODE_VARIABLE = "SLURM_SEARCH_LOCK"
GRACE_VARIABLE = "SLURM_SEARCH_LOCK_GRACE"
SHARED_GROUP_VARIABLE = "SLURM_SEARCH_SHARED_GROUP"
WORKER_START_VARIABLE = "SLURM_SEARCH_WORKER_START"
RL_LOGDIR_VARIABLE = "SLURM_SEARCH_RL_LOGDIR"
LEAVE_GRACE_VARIABLE = "SLURM_SEARCH_LEAVE_GRACE"
DEFAULT_LEAVE_GRACE = 10.0
VARIABLES = (
    HOME_VARIABLE,
    MODE_VARIABLE,
    GRACE_VARIABLE,
    SHARED_GROUP_VARIABLE,
    WORKER_START_VARIABLE,
    RL_LOGDIR_VARIABLE,
)

MODES = ("flock", "soft")
REQUESTS = ("auto", *MODES)
WORKER_STARTS = ("auto", "fork", "spawn")
DEFAULT_GRACE = 30.0
_FALSE = ("", "0", "false", "no", "off")


def _get(variable: str) -> str:
    return os.environ.get(variable, "")


# Values of $SLURM_SEARCH_HOME already checked, and the folder each names.
_homes: dict[str, Path] = {}


def home() -> Path:
    """The root of the store: ``$SLURM_SEARCH_HOME``, default ``~/hyperparameters``.

    A relative value is made absolute against the current folder once, and
    the variable is set to it, so workers started from here in other
    folders (local processes, Slurm tasks) use the same store.

    Raises:
        InvalidEnvironmentSetting: the variable is set but empty (which
            would silently mean another store), or names a file, or a
            folder under a file.
    """
    if HOME_VARIABLE not in os.environ:
        return Path.home() / "hyperparameters"
    value = os.environ[HOME_VARIABLE]
    found = _homes.get(value)
    if found is not None:
        return found
    if not value.strip():
        raise InvalidEnvironmentSetting(
            HOME_VARIABLE, value, "give the store's folder, or unset it for ~/hyperparameters"
        )
    path = Path(value).expanduser()
    relative = not path.is_absolute()
    if relative:
        path = Path.cwd() / path
    _check_folder(value, path)
    if relative:
        os.environ[HOME_VARIABLE] = str(path)
    _homes[str(path)] = path  # not the relative value: it means another folder elsewhere
    return path


def _check_folder(value: str, path: Path) -> None:
    # The first part of the path that exists must be a folder: a file there
    # would make every read find "nothing stored" and every write fail.
    current = path
    while not os.path.lexists(current) and current.parent != current:
        current = current.parent
    if os.path.exists(current) and not current.is_dir():
        where = "is a file" if current == path else f"is under {current}, which is a file"
        raise InvalidEnvironmentSetting(HOME_VARIABLE, value, f"it {where}: give a folder")


def home_key() -> tuple[str, str]:
    """What decides `home` (for caches keyed on it): the variable and ``$HOME``."""
    return _get(HOME_VARIABLE), _get("HOME")


def locks_dir() -> Path:
    """The folder of the lock files, ``<home>/locks``."""
    return home() / "locks"


def requested_mode() -> str:
    """What ``$SLURM_SEARCH_LOCK`` asks for: ``auto`` (the default), ``flock`` or ``soft``.

    Raises:
        InvalidEnvironmentSetting: any other value.
    """
    raw = _get(MODE_VARIABLE)
    mode = raw.strip().lower() or "auto"
    if mode not in REQUESTS:
        raise InvalidEnvironmentSetting(MODE_VARIABLE, raw, f"use one of {', '.join(REQUESTS)}")
    return mode


def soft_grace() -> float:
    """Seconds after which an unrenewed soft lock may be broken.

    Raises:
        InvalidEnvironmentSetting: not a finite positive number.
    """
    value = _get(GRACE_VARIABLE)
    if not value.strip():
        return DEFAULT_GRACE
    try:
        grace = float(value)
    except ValueError:
        grace = -1.0
    if not 0 < grace < float("inf"):
        raise InvalidEnvironmentSetting(GRACE_VARIABLE, value, "give a positive number of seconds")
    return grace


def group_shared() -> bool:
    """Whether the store is shared by a group (``SLURM_SEARCH_SHARED_GROUP=1``; ``0``/``false``/``no``: not)."""
    return _get(SHARED_GROUP_VARIABLE).strip().lower() not in _FALSE


def leave_grace() -> float:
    """Seconds an objective has to checkpoint and suspend once its worker is told to leave.

    ``$SLURM_SEARCH_LEAVE_GRACE``, default 10; past them the worker hands the
    trial back itself and ends (a Slurm task uses the smaller of this and
    part of its margin).

    Raises:
        InvalidEnvironmentSetting: not a finite number >= 0.
    """
    value = _get(LEAVE_GRACE_VARIABLE)
    if not value.strip():
        return DEFAULT_LEAVE_GRACE
    try:
        grace = float(value)
    except ValueError:
        grace = -1.0
    if not 0 <= grace < float("inf"):
        raise InvalidEnvironmentSetting(LEAVE_GRACE_VARIABLE, value, "give a number of seconds >= 0")
    return grace


def worker_start() -> str:
    """How local workers start: ``$SLURM_SEARCH_WORKER_START``, default ``auto``.

    Raises:
        InvalidEnvironmentSetting: not auto, fork or spawn.
    """
    raw = _get(WORKER_START_VARIABLE)
    start = raw.strip().lower() or "auto"
    if start not in WORKER_STARTS:
        raise InvalidEnvironmentSetting(WORKER_START_VARIABLE, raw, f"use one of {', '.join(WORKER_STARTS)}")
    return start


def rl_logdir() -> Path | None:
    """``$SLURM_SEARCH_RL_LOGDIR`` as a path, or None when unset."""
    value = _get(RL_LOGDIR_VARIABLE).strip()
    return Path(value).expanduser() if value else None


def dir_mode() -> int:
    """0700, or 0770 for a store shared by a group."""
    return 0o770 if group_shared() else 0o700


def file_mode() -> int:
    """0600, or 0660 for a store shared by a group."""
    return 0o660 if group_shared() else 0o600


def ensure_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with `dir_mode` and return it.

    An existing folder is left as it is (the store checks the folders it
    reads from). The mode is set exactly, whatever the umask.

    Raises:
        NotADirectoryError: ``path`` or a folder above it is a file (its
            ``filename`` is that file).
    """
    mode = dir_mode()
    missing = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    if current.exists() and not current.is_dir():
        # Said about the file in the way, not about a temporary file under it.
        raise NotADirectoryError(errno.ENOTDIR, "a file where a folder should be", str(current))
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue
        os.chmod(folder, mode)
    return Path(path)
