"""Errors of slurm_search.locking: one base type, specific subclasses that
carry the lock's name, and all of them survive pickling (workers send them
across process boundaries)."""

from __future__ import annotations

__all__ = [
    "SlurmSearchError",
    "LockError",
    "LockTimeout",
    "LockReentry",
    "InvalidLockName",
    "NotLocked",
    "InvalidEnvironmentSetting",
    "LockModeMismatch",
    "LockUnsupported",
    "LockLost",
    "BadModeRecord",
    "UnsafeLockFile",
]


class SlurmSearchError(Exception):
    """Base of every error of every slurm-search package.

    ``str()`` is one line that names the problem and the way out, which is
    all the command-line tools print. Every subclass survives pickling
    (workers send errors across processes) whatever its ``__init__`` takes:
    it is rebuilt from its arguments and attributes, not by calling
    ``__init__`` again.
    """

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[BaseException], args: tuple, attributes: dict) -> BaseException:
    err = cls.__new__(cls)
    BaseException.__init__(err, *args)
    err.__dict__.update(attributes)
    return err


class LockError(SlurmSearchError):
    """Base class of every error raised by slurm_search.locking."""


class LockTimeout(LockError, TimeoutError):
    """The lock was not acquired within the timeout.

    Attributes:
        name: the lock's name.
        waited: how long the caller waited, in seconds.
    """

    def __init__(self, name: str, waited: float) -> None:
        super().__init__(name, waited)
        self.name = name
        self.waited = waited

    def __str__(self) -> str:
        return (
            f"could not take lock {self.name!r} within {self.waited:.2f} s: another "
            f"thread, process or host holds it; retry later or raise the timeout"
        )


class LockReentry(LockError, RuntimeError):
    """This thread already holds the lock it asks for (which would deadlock)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return (
            f"this thread already holds lock {self.name!r}; taking it again would "
            f"deadlock: use the lock you hold (check with have_lock({self.name!r}))"
        )


class NotLocked(LockError, RuntimeError):
    """A function decorated with @needs_lock was called without its lock."""

    def __init__(self, name: str, function: str) -> None:
        super().__init__(name, function)
        self.name = name
        self.function = function

    def __str__(self) -> str:
        return (
            f"{self.function}() needs lock {self.name!r}: call it inside "
            f"`with slurm_search.locking.lock({self.name!r}):`"
        )


class InvalidLockName(LockError, ValueError):
    """The name is empty or could escape the lock folder."""

    def __init__(self, name: object, reason: str) -> None:
        super().__init__(name, reason)
        self.name = name
        self.reason = reason

    def __str__(self) -> str:
        return f"invalid lock name {self.name!r}: {self.reason}"


class InvalidEnvironmentSetting(SlurmSearchError, ValueError):
    """A ``SLURM_SEARCH_*`` environment variable has a value that cannot be used."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        super().__init__(variable, value, expected)
        self.variable = variable
        self.value = value
        self.expected = expected

    def __str__(self) -> str:
        return f"{self.variable}={self.value!r} is not valid: {self.expected}"


class LockModeMismatch(LockError):
    """This host would lock the store differently from the mode recorded in it.

    Attributes:
        root: the store's root.
        recorded: the mode recorded in the store (``<root>/lock-mode``).
        here: the mode this host asks for or detects.
        why: what makes this host differ.
    """

    def __init__(self, root: str, recorded: str, here: str, why: str) -> None:
        super().__init__(root, recorded, here, why)
        self.root = root
        self.recorded = recorded
        self.here = here
        self.why = why

    def __str__(self) -> str:
        return (
            f"the store {self.root} locks with {self.recorded!r} (recorded in its "
            f"lock-mode file) but {self.why} here asks for {self.here!r}; hosts that "
            f"lock differently lose updates: unset SLURM_SEARCH_LOCK here, or with no "
            f"worker running change the store with: python -m slurm_search.state doctor "
            f"--set-lock-mode {self.here}"
        )


class LockUnsupported(LockError, OSError):
    """The filesystem refuses the lock mode the store uses (flock: ENOSYS/ENOLCK)."""

    def __init__(self, path: str, mode: str, reason: str) -> None:
        super().__init__(path, mode, reason)
        self.path = path
        self.mode = mode
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"cannot lock {self.path} with {self.mode}: {self.reason}; use lease files "
            f"instead: with no worker running, python -m slurm_search.state doctor "
            f"--set-lock-mode soft"
        )


class LockLost(LockError):
    """A soft lock was broken by another process while this one held it.

    Happens only when the holder stalled (stopped, swapped, frozen filesystem)
    for longer than the grace period; nothing may be written after it.
    """

    def __init__(self, name: str, grace: float) -> None:
        super().__init__(name, grace)
        self.name = name
        self.grace = grace

    def __str__(self) -> str:
        return (
            f"lock {self.name!r} was taken over by another process while this one "
            f"held it (not renewed for {self.grace:g} s: the process was paused); "
            f"nothing was written: retry, and raise SLURM_SEARCH_LOCK_GRACE if pauses are expected"
        )


class BadModeRecord(LockError):
    """The store's lock-mode file is unreadable, unsafe or says nothing we know."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"the store's lock-mode file {self.path} {self.reason}: with no worker "
            f"running, set it again with: python -m slurm_search.state doctor --set-lock-mode auto"
        )


class UnsafeLockFile(LockError):
    """A lock file is a link (symbolic or hard) or not a plain file: locking it could write elsewhere."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"refusing lock file {self.path}: it is {self.reason}; remove it (rm {self.path}) and retry"
