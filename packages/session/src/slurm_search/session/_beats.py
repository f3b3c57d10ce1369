"""Lease renewals off the session's lock: each holder beats a mark of its own.

A renewal used to be a locked, fsynced append to the session's log; with a
thousand workers renewing every 20 s that is 50 locked writes a second
before any claim. Now the holder of a trial renews by changing a mark in the
session's `beats/` folder (`slurm_search.state.mark`), without the session's
lock: the mark of attempt `a` of trial `t` is the file `U.t.a.n` (`U`: the
first 8 characters of the session's uid, so a recreated session's marks do
not count), and each beat renames `n` to `n + 1` (the first creates `n = 1`).

Takers judge a lease as before, on their own monotonic clock (`LeaseClock.left`, _view_leases):
a running trial is renewed when the log shows a new claim or renewal of it
*or* its mark changed; it is taken over only when the taker has seen neither
for `lease_seconds`. A view lists the folder when some lease it holds looks a
third gone (at most six times a lease), and always, afresh, under the session's
lock just before a take-over (`seize`).

A take-over is a compare-and-swap on the mark, made under the session's lock
before the taker appends its claim: it renames the holder's mark `n` (the one
it last saw) to `U.t.a.x` (or creates `U.t.a.1` if the holder never beat).
Exactly one of the two succeeds:

  * the holder's beat came first: the taker's rename finds no `n` (or its
    create finds `1`): the holder is alive, the taker notes the beat and
    takes nothing;
  * the taker came first: the holder's next beat fails, and `renew_lease`
    raises `LeaseLost`.

A holder whose beat succeeded also reads the log afterwards (no lock), so a
trial deleted, finished, or taken over and swept (the taker removes the seized
mark only after its claim is in the log) raises `LeaseLost` too. A holder that
reports removes its mark. The one case left inexact: a taker seizes the mark
and then fails to append its claim (killed, disk full); the holder's next
renewal raises `LeaseLost` although the trial is still its own, and its
report (under the lock) is still accepted.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slurm_search import state as store

logger = logging.getLogger(__name__)

PART = "beats"
TAKEN = -1  # the counter of a seized mark (`U.t.a.x`)

# (session, tid, attempt) -> the counter of the mark this process last wrote.
_mine: dict[tuple[str, int, int], int] = {}
# session -> marks this process seized, removed once its claims are in the log.
_seized: dict[str, list[str]] = {}
_mutex = threading.Lock()


def _uid(v: Any) -> str:
    return v.state.spec.uid[:8] or "0"


def mark_name(uid: str, tid: int, attempt: int, n: int) -> str:
    """The file name of mark `n` of attempt `attempt` of trial `tid`."""
    return f"{uid}.{tid}.{attempt}.{'x' if n == TAKEN else n}"


def parse(names: list[str], uid: str) -> dict[tuple[int, int], int]:
    """(tid, attempt) -> its highest counter (TAKEN for a seized mark), from a listing."""
    out: dict[tuple[int, int], int] = {}
    prefix = uid + "."
    for entry in names:
        if not entry.startswith(prefix):
            continue
        parts = entry.split(".")
        if len(parts) != 4:
            continue
        try:
            key = (int(parts[1]), int(parts[2]))
            n = TAKEN if parts[3] == "x" else int(parts[3])
        except ValueError:
            continue
        old = out.get(key)
        if old is None or n == TAKEN or (old != TAKEN and n > old):
            out[key] = n
    return out


def heard_in(name: str, uid: str) -> dict[tuple[int, int], int]:
    """The marks of session `name` (of uid `uid`), as the file server has them now."""
    try:
        names = store.marks(name, PART)
    except OSError as err:  # an unreadable folder hides no renewal we could use
        logger.debug("cannot list the beats of %s: %s", name, err)
        return {}
    return parse(names, uid[:8] or "0")


def beat(v: Any, tid: int, attempt: int) -> bool:
    """Renew this process's lease on attempt `attempt` of trial `tid`.

    Returns:
        False if a taker seized the mark first (the lease is lost).
    """
    key = (v.name, tid, attempt)
    with _mutex:
        n = _mine.get(key, 0)
    uid = _uid(v)
    old = None if n == 0 else mark_name(uid, tid, attempt, n)
    if not store.mark(v.name, PART, mark_name(uid, tid, attempt, n + 1), old):
        with _mutex:
            _mine.pop(key, None)
        return False
    with _mutex:
        _mine[key] = n + 1
    v.leases.note_heard(v.peek(), tid, attempt, n + 1)
    return True


def retire(v: Any, tid: int) -> None:
    """After a report on trial `tid` of view `v`'s session (recorded or refused): remove this process's mark of it."""
    name = v.name
    with _mutex:
        keys = [k for k in _mine if k[0] == name and k[1] == tid]
        found = [(k, _mine.pop(k)) for k in keys]
    for (_, _, attempt), n in found:
        try:
            uid = _uid(v)
            store.unmark(name, PART, mark_name(uid, tid, attempt, n))
        except Exception as err:  # noqa: BLE001 - a mark left behind costs a listing entry
            logger.debug("cannot remove the beat of trial %s of %s: %s", tid, name, err)


def seize(v: Any, tid: int) -> bool:
    """Under the session's lock, before taking trial `tid` over: seize its mark.

    Lists the marks afresh first: a beat this view had not seen renews the
    lease (noted now) and nothing is seized.

    Returns:
        True if the take-over may go on; False if the holder is alive.
    """
    st = v.state
    attempt = st.trials[tid].attempt
    before = v.leases.heard_of(tid, attempt)
    v.leases.listen(st, time.monotonic())
    now_heard = v.leases.heard_of(tid, attempt)
    if now_heard != before:
        return False
    if now_heard == TAKEN:
        return True
    uid = _uid(v)
    n = now_heard or 0
    if n == 0:
        new, old = mark_name(uid, tid, attempt, 1), None
    else:
        new, old = mark_name(uid, tid, attempt, TAKEN), mark_name(uid, tid, attempt, n)
    if not store.mark(v.name, PART, new, old):
        # The holder beat between our listing and our change: it is alive.
        v.leases.note_heard(st, tid, attempt, None, force=True)
        return False
    with _mutex:
        _seized.setdefault(v.name, []).append(new)
    return True


def sweep(name: str) -> None:
    """After this process's claims are in the log: remove the marks it seized."""
    with _mutex:
        found = _seized.pop(name, None)
    for entry in found or ():
        try:
            store.unmark(name, PART, entry)
        except Exception as err:  # noqa: BLE001 - a mark left behind costs a listing entry
            logger.debug("cannot remove the seized beat %s of %s: %s", entry, name, err)
