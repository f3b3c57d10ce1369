"""Errors of slurm_search.locking: one base type, specific subclasses that
carry the lock's name, and all of them survive pickling (workers send them
across process boundaries)."""

from __future__ import annotations

__all__ = ["LockError", "LockTimeout", "LockReentry", "InvalidLockName", "NotLocked"]


class LockError(Exception):
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
