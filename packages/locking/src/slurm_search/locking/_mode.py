"""The store's lock mode: decided once, recorded in the store, obeyed by every host.

Two hosts that lock one store differently (one with flock, one with lease
files) do not exclude each other at all, so the mode is a property of the
store, not of a process: the first process to lock in a store decides it
(``$SLURM_SEARCH_LOCK``, default ``auto``: by the filesystem, see ``_fs``) and
writes it to ``<root>/lock-mode`` with a no-clobber link, so of two hosts
racing to decide one wins and the other reads its decision. Every process
then checks the record against what it asks for and what it detects:

* ``SLURM_SEARCH_LOCK`` set and different from the record: refused.
* the record says ``flock`` but this host sees a filesystem whose flock is
  node-local: refused (flock would not exclude this host from the others).
* the record says ``soft`` and this host would choose ``flock``: soft is
  used; lease files exclude on every filesystem, and agreement is what counts.

The decision is cached per process, per root and per ``SLURM_SEARCH_LOCK``.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
import socket
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from ._dirs import ensure_dir
from ._errors import BadModeRecord, LockModeMismatch, LockUnsupported
from ._fs import Filesystem, choose_mode, mount_of
from .settings import MODE_VARIABLE, MODES, home, home_key, requested_mode

__all__ = ["Decision", "store_mode", "set_store_mode", "record_path", "forget_decisions", "lock_mode"]

logger = logging.getLogger("slurm_search.locking")

RECORD = "lock-mode"

# errno values meaning "this filesystem does not do flock at all".
NO_FLOCK = (errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL)


@dataclass(frozen=True)
class Decision:
    """The lock mode in force for one store, and why.

    Attributes:
        mode: ``flock`` or ``soft``.
        reason: why the store uses it (as recorded).
        recorded_by: the host, pid and time that recorded it.
        record: the path of the record.
        filesystem: the mount holding the store, as this host sees it.
        detected: the mode this host's detection alone would choose.
        detected_reason: why.
        requested: ``$SLURM_SEARCH_LOCK`` here (``auto`` when unset).
    """

    mode: str
    reason: str
    recorded_by: str
    record: Path
    filesystem: Filesystem | None
    detected: str
    detected_reason: str
    requested: str


_decisions: dict[tuple[str, str], Decision] = {}


def forget_decisions() -> None:
    """Drop the cached decisions (after changing the record)."""
    _decisions.clear()
    _modes.clear()


def record_path(root: Path | None = None) -> Path:
    """Where a store records its lock mode: ``<root>/lock-mode``."""
    return (home() if root is None else root) / RECORD


def store_mode(root: Path | None = None) -> Decision:
    """The lock mode of the store at ``root`` (default: ``home()``), deciding it if new.

    Raises:
        InvalidEnvironmentSetting: ``$SLURM_SEARCH_LOCK`` is not auto, flock or soft.
        LockModeMismatch: this host would lock differently from the record.
        BadModeRecord: the record is unsafe or unreadable.
    """
    root = home() if root is None else root
    requested = requested_mode()
    key = (str(root), requested)
    found = _decisions.get(key)
    if found is None:
        found = _decisions[key] = _decide(root, requested)
    return found


def _decide(root: Path, requested: str) -> Decision:
    fs = mount_of(root)
    detected, detected_reason = choose_mode(fs)
    path = record_path(root)
    recorded = _read(path)
    if recorded is None:
        if requested == "auto":
            mode, reason = detected, detected_reason
            if mode == "flock":
                refused = _flock_refused(root)
                if refused:
                    mode, reason = "soft", f"flock fails here ({refused})"
        else:
            mode = requested
            reason = f"{MODE_VARIABLE}={requested} when the store was set up"
            if requested != detected:
                reason += f" (detection said {detected}: {detected_reason})"
                # Leases where flock would do cost speed; flock where it may
                # not exclude costs updates: only the second is a warning.
                unsafe = requested == "flock"
                logger.log(logging.WARNING if unsafe else logging.INFO, "store %s: %s", root, reason)
        recorded = _write(path, mode, reason, exclusive=True)
    mode, reason, by = recorded
    if requested != "auto" and requested != mode:
        raise LockModeMismatch(str(root), mode, requested, f"{MODE_VARIABLE}={requested}")
    if requested == "auto" and mode == "flock" and detected == "soft":
        raise LockModeMismatch(str(root), mode, "soft", f"this host sees {detected_reason}, and")
    return Decision(mode, reason, by, path, fs, detected, detected_reason, requested)


def _flock_refused(root: Path) -> str | None:
    """Why flock fails in ``root`` (ENOSYS, ENOLCK, ...), or None if it works."""
    folder = ensure_dir(root / "locks")
    probe = folder / f".probe.{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as err:
        if err.errno in NO_FLOCK:
            return f"flock: {os.strerror(err.errno)}"
        raise
    finally:
        os.close(fd)
        os.unlink(probe)
    return None


def flock_unsupported(path: Path, err: OSError) -> LockUnsupported | None:
    """The error to raise when flock on ``path`` failed with ``err``, if it means 'no flock'."""
    if err.errno in NO_FLOCK:
        return LockUnsupported(str(path), "flock", os.strerror(err.errno or 0))
    return None


def _read(path: Path) -> tuple[str, str, str] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise BadModeRecord(str(path), "is a symbolic link") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadModeRecord(str(path), "is not a plain file")
        if st.st_mode & stat.S_IWOTH:
            raise BadModeRecord(str(path), "is writable by others")
        text = os.read(fd, 4096).decode(errors="replace")
    finally:
        os.close(fd)
    lines = text.splitlines()
    mode = lines[0].strip() if lines else ""
    if mode not in MODES:
        raise BadModeRecord(str(path), f"names no lock mode (first line {mode!r})")
    fields = dict(line[2:].partition(": ")[::2] for line in lines[1:] if line.startswith("# "))
    return mode, fields.get("why", "?"), fields.get("by", "?")


def _write(path: Path, mode: str, reason: str, *, exclusive: bool) -> tuple[str, str, str]:
    """Record ``mode``; with ``exclusive``, keep (and return) a record already there."""
    ensure_dir(path.parent)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    by = f"{socket.gethostname()} pid {os.getpid()} at {when}"
    text = f"{mode}\n# why: {reason}\n# by: {by}\n"
    tmp = path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        os.fchmod(fd, 0o644)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if exclusive:
            try:
                os.link(tmp, path)  # never replaces: of two racing hosts, one wins
            except FileExistsError:
                theirs = _read(path)
                if theirs is not None:
                    return theirs
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return mode, reason, by


def set_store_mode(mode: str, root: Path | None = None) -> Decision:
    """Record a new lock mode for a store (``auto``: decide by its filesystem).

    Only safe when no process uses the store: one still running keeps the
    mode it read.
    """
    root = home() if root is None else root
    if mode not in ("auto", *MODES):
        raise ValueError(f"unknown lock mode {mode!r}")
    if mode == "auto":
        chosen, reason = choose_mode(mount_of(root))
        if chosen == "flock":
            refused = _flock_refused(root)
            if refused:
                chosen, reason = "soft", f"flock fails here ({refused})"
    else:
        chosen, reason = mode, f"set by hand (doctor --set-lock-mode {mode})"
    _write(record_path(root), chosen, reason, exclusive=False)
    forget_decisions()
    return store_mode(root)


def lock_mode() -> str:
    """The lock mode of the store at ``$SLURM_SEARCH_HOME``: ``flock`` or ``soft``.

    Decided once per store and recorded in it (see the package README).

    Raises:
        InvalidEnvironmentSetting: a SLURM_SEARCH_* variable has a bad value.
        LockModeMismatch: the store's record and this host disagree.
        BadModeRecord: the store's record does not read.
    """
    key = (*home_key(), requested_mode())
    found = _modes.get(key)
    if found is None:
        found = store_mode(home()).mode
        if len(_modes) > 256:
            _modes.clear()
        _modes[key] = found
    return found


# (the environment that decides the root and the request) -> mode: lock()
# asks on every call, and building the root's Path costs more than the lookup.
_modes: dict[tuple[str, str, str], str] = {}
