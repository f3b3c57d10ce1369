"""The queue of settings enqueued for a warm start (see _enqueue.py): its annotation, and taking its head."""

from __future__ import annotations

from typing import Any

__all__ = ["QUEUE", "take"]

QUEUE = "enqueued"  # the annotation: hyperopt vals waiting to be claimed, oldest first


def take(st: Any) -> tuple[dict, list[tuple[str, Any]]] | None:
    """The queue's head for a new trial, and the annotation that removes it (None: nothing queued)."""
    queue = st.annotations.get(QUEUE)
    if not queue:
        return None
    return queue[0], [(QUEUE, list(queue[1:]))]
