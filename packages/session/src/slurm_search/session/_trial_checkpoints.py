"""Trial checkpoints: what lets a trial outlive its worker, its job and its time limit.

Inside an objective, `save_checkpoint(obj, step)` stores a picklable object
for the trial being evaluated, and `checkpoint_folder(step)` a folder of files
written in place (torch state dicts, replay buffers: written to disk once,
never held in memory twice). `load_checkpoint()` gives the trial's newest
checkpoint from any earlier attempt (the object, or the folder's path), or
None: a trial that was taken over, suspended, requeued or restarted is called
again with the same parameters and continues from there.

Where and how (the contract):

* Files live beside the session, never in its log:
  `<root>/<type>/<name>/checkpoints/<uid8>.<tid>/<seq>.ckpt` (or `.dir/`);
  the log gets one small `Checkpoint(tid, worker, attempt, seq, step, size)`
  record per checkpoint, so every host knows from the log alone which trials
  can be resumed, and from which step (decisions are functions of the log).
* Written atomically (staged, fsynced, renamed) and checksummed (CRC-32 of
  every byte: `slurm_search.state` blobs). A damaged newest checkpoint falls
  back to the one before it, with a one-line warning; a damaged one is never
  loaded.
* Fenced by the holder's lease: the rename and the record happen under the
  session's lock after checking that this attempt still holds the trial; an
  attempt that lost it gets `LeaseLost` and nothing is published.
* The newest `keep` (default 2) of a trial are kept; all are removed when
  the trial ends ok or pruned, unless the session keeps them
  (`keep_finished`). A failed trial keeps its checkpoints: `restart` then
  resumes it.
* Before a checkpoint is published the trial's buffered reports are
  appended: its step (given, or the last report's) covers them, and a resumed
  attempt's reports continue from that step (`_pruners.carry_reports`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import numbers
import os
import pickle
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from slurm_search import state as store
from slurm_search.locking import lock

from ._ckpt_paths import PART, discard_checkpoints, trial_folder_name
from ._claims import _check_owner, commit
from ._current import CurrentTrial, current_trial
from ._errors import CheckpointError, InvalidSetting, LeaseLost, NotInTrial
from ._events import Checkpoint
from ._reports import current_reports
from ._view import View
from ._view import view as _shared_view

__all__ = [
    "CHECKPOINT_DEFAULTS",
    "CheckpointStats",
    "check_checkpoint_options",
    "checkpoint_folder",
    "checkpoint_stats",
    "discard_checkpoints",
    "load_checkpoint",
    "save_checkpoint",
]

logger = logging.getLogger(__name__)

CHECKPOINT_DEFAULTS: dict[str, Any] = {"keep": 2, "keep_finished": False, "max_bytes": None}
_ENTRY = re.compile(r"^(\d{8})\.(ckpt|dir)$")
_PICKLE_PROTOCOL = 5
_FULL = (errno.ENOSPC, errno.EDQUOT)


def check_checkpoint_options(options: Any) -> dict[str, Any]:
    """The checkpoint options with defaults filled in.

    Raises:
        InvalidSetting: an unknown option or a value out of range.
    """
    if options is None:
        return dict(CHECKPOINT_DEFAULTS)
    if not isinstance(options, dict):
        raise InvalidSetting("checkpoints", options, "a dict of keep, keep_finished, max_bytes")
    merged = dict(CHECKPOINT_DEFAULTS)
    for key, value in options.items():
        if key not in merged:
            raise InvalidSetting(f"checkpoints:{key}", value, "one of keep, keep_finished, max_bytes")
        if key == "keep_finished":
            if not isinstance(value, bool):
                raise InvalidSetting("checkpoints:keep_finished", value, "true or false")
        elif key == "max_bytes" and value is None:
            pass
        elif isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InvalidSetting(f"checkpoints:{key}", value, "a whole number >= 1")
        merged[key] = value
    return merged


_views: dict[tuple[int, str], View] = {}


def _view(trial: CurrentTrial) -> View:
    """The worker's view of the session, or a fresh one in a forked child (an
    objective with a trial_timeout), whose copy of the parent's may be mid-update."""
    pid = os.getpid()
    if pid == trial.pid:
        return _shared_view(trial.session)
    v = _views.get((pid, trial.session))
    if v is None:
        v = _views[(pid, trial.session)] = View(trial.session)
    return v


def _options(spec: Any) -> dict[str, Any]:
    return spec.checkpoints if getattr(spec, "checkpoints", None) else CHECKPOINT_DEFAULTS


