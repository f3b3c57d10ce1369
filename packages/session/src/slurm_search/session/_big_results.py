"""Big results: kept apart from the session's log, loaded only when asked for.

A result dict whose pickle is `APART_BYTES` (1 MiB) or more is written as a
blob of the store (`<session>/blobs/result.<random>`: a file of its own,
written atomically, with its size and SHA-256 in its reference) before its
report is appended. The `Result` record then holds a small dict in place of
the result: ``{"loss": ..., "status": "ok", "stored_apart": {"key": ...,
"size": ..., "sha256": ...}}`` (builtins only, so any version reads the
record). The log, checkpoints, listings, `progress`, `ssearch show` and
`trial_rows` carry only that; `results`, `best` and `worst` load the whole
result (`best`/`worst` only the one they return). A report refused
(`LeaseLost`) removes its blob.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

from slurm_search import state as store

from ._errors import CorruptSession

logger = logging.getLogger(__name__)

APART_BYTES = 1 << 20
REF_KEY = "stored_apart"
_PREFIX = "result"


def store_apart(name: str, result: dict) -> tuple[dict, store.BlobRef | None]:
    """(what the Result record holds, the blob written or None) for a result dict."""
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - checked before (unstorable_reason); the log append reports it
        return result, None
    if len(data) < APART_BYTES:
        return result, None
    try:
        ref = store.save_blob(name, data, prefix=_PREFIX)
    except OSError as err:
        # A full store: keep the result in the record, whose append meets
        # the same error and waits for space like any report.
        logger.warning("%s: a %d-byte result stays in the log: %s", name, len(data), err)
        return result, None
    small = {"loss": result["loss"], "status": result.get("status", "ok"), REF_KEY: dict(ref._asdict())}
    return small, ref


def is_apart(result: Any) -> bool:
    """Whether a recorded result dict only refers to a result kept apart."""
    return isinstance(result, dict) and isinstance(result.get(REF_KEY), dict)


def load_result(name: str, result: dict) -> dict:
    """The whole result of a recorded result dict (itself, unless kept apart).

    Raises:
        CorruptState: the result's file is missing or not what the record names.
        CorruptSession: its bytes do not unpickle here.
    """
    if not is_apart(result):
        return dict(result)
    ref = store.BlobRef(**result[REF_KEY])
    data = store.load_blob(name, ref)
    try:
        return dict(pickle.loads(data))
    except Exception as err:  # noqa: BLE001 - unpickling user objects raises many types
        raise CorruptSession(name, f"the result in {ref.key} does not load ({type(err).__name__}: {err})") from err


def discard(name: str, ref: store.BlobRef | None) -> None:
    """Remove the blob of a report that was refused."""
    if ref is not None:
        try:
            store.discard_blob(name, ref)
        except OSError as err:  # litter, not a lost result
            logger.debug("%s: could not remove %s: %s", name, ref.key, err)
