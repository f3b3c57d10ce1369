"""The one settings mechanism, locking's own settings, and the store's file modes.

A setting is an environment variable declared once, by the package that
uses it, in that package's ``settings`` module (`declare`: name, parser,
default, doc). It is read on every call (so tests and workers that set a
variable late are honoured); a value that cannot be used raises
`InvalidEnvironmentSetting` naming the variable and what it takes. No other
module reads these variables itself (a test checks it); `declared` lists
every setting of the packages imported so far (`all_settings` imports every
installed package's ``settings`` module first).

Locking's own:

=============================  =========================================================
``SLURM_SEARCH_HOME``          the store's root (default ``~/hyperparameters``)
``SLURM_SEARCH_LOCK``          lock mode request: ``auto`` (default), ``flock``, ``soft``
``SLURM_SEARCH_LOCK_GRACE``    seconds before an unrenewed soft lock may be broken (30)
``SLURM_SEARCH_SHARED_GROUP``  ``1``: the store is shared by this user's group (0770/0660)
=============================  =========================================================

The others are declared by ``slurm_search.state.settings``,
``slurm_search.session.settings``, ``slurm_search.dsl.settings`` and
``slurm_search.rl.settings``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from ._errors import InvalidEnvironmentSetting

T = TypeVar("T")

# The packages whose ``settings`` modules `all_settings` imports, bottom up.
PACKAGES = ("locking", "state", "session", "dsl", "rl")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """An environment variable a package reads: declared once with `declare`.

    Attributes:
        name: the variable (``SLURM_SEARCH_...``).
        parse: the set, non-blank value -> the setting's value; raises
            ValueError whose text says what the variable takes.
        default: the value when the variable is unset or blank.
        doc: one line for listings.
        owner: the module that declared it.
    """

    name: str
    parse: Callable[[str], T]
    default: T
    doc: str
    owner: str

    def raw(self) -> str:
        """The variable's value as set here ("" when unset)."""
        return os.environ.get(self.name, "")

    def get(self) -> T:
        """The setting's value now.

        Raises:
            InvalidEnvironmentSetting: the value is not one the setting takes.
        """
        raw = self.raw()
        if not raw.strip():
            return self.default
        try:
            return self.parse(raw)
        except ValueError as err:
            raise InvalidEnvironmentSetting(self.name, raw, str(err)) from None


_declared: dict[str, Setting] = {}


def declare(name: str, parse: Callable[[str], T], default: T, doc: str, *, owner: str = "") -> Setting[T]:
    """Declare the setting `name` (once; a package's ``settings`` module does it at import).

    Raises:
        ValueError: `name` is declared already by another module.
    """
    found = _declared.get(name)
    if found is not None and found.owner != owner:
        raise ValueError(f"{name} is declared twice: by {found.owner} and by {owner}")
    setting = Setting(name, parse, default, doc, owner)
    _declared[name] = setting
    return setting


def declared() -> tuple[Setting, ...]:
    """Every setting declared so far, in the order of declaration."""
    return tuple(_declared.values())


def all_settings() -> tuple[Setting, ...]:
    """Every setting of every installed slurm-search package (for listings and checks)."""
    for package in PACKAGES:
        try:
            importlib.import_module(f"slurm_search.{package}.settings")
        except ImportError:
            continue  # not installed here (each package installs alone)
    return declared()


def choice(*words: str) -> Callable[[str], str]:
    """A parser taking exactly one of `words` (any case, spaces around ignored)."""

    def parse(raw: str) -> str:
        word = raw.strip().lower()
        if word not in words:
            raise ValueError(f"use one of {', '.join(words)}")
        return word

    return parse


def seconds(*, zero: bool, way_out: str) -> Callable[[str], float]:
    """A parser of a finite number of seconds, > 0 (or >= 0 with `zero`)."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not (0 <= value if zero else 0 < value) or value == float("inf"):
            raise ValueError(way_out)
        return value

    return parse


def as_path(raw: str) -> Path:
    """A parser of a folder (``~`` expanded)."""
    return Path(raw.strip()).expanduser()


_FALSE = ("", "0", "false", "no", "off")


def flag(raw: str) -> bool:
    """A parser of a yes/no variable: ``0``, ``false``, ``no``, ``off`` are no, anything else yes."""
    return raw.strip().lower() not in _FALSE


MODES = ("flock", "soft")
REQUESTS = ("auto", *MODES)
DEFAULT_GRACE = 30.0

HOME = declare(
    "SLURM_SEARCH_HOME",
    as_path,
    Path("~/hyperparameters"),
    "the store's root (default ~/hyperparameters); read by `home`",
    owner=__name__,
)
LOCK = declare(
    "SLURM_SEARCH_LOCK", choice(*REQUESTS), "auto", "lock mode request: auto (default), flock, soft", owner=__name__
)
LOCK_GRACE = declare(
    "SLURM_SEARCH_LOCK_GRACE",
    seconds(zero=False, way_out="give a positive number of seconds"),
    DEFAULT_GRACE,
    "seconds before an unrenewed soft lock may be broken (30)",
    owner=__name__,
)
SHARED_GROUP = declare(
    "SLURM_SEARCH_SHARED_GROUP",
    flag,
    False,
    "1: the store is shared by this user's group (0770/0660)",
    owner=__name__,
)

HOME_VARIABLE = HOME.name
MODE_VARIABLE = LOCK.name
GRACE_VARIABLE = LOCK_GRACE.name
SHARED_GROUP_VARIABLE = SHARED_GROUP.name


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
    return LOCK.get()


def soft_grace() -> float:
    """Seconds after which an unrenewed soft lock may be broken.

    Raises:
        InvalidEnvironmentSetting: not a finite positive number.
    """
    return LOCK_GRACE.get()


def group_shared() -> bool:
    """Whether the store is shared by a group (``SLURM_SEARCH_SHARED_GROUP=1``; ``0``/``false``/``no``: not)."""
    return SHARED_GROUP.get()


def dir_mode() -> int:
    """0700, or 0770 for a store shared by a group."""
    return 0o770 if group_shared() else 0o700


def file_mode() -> int:
    """0600, or 0660 for a store shared by a group."""
    return 0o660 if group_shared() else 0o600