def _trial() -> CurrentTrial:
    trial = current_trial()
    if trial is None:
        raise NotInTrial("save_checkpoint()")
    return trial


def _step(step: Any) -> int | None:
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise CheckpointError("?", -1, f"step {step!r} is not a whole number >= 0")
    if isinstance(step, numbers.Integral):
        number = int(step)
    else:
        f = float(step)
        if not (math.isfinite(f) and f.is_integer()):
            raise CheckpointError("?", -1, f"step {step!r} is not a whole number >= 0")
        number = int(f)
    if number < 0:
        raise CheckpointError("?", -1, f"step {step!r} is not a whole number >= 0")
    return number


def _trial_dir(name: str, uid: str, tid: int) -> Path:
    return store.blob_dir(store.subdir(name, PART), trial_folder_name(uid, tid))


def _published(folder: Path) -> list[tuple[int, Path]]:
    """(seq, path) of the published checkpoints in a trial's folder, newest first."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = []
    for entry in names:
        m = _ENTRY.match(entry)
        if m:
            found.append((int(m.group(1)), folder / entry))
    return sorted(found, reverse=True)


def _stored(name: str, trial: CurrentTrial, size: int) -> tuple[Any, Path]:
    """The session's spec and the trial's folder, after the size check."""
    v = _view(trial)
    with v.mutex:
        spec = v.state.spec
    limit = _options(spec)["max_bytes"]
    if limit is not None and size > limit:
        raise CheckpointError(
            name, trial.tid,
            f"{size} bytes is more than the session's checkpoints:max_bytes ({limit}): "
            "save less, or create the session with a larger max_bytes",
        )
    return spec, _trial_dir(name, spec.uid, trial.tid)


def save_checkpoint(obj: Any, step: int | None = None) -> int:
    """Store `obj` as the current trial's newest checkpoint.

    Args:
        obj: any picklable object (the agent's state, counters, random states).
        step: the step it stands for (frames, epochs); None: the trial's last
            report's step. A resumed trial's reports continue from it.

    Returns:
        The checkpoint's sequence number (1, 2, ... per trial).

    Raises:
        NotInTrial: called outside an objective that a worker evaluates.
        CheckpointError: it does not pickle, is larger than the session's
            `max_bytes`, or the store is full: nothing was saved, the trial
            may go on (the previous checkpoint stays the newest).
        LeaseLost: this attempt does not hold the trial any more.
        Exploited: a PBT member at a multiple of `interval` takes over a
            better member's checkpoint (after this one was saved): let it
            leave the objective, which is called again with new parameters.
    """
    trial = _trial()
    name = trial.session
    number = _checked_step(trial, step)
    try:
        data = pickle.dumps(obj, protocol=_PICKLE_PROTOCOL)
    except Exception as err:  # noqa: BLE001 - user objects raise many types
        raise CheckpointError(name, trial.tid, f"it does not pickle ({type(err).__name__}: {err})") from None
    _, folder = _stored(name, trial, len(data))
    try:
        staged = store.stage_blob(folder, data)
    except OSError as err:
        raise _full(name, trial, err) from err
    return _publish(trial, staged, number, len(data), is_folder=False)


@contextlib.contextmanager
def checkpoint_folder(step: int | None = None) -> Iterator[Path]:
    """A folder to write the current trial's next checkpoint into, published when the block ends.

    Write files there (`torch.save(model.state_dict(), folder / "model.pt")`):
    they are written once, checksummed (read back once, in chunks) and
    renamed into place; `load_checkpoint()` later returns the published
    folder's path. If the block raises, nothing is published.

    Raises:
        CheckpointError: as `save_checkpoint` raises it.
        NotInTrial: as `save_checkpoint` raises it.
    """
    trial = _trial()
    name = trial.session
    number = _checked_step(trial, step)
    _, folder = _stored(name, trial, 0)
    staged = store.stage_folder(folder)
    try:
        yield staged
        try:
            size = store.seal_folder(staged)
        except OSError as err:
            raise _full(name, trial, err) from err
        _stored(name, trial, size)
        _publish(trial, staged, number, size, is_folder=True)
    finally:
        store.remove_blob(staged)  # gone already once published


def _checked_step(trial: CurrentTrial, step: Any) -> int | None:
    try:
        return _step(step)
    except CheckpointError as err:
        raise CheckpointError(trial.session, trial.tid, err.reason) from None


def _full(name: str, trial: CurrentTrial, err: OSError) -> Exception:
    if err.errno in _FULL:
        return CheckpointError(name, trial.tid, f"the store is full ({err.strerror}): free space; the trial goes on")
    return err


def _publish(trial: CurrentTrial, staged: Path, step: int | None, size: int, is_folder: bool) -> int:
    """Under the session's lock: check the lease, rename into place, record it. The new seq."""
    name = trial.session
    reports = current_reports()
    if reports is not None and reports.name == name and reports.tid == trial.tid:
        # The checkpoint covers the reports made so far: they go in first.
        reports.flush()
        if step is None and reports.last is not None:
            step = max(reports.values)
    v = _view(trial)
    folder = staged.parent
    try:
        with lock(name), v.mutex:
            st = v.refresh()
            attempt = _check_owner(v, trial.worker, trial.tid, trial.attempt)
            current = st.trials[trial.tid].checkpoint
            seq = current[1] + 1 if current is not None else 1
            final = folder / f"{seq:08d}.{'dir' if is_folder else 'ckpt'}"
            # Left by a writer that died between its rename and its record:
            # the log, which does not have it, is the truth.
            store.remove_blob(final)
            store.publish(staged, final)
            event = Checkpoint(trial.tid, trial.worker, attempt, seq, step, size, is_folder, time.time())
            v.apply_all([event])
            try:
                commit(v, [event])
            except BaseException:
                store.remove_blob(final)
                raise
            exploited = None
            if st.spec.algo == "pbt":
                from ._pbt_exploit import exploit

                exploited = exploit(v, trial.tid, trial.worker, attempt, step, folder)
                if exploited is not None:
                    seq += 1  # the copy of the donor's checkpoint is the member's next
    except LeaseLost:
        store.remove_blob(staged)
        raise
    except OSError as err:
        store.remove_blob(staged)
        raise _full(name, trial, err) from err
    keep = _options(st.spec)["keep"]
    for old_seq, path in _published(folder)[keep:]:
        if old_seq < seq:
            store.remove_blob(path)
    logger.debug("trial %s of %s: checkpoint %d (step %s, %d bytes)", trial.tid, name, seq, step, size)
    if exploited is not None:
        raise exploited
    return seq


def load_checkpoint() -> Any:
    """The current trial's newest checkpoint, from any earlier attempt, or None.

    A checkpoint saved with `save_checkpoint` comes back as the object; one
    written with `checkpoint_folder` as the `Path` of its (verified, read-only
    by convention) folder. A damaged or missing newest checkpoint falls back
    to the one before it, with a one-line warning.

    Raises:
        NotInTrial: called outside an objective that a worker evaluates.
    """
    trial = current_trial()
    if trial is None:
        raise NotInTrial("load_checkpoint()")
    name = trial.session
    v = _view(trial)
    with v.mutex:
        st = v.refresh()
        state = st.trials.get(trial.tid)
        uid = st.spec.uid
    if state is None or state.checkpoint is None:
        return None
    newest = state.checkpoint[1]
    folder = store.subdir(name, PART) / trial_folder_name(uid, trial.tid)
    for seq, path in _published(folder):
        if seq > newest:
            continue  # published by an attempt whose record never made it to the log
        try:
            if path.suffix == ".dir":
                store.verify_folder(path, name)
                value: Any = path
            else:
                value = pickle.loads(store.read_blob(path, name))
        except Exception as err:  # noqa: BLE001 - damaged, unsafe, or does not unpickle: never used
            logger.warning(
                "trial %s of %s: checkpoint %d is not usable (%s); trying the one before it", trial.tid, name, seq, err
            )
            continue
        if seq != newest:
            logger.warning(
                "trial %s of %s resumes from checkpoint %d: the newest, %d, is damaged or missing",
                trial.tid, name, seq, newest,
            )
        return value
    logger.warning(
        "trial %s of %s: no usable checkpoint (the newest was %d): it starts afresh", trial.tid, name, newest
    )
    return None


class CheckpointStats(NamedTuple):
    """The checkpoints a session holds on disk: trials with any, files, bytes."""

    trials: int
    checkpoints: int
    bytes: int


def checkpoint_stats(name: str) -> CheckpointStats:
    """Count a session's checkpoints and their size (a listing of its folder; nothing is read)."""
    parent = store.paths(name).dir / PART
    trials = count = total = 0
    try:
        folders = list(parent.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return CheckpointStats(0, 0, 0)
    for folder in folders:
        found = _published(folder)
        if found:
            trials += 1
        for _, path in found:
            count += 1
            if path.is_dir():
                total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            else:
                total += path.stat().st_size
    return CheckpointStats(trials, count, total)
