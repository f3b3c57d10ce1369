"""``run_results``'s checkpoints inside a trial: which run a checkpoint is
for, the runs a trial already finished, saving without failing the run.

A trial may train several runs (``runs_per_setting`` of an ``ale`` session,
or an experiment function that calls ``run_results`` more than once), and a
trial has one newest checkpoint. So each checkpoint is a folder
(``session.checkpoint_folder``) holding

* ``run.pickle``: the run's key (agent, environment, hyperparameters, seed,
  budget), its counters, random states, TensorBoard folder, and the test
  returns of every run this trial finished before it;
* ``agent.pt`` (and ``replay.pt``): the agent's tensors, written by
  ``torch.save`` straight into the folder (see ``_agent_state``).

A resumed attempt reads the trial's newest checkpoint once: a finished run
gives its returns back without training, the run the checkpoint is for
continues from it, any other run starts afresh.

In a PBT session (``algo="pbt"``) a member's newest checkpoint may be a copy
of another member's (an exploit), trained with other hyperparameters and
another seed: a run takes it when it is of the same agent, environment and
budget (its ``family``), and keeps its own hyperparameters
(``RunCheckpoints.adopted``). An exploit raises ``session.Exploited`` out of
``save``: the trial's checkpoint changed, so the next call reads it again.

No torch here: ``run_results`` decides this before torch loads.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from slurm_search import session

__all__ = ["META", "RunCheckpoints", "family_key", "run_key"]

logger = logging.getLogger(__name__)

META = "run.pickle"
VERSION = 1

# The trial attempt this process evaluates, the newest checkpoint of its
# earlier attempts (read once), and the runs it finished.
_attempt: list[Any] = [None, None, {}]


def run_key(agent: str, env: str, hp: Mapping[str, Any] | None, seed: int, budget: tuple[Any, ...]) -> str:
    """A run's identity in a trial's checkpoints."""
    text = repr((agent, env, sorted((str(k), repr(v)) for k, v in (hp or {}).items()), seed, budget))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def family_key(agent: str, env: str, budget: tuple[Any, ...]) -> str:
    """What a PBT member's run shares with the other members' runs."""
    return run_key(agent, env, None, 0, budget)


_pbt_sessions: dict[str, bool] = {}


def _is_pbt(name: str) -> bool:
    found = _pbt_sessions.get(name)
    if found is None:
        found = _pbt_sessions[name] = session.info(name).algo == "pbt"
    return found


def _read(found: Any) -> dict[str, Any] | None:
    """The meta of a checkpoint written by run_results, else None (someone else's)."""
    if not isinstance(found, Path) or not (found / META).is_file():
        return None
    try:
        with open(found / META, "rb") as stream:
            meta = pickle.load(stream)
    except Exception as err:  # noqa: BLE001 - checked by CRC already; an unreadable one is not used
        logger.warning("the trial's checkpoint %s does not load (%s): the run starts afresh", found, err)
        return None
    if not isinstance(meta, dict) or meta.get("version") != VERSION:
        return None
    return {**meta, "folder": found}


class RunCheckpoints:
    """The checkpoints of one run inside the current trial.

    Attributes:
        key: the run's key.
        every: frames between checkpoints (0: only when the worker is told to leave).
        replay: whether replay buffers go in.
        resumed: the meta of the checkpoint this run continues from (its
            folder under ``"folder"``), or None.
        adopted: whether that checkpoint is another run's (a PBT exploit's
            copy): the run loads its state but keeps its own hyperparameters.
        saved: checkpoints this run saved.
    """

    def __init__(self, key: str, every: int, replay: bool, family: str | None = None) -> None:
        trial = session.current_trial()
        identity = (trial.session, trial.tid, trial.attempt) if trial is not None else None
        if _attempt[0] != identity:
            newest = _read(session.load_checkpoint())
            _attempt[:] = [identity, newest, dict(newest["finished"]) if newest else {}]
        self.key = key
        self.family = family
        self.every = every
        self.replay = replay
        newest = _attempt[1]
        ours = newest is not None and newest.get("key") == key and newest.get("frame") is not None
        self.adopted = (
            not ours and newest is not None and family is not None and newest.get("frame") is not None
            and newest.get("family") == family and trial is not None and _is_pbt(trial.session)
        )
        self.resumed = newest if ours or self.adopted else None
        # A PBT member: its report at a checkpoint's step goes in before it, so it is ranked there.
        self.pbt = family is not None and trial is not None and _is_pbt(trial.session)
        self.saved = 0

    @classmethod
    def open(cls, key: str, every: int, replay: bool, family: str | None = None) -> RunCheckpoints | None:
        """The run's checkpoints, or None outside a trial (a direct call: nothing to resume)."""
        if session.current_trial() is None:
            return None
        return cls(key, every, replay, family)

    @property
    def finished(self) -> dict[str, list[float]]:
        """Key -> test returns of the runs this trial finished."""
        return _attempt[2]

    def returns(self) -> list[float] | None:
        """This run's test returns, if the trial finished it in an earlier attempt."""
        return self.finished.get(self.key)

    def save(self, step: int | None, meta: Mapping[str, Any], write: Callable[[Path], None] | None) -> bool:
        """Save a checkpoint at frame ``step``: ``meta`` and what ``write(folder)`` writes.

        A checkpoint that cannot be saved (store full, too big) is one
        logged line, and the run goes on; `LeaseLost` goes through.

        Returns:
            Whether it was saved.
        """
        payload = {**meta, "version": VERSION, "key": self.key, "family": self.family, "finished": dict(self.finished)}
        try:
            with session.checkpoint_folder(step) as folder:
                if write is not None:
                    write(folder)
                with open(folder / META, "wb") as stream:
                    pickle.dump(payload, stream, protocol=5)
        except session.Exploited:
            _attempt[0] = None  # the trial's newest checkpoint is now a donor's copy: read it at the next call
            raise
        except session.CheckpointError as err:
            logger.warning("run %s: no checkpoint at frame %s: %s", self.key, step, err)
            return False
        self.saved += 1
        return True

    def finish(self, returns: list[float]) -> None:
        """Record the run's returns; with periodic checkpoints on, in a checkpoint too
        (a later run of the trial that is cut does not redo this one)."""
        self.finished[self.key] = list(returns)
        if self.every:
            self.save(None, {"frame": None}, None)
