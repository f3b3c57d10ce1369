"""The ``soft`` backend (lease files), for filesystems whose flock does not
exclude across hosts (NFS with ``local_lock=all``, Lustre with ``localflock``,
FUSE filesystems).

The lock is a file created with ``O_CREAT | O_EXCL``, which those filesystems
make atomic across hosts. Its first line (fixed width) names the holder's
host and pid and a random token; its second line is a renewal counter that a
thread of the holder rewrites every ``grace / 4`` seconds.

Staleness never depends on clocks agreeing: a waiter breaks the lock only when
it has watched the file's content (token and counter) and modification time
stay unchanged for ``grace`` seconds of its own monotonic clock. Content is
read after a fresh open, so attribute caches (FUSE ``attr_timeout``, NFS
``actimeo``) cannot hide a renewal. A holder killed with SIGKILL therefore
delays the others by ``grace`` seconds from when they first look.

Breaking renames the stale file aside and checks that what it renamed is the
content it watched. If a new holder slipped in between, its file is put back
with ``os.link`` (which, unlike rename, never overwrites).

A holder that stalls longer than ``grace`` (SIGSTOP, swapping, a frozen
filesystem) may find its lock broken when it resumes. ``still_held`` tells,
and the store calls it just before each write becomes visible (its fence),
so a resumed holder writes nothing.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path

from ._backend import LockBackend
from ._dirs import ensure_dir
from .settings import soft_grace

__all__ = ["SoftBackend"]

logger = logging.getLogger("slurm_search.locking")

_MIN_POLL = 0.001
_MAX_POLL = 0.05
_COUNTER = "{:>20}\n"  # fixed width: a renewal never shifts the token line


def _holder_line() -> str:
    host = socket.gethostname()[:64]
    return f"{host:<64} {os.getpid():>10} {secrets.token_hex(8)}\n"


def _read(path: Path) -> bytes | None:
    found = _observe(path)
    return None if found is None else found[0]


def _observe(path: Path) -> tuple[bytes, int] | None:
    """The lock file's content and mtime, or None if there is none.

    A FUSE filesystem may answer ENOENT even on an open descriptor once
    another view removed the file: that too means "no lock file".
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        return os.read(fd, 4096), os.fstat(fd).st_mtime_ns
    except FileNotFoundError:
        return None
    finally:
        os.close(fd)


class SoftBackend(LockBackend):
    """One acquisition of one soft lock file (see `LockBackend`).

    Args:
        path: the lock's path; the lease file is its ``.softlock`` sibling.
        grace: seconds without renewal before the lock is stale (default:
            ``SLURM_SEARCH_LOCK_GRACE``, see `soft_grace`).
    """

    def __init__(self, path: Path, grace: float | None = None) -> None:
        self._path = path.with_suffix(".softlock")
        self._grace = soft_grace() if grace is None else grace
        self._line = _holder_line().encode()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def grace(self) -> float:
        """The grace period: a lease not renewed for that long is broken."""
        return self._grace

    def acquire(self, deadline: float | None) -> bool:
        poll = _MIN_POLL
        seen: tuple[bytes, int] | None = None
        since = 0.0
        while True:
            if self._try_create():
                self._start_renewer()
                return True
            now = time.monotonic()
            current = _observe(self._path)
            if current is None:
                # Just let go: try again soon (a cached name may still say
                # the file exists), once the deadline is checked below.
                seen, poll = None, _MIN_POLL
            elif current != seen:
                seen, since = current, now
            elif now - since > self._grace:
                self._break(seen[0], now - since)
                seen = None
                continue
            if deadline is not None and now >= deadline:
                return False
            time.sleep(poll if deadline is None else min(poll, max(0.0, deadline - now)))
            poll = min(poll * 2, _MAX_POLL)

    def still_held(self) -> bool:
        """Whether the lock file is still ours (not broken while we stalled)."""
        content = _read(self._path)
        return content is not None and content.startswith(self._line)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.still_held():
            self._path.unlink()
        else:
            logger.error(
                "soft lock %s was broken while held by this process (it was not renewed "
                "for %.0f s): raise SLURM_SEARCH_LOCK_GRACE",
                self._path,
                self._grace,
            )

    def _try_create(self) -> bool:
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            try:
                fd = os.open(self._path, flags, 0o600)
            except FileNotFoundError:  # the lock folder was removed: make it again
                ensure_dir(self._path.parent)
                fd = os.open(self._path, flags, 0o600)
        except FileExistsError:
            return False
        try:
            os.write(fd, self._line + _COUNTER.format(0).encode())
        finally:
            os.close(fd)
        return True

    def _break(self, stale: bytes, unchanged: float) -> None:
        aside = self._path.with_name(f"{self._path.name}.broken.{secrets.token_hex(6)}")
        try:
            os.rename(self._path, aside)
        except FileNotFoundError:
            return  # another waiter broke it first, or its holder let go
        if _read(aside) != stale:
            # The holder renewed, or a new holder created the file, between our
            # last look and the rename: give it back. link() never overwrites.
            try:
                os.link(aside, self._path)
            except FileExistsError:
                logger.error("soft lock %s: lost a race while breaking it", self._path)
            aside.unlink()
            return
        aside.unlink()
        holder = stale.decode(errors="replace").split()
        logger.warning(
            "broke soft lock %s held by host %s pid %s: unchanged for %.1f s",
            self._path,
            holder[0] if holder else "?",
            holder[1] if len(holder) > 1 else "?",
            unchanged,
        )

    def _start_renewer(self) -> None:
        self._stop.clear()
        self._renewer = threading.Thread(
            target=self._renew, name=f"renew {self._path.name}", daemon=True
        )
        self._renewer.start()

    def _renew(self) -> None:
        interval = self._grace / 4
        count = 0
        while not self._stop.wait(interval):
            count += 1
            try:
                fd = os.open(self._path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                logger.error("soft lock %s is gone: it was broken", self._path)
                return
            try:
                if os.pread(fd, len(self._line), 0) != self._line:
                    logger.error("soft lock %s is no longer ours: it was broken", self._path)
                    return
                # Only the counter line: a racing writer never hits a token.
                os.pwrite(fd, _COUNTER.format(count).encode(), len(self._line))
            except FileNotFoundError:
                logger.error("soft lock %s is gone: it was broken", self._path)
                return
            finally:
                os.close(fd)
