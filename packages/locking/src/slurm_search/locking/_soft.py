"""The ``soft`` backend, for filesystems whose flock does not exclude across
hosts (NFS with ``local_lock=all``, Lustre without ``-o flock``).

The lock is a file created with ``O_CREAT | O_EXCL``, which those filesystems
do make atomic across hosts. It holds the holder's host, pid and a random
token. While the lock is held, a thread of the holder touches the file every
``grace / 4`` seconds; a waiter breaks the lock only when the file's
modification time (set by the file server) is older than ``grace``, so a holder
killed with SIGKILL delays the others by at most ``grace`` seconds.

Breaking renames the stale file aside and checks that what it renamed is the
stale holder's (same token). If a new holder slipped in between the check and
the rename, its file is put back with ``os.link`` (which, unlike rename, never
overwrites). The holder's renewer also checks its token, and logs an error if
its lock was broken, which can only happen when it stalled longer than the
grace period (choose the grace period well above the longest pause a process
may suffer: swapping, a stopped job, a frozen NFS server).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path

__all__ = ["SoftBackend"]

logger = logging.getLogger("slurm_search.locking")

_MIN_POLL = 0.001
_MAX_POLL = 0.05


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


class SoftBackend:
    """One acquisition of one soft lock file."""

    def __init__(self, path: Path, grace: float) -> None:
        self._path = path.with_suffix(".softlock")
        self._grace = grace
        self._token = f"{socket.gethostname()} {os.getpid()} {secrets.token_hex(8)}\n"
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self, deadline: float | None) -> bool:
        poll = _MIN_POLL
        while True:
            if self._try_create():
                self._start_renewer()
                return True
            self._break_if_stale()
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll if deadline is None else min(poll, max(0.0, deadline - time.monotonic())))
            poll = min(poll * 2, _MAX_POLL)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if _read(self._path) == self._token:
            self._path.unlink()
        else:
            logger.error(
                "soft lock %s was broken while held by this process (it was not renewed "
                "for %.0f s): the critical section may not have been exclusive; raise "
                "SLURM_SEARCH_LOCK_GRACE",
                self._path,
                self._grace,
            )

    def _try_create(self) -> bool:
        try:
            fd = os.open(self._path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        try:
            os.write(fd, self._token.encode())
        finally:
            os.close(fd)
        return True

    def _break_if_stale(self) -> None:
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            return
        age = time.time() - mtime
        if age <= self._grace:
            return
        stale_token = _read(self._path)
        aside = self._path.with_name(f"{self._path.name}.broken.{secrets.token_hex(6)}")
        try:
            os.rename(self._path, aside)
        except FileNotFoundError:
            return  # another waiter broke it first
        if _read(aside) != stale_token:
            # A new holder created the file between our stat and our rename:
            # give it back. link() fails if yet another holder exists by now.
            try:
                os.link(aside, self._path)
            except FileExistsError:
                logger.error("soft lock %s: lost a race while breaking it", self._path)
            aside.unlink()
            return
        aside.unlink()
        holder = (stale_token or "?").split()
        logger.warning(
            "broke soft lock %s held by host %s pid %s: not renewed for %.1f s",
            self._path,
            holder[0] if holder else "?",
            holder[1] if len(holder) > 1 else "?",
            age,
        )

    def _start_renewer(self) -> None:
        self._stop.clear()
        self._renewer = threading.Thread(
            target=self._renew, name=f"renew {self._path.name}", daemon=True
        )
        self._renewer.start()

    def _renew(self) -> None:
        interval = self._grace / 4
        while not self._stop.wait(interval):
            if _read(self._path) != self._token:
                logger.error("soft lock %s is no longer ours: it was broken", self._path)
                return
            try:
                os.utime(self._path)
            except FileNotFoundError:
                return
