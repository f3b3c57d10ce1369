"""slurm_search.state: a transactional store of named pickled objects.

Objects named `type:name` live in `$SLURM_SEARCH_HOME/<type>/<name>/`
(default `~/hyperparameters`). Writes are atomic and durable (temporary file,
fsync, rename, fsync of the folder), each name has an append-only log for
state that grows, and nothing is unpickled from a file someone else could
have written. See the package README for the contract.
"""

from __future__ import annotations

from ._blobs import (
    BlobRef,
    blob_dir,
    discard_blob,
    is_staged,
    load_blob,
    publish,
    read_blob,
    remove_blob,
    save_blob,
    seal_folder,
    stage_blob,
    stage_folder,
    verify_folder,
)
from ._checkpoints import checkpoint_info, load_checkpoint, log_end, save_checkpoint
from ._command import main as command
from ._errors import (
    AlreadyExists,
    CorruptState,
    InvalidName,
    LockNotCoherent,
    LogCompacted,
    NotFound,
    StateError,
    StoreUnavailable,
    Unpicklable,
    UnsafeState,
    store_os_error,
)
from ._files import SHARED_GROUP_ENV
from ._log import START, Position, UnreadableRecord, append, compact, records
from ._marks import mark, marks, unmark
from ._names import paths, root, split
from ._objects import (
    Box,
    create,
    delete,
    exists,
    names,
    read,
    restore_previous,
    subdir,
    transaction,
    update,
)
from ._salvage import Report as SalvageReport
from ._salvage import SalvageNeedsCode, salvage
from ._stand_ins import NotLoaded
from ._stand_ins import loads as loads_stored

__all__ = [
    "command",
    "SHARED_GROUP_ENV",
    "START",
    "AlreadyExists",
    "Box",
    "CorruptState",
    "InvalidName",
    "LockNotCoherent",
    "LogCompacted",
    "NotFound",
    "NotLoaded",
    "Position",
    "StateError",
    "StoreUnavailable",
    "Unpicklable",
    "UnreadableRecord",
    "UnsafeState",
    "BlobRef",
    "append",
    "blob_dir",
    "checkpoint_info",
    "compact",
    "create",
    "delete",
    "discard_blob",
    "exists",
    "load_blob",
    "load_checkpoint",
    "loads_stored",
    "log_end",
    "mark",
    "marks",
    "names",
    "paths",
    "read",
    "records",
    "restore_previous",
    "save_blob",
    "salvage",
    "SalvageNeedsCode",
    "SalvageReport",
    "save_checkpoint",
    "root",
    "split",
    "store_os_error",
    "subdir",
    "transaction",
    "unmark",
    "update",
    "is_staged",
    "publish",
    "read_blob",
    "remove_blob",
    "seal_folder",
    "stage_blob",
    "stage_folder",
    "verify_folder",
]
