"""Where a session keeps its trials' checkpoints (shared by the writer and the claim path)."""

from __future__ import annotations

from pathlib import Path

from slurm_search import state as store

PART = "checkpoints"


def trial_folder_name(uid: str, tid: int) -> str:
    """`<uid8>.<tid>`: a session created again under the same name never sees the old files."""
    return f"{uid[:8] or 'session'}.{tid}"


def discard_checkpoints(name: str, uid: str, tid: int) -> None:
    """Remove a trial's checkpoints (the caller checks that the session does not keep them)."""
    try:
        parent: Path = store.paths(name).dir / PART
    except store.InvalidName:
        return
    store.remove_blob(parent / trial_folder_name(uid, tid))
